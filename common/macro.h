/* Small macros shared by every qclaw program: scoped cleanup, ownership transfer, sizes.
 * Trust level: none needed; pure helpers. */
#pragma once

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#define ELEMENTSOF(x) (sizeof(x) / sizeof((x)[0]))
#define _unused_ __attribute__((unused))
#define _noreturn_ __attribute__((noreturn))
#define _printf_(a, b) __attribute__((format(printf, a, b)))
/* For code that runs on a stack AddressSanitizer does not know (a clone() child on an mmap'd
 * stack): its calls to noreturn functions would otherwise report that stack as bogus. */
#define _no_sanitize_address_ __attribute__((no_sanitize_address))
#define _cleanup_(f) __attribute__((cleanup(f)))
#define _likely_(x) __builtin_expect(!!(x), 1)
#define _unlikely_(x) __builtin_expect(!!(x), 0)

#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))

/* Hand ownership on: returns the value and leaves the variable empty so cleanup skips it. */
#define TAKE_GENERIC(var, type, nullvalue)                                                         \
        ({                                                                                         \
                type *_pvar_ = &(var);                                                             \
                type _var_ = *_pvar_;                                                              \
                type _nullvalue_ = nullvalue;                                                      \
                *_pvar_ = _nullvalue_;                                                             \
                _var_;                                                                             \
        })
#define TAKE_PTR(ptr) TAKE_GENERIC(ptr, __typeof__(ptr), NULL)
#define TAKE_FD(fd) TAKE_GENERIC(fd, int, -1)

static inline void freep(void *p)
{
        free(*(void **)p);
}
#define _cleanup_free_ _cleanup_(freep)

static inline void closep(int *fd)
{
        if (*fd >= 0) {
                int saved = errno;
                close(*fd);
                errno = saved;
        }
}
#define _cleanup_close_ _cleanup_(closep)

/* Close and return -1, for "fd = safe_close(fd);" */
static inline int safe_close(int fd)
{
        if (fd >= 0) {
                int saved = errno;
                close(fd);
                errno = saved;
        }
        return -1;
}

/* Declare "void foop(struct foo **p)" calling foo_free(*p) for use with _cleanup_(foop). */
#define DEFINE_TRIVIAL_CLEANUP_FUNC(type, func)                                                    \
        static inline void func##p(type *p)                                                        \
        {                                                                                          \
                if (*p)                                                                            \
                        func(*p);                                                                  \
        }

/* -errno from a libc call that returns -1 and sets errno. */
#define NEG_ERRNO() (errno > 0 ? -errno : -EIO)
