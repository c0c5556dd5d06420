/* File-descriptor and I/O helpers. Trust level: bounded reads, usable on untrusted files. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/fd-util.h"
#include "common/macro.h"
#include "common/strbuf.h"

int fd_write_all(int fd, const void *buf, size_t len)
{
        const char *p = buf;
        while (len > 0) {
                ssize_t n = write(fd, p, len);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return NEG_ERRNO();
                }
                if (n == 0)
                        return -EIO;
                p += n;
                len -= (size_t)n;
        }
        return 0;
}

int fd_read_bounded(int fd, size_t max, char **ret, size_t *ret_len)
{
        struct strbuf b = STRBUF_INIT(max);
        char chunk[16384];
        for (;;) {
                ssize_t n = read(fd, chunk, sizeof(chunk));
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        int r = NEG_ERRNO();
                        strbuf_free(&b);
                        return r;
                }
                if (n == 0)
                        break;
                int r = strbuf_append(&b, chunk, (size_t)n);
                if (r < 0) {
                        strbuf_free(&b);
                        return r == -E2BIG ? -EFBIG : r;
                }
        }
        size_t len = b.len;
        int r = strbuf_steal(&b, ret);
        if (r < 0)
                return r;
        if (ret_len)
                *ret_len = len;
        return 0;
}

int read_file_bounded(const char *path, size_t max, char **ret, size_t *ret_len)
{
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return NEG_ERRNO();
        return fd_read_bounded(fd, max, ret, ret_len);
}

int fd_set_nonblock(int fd, bool on)
{
        int flags = fcntl(fd, F_GETFL);
        if (flags < 0)
                return NEG_ERRNO();
        int nflags = on ? (flags | O_NONBLOCK) : (flags & ~O_NONBLOCK);
        if (nflags != flags && fcntl(fd, F_SETFL, nflags) < 0)
                return NEG_ERRNO();
        return 0;
}

int fd_set_cloexec(int fd, bool on)
{
        int flags = fcntl(fd, F_GETFD);
        if (flags < 0)
                return NEG_ERRNO();
        int nflags = on ? (flags | FD_CLOEXEC) : (flags & ~FD_CLOEXEC);
        if (nflags != flags && fcntl(fd, F_SETFD, nflags) < 0)
                return NEG_ERRNO();
        return 0;
}

int parse_u64(const char *s, unsigned long long *ret)
{
        if (!s || *s < '0' || *s > '9')
                return -EINVAL;
        unsigned long long v = 0;
        for (const char *p = s; *p; p++) {
                if (*p < '0' || *p > '9')
                        return -EINVAL;
                unsigned d = (unsigned)(*p - '0');
                if (v > (ULLONG_MAX - d) / 10)
                        return -ERANGE;
                v = v * 10 + d;
        }
        *ret = v;
        return 0;
}
