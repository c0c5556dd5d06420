/* File-descriptor and I/O helpers. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* write() all of buf, retrying on EINTR/short writes. 0 or -errno. */
int fd_write_all(int fd, const void *buf, size_t len);
/* Read a whole file (at most max bytes; larger: -EFBIG) into a NUL-terminated buffer. */
int read_file_bounded(const char *path, size_t max, char **ret, size_t *ret_len);
int fd_read_bounded(int fd, size_t max, char **ret, size_t *ret_len);
int fd_set_nonblock(int fd, bool on);
int fd_set_cloexec(int fd, bool on);
/* Parse a decimal unsigned integer with no sign, no leading junk, no overflow. */
int parse_u64(const char *s, unsigned long long *ret);
