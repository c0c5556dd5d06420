/* Audit log reading: rotated-file naming, tail lookup, consistent snapshots and line streaming,
 * and audit_read_from() for qclaw.AuditLog. Trust level: reads a file other processes write;
 * every line is bounded by AUDIT_LINE_MAX and handed to the strict parser. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/macro.h"
#include "policy/audit-internal.h"

#define TAIL_FIRST_WINDOW 4096u
#define TAIL_MAX_WINDOW (2u * (AUDIT_LINE_MAX + 1u))
#define STREAM_CHUNK (64u * 1024u)

int audit_rotated_name(const char *path, unsigned k, char *buf, size_t len)
{
        int n = snprintf(buf, len, "%s.%u", path, k);
        if (n < 0 || (size_t)n >= len)
                return -ENAMETOOLONG;
        return 0;
}

unsigned audit_rotated_count(const char *path)
{
        char name[4096];
        unsigned k = 0;
        while (k < AUDIT_ROTATED_MAX) {
                struct stat st;
                if (audit_rotated_name(path, k + 1, name, sizeof(name)) < 0 || stat(name, &st) < 0)
                        break;
                k++;
        }
        return k;
}

static int pread_all(int fd, char *buf, size_t len, uint64_t off)
{
        size_t done = 0;
        while (done < len) {
                ssize_t n = pread(fd, buf + done, len - done, (off_t)(off + done));
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return NEG_ERRNO();
                }
                if (n == 0)
                        return -EIO; /* file shrank under us */
                done += (size_t)n;
        }
        return 0;
}

int audit_tail_last(int fd, uint64_t size, uint64_t *ret_seq, char ret_hash[AUDIT_HASH_HEX + 1],
                    bool *ret_torn)
{
        if (size == 0) {
                if (ret_torn)
                        *ret_torn = false;
                return 0;
        }
        _cleanup_free_ char *buf = NULL;
        size_t window = (size_t)MIN(size, (uint64_t)TAIL_FIRST_WINDOW);
        for (;;) {
                char *nbuf = realloc(buf, window);
                if (!nbuf)
                        return -ENOMEM;
                buf = nbuf;
                uint64_t start = size - window;
                int r = pread_all(fd, buf, window, start);
                if (r < 0)
                        return r;
                if (ret_torn)
                        *ret_torn = buf[window - 1] != '\n';

                /* Walk complete lines backwards. `end` is the index of a line's '\n'. */
                char *nl = memrchr(buf, '\n', window);
                while (nl) {
                        size_t end = (size_t)(nl - buf);
                        char *prev_nl = end > 0 ? memrchr(buf, '\n', end) : NULL;
                        size_t begin = prev_nl ? (size_t)(prev_nl - buf) + 1 : 0;
                        if (!prev_nl && start > 0)
                                break; /* the line starts before the window */
                        struct audit_record rec;
                        if (audit_record_parse(buf + begin, end - begin, &rec) == 0) {
                                *ret_seq = rec.seq;
                                memcpy(ret_hash, rec.hash, AUDIT_HASH_HEX + 1);
                                audit_record_done(&rec);
                                return 1;
                        }
                        nl = prev_nl;
                }
                if (start == 0)
                        return 0;
                if (window >= TAIL_MAX_WINDOW)
                        return -EBADMSG;
                window = (size_t)MIN(size, (uint64_t)TAIL_MAX_WINDOW);
        }
}

void audit_snapshot_close(struct audit_snapshot *s)
{
        for (unsigned i = 0; i < s->n; i++)
                safe_close(s->fds[i]);
        free(s->fds);
        free(s->sizes);
        *s = (struct audit_snapshot){};
}

/* Open PATH and hold LOCK_SH on the inode PATH still names after locking. */
static int open_current_locked(const char *path, int *ret_fd)
{
        for (unsigned attempt = 0; attempt < 100; attempt++) {
                _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
                if (fd < 0 && errno == ENOENT && attempt < 99) {
                        /* a writer may be between "FILE -> FILE.1" and creating FILE */
                        char name[4096];
                        struct stat rst;
                        if (audit_rotated_name(path, 1, name, sizeof(name)) == 0 &&
                            stat(name, &rst) == 0) {
                                usleep(1000);
                                continue;
                        }
                }
                if (fd < 0)
                        return NEG_ERRNO();
                while (flock(fd, LOCK_SH) < 0)
                        if (errno != EINTR)
                                return NEG_ERRNO();
                struct stat a, b;
                if (fstat(fd, &a) < 0)
                        return NEG_ERRNO();
                if (!S_ISREG(a.st_mode))
                        return S_ISDIR(a.st_mode) ? -EISDIR : -EINVAL;
                if (stat(path, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino) {
                        *ret_fd = TAKE_FD(fd);
                        return 0;
                }
                /* rotated between open and flock: try again */
        }
        return -EAGAIN;
}

int audit_snapshot_open(const char *path, struct audit_snapshot *ret)
{
        _cleanup_close_ int cur = -1;
        int r = open_current_locked(path, &cur);
        if (r < 0)
                return r;

        struct stat st;
        if (fstat(cur, &st) < 0)
                return NEG_ERRNO();

        /* No rotation can happen while we hold LOCK_SH on the current file. */
        unsigned rotated = audit_rotated_count(path);
        struct audit_snapshot s = {};
        s.fds = calloc(rotated + 1, sizeof(int));
        s.sizes = calloc(rotated + 1, sizeof(uint64_t));
        if (!s.fds || !s.sizes) {
                free(s.fds);
                free(s.sizes);
                return -ENOMEM;
        }
        for (unsigned k = rotated; k >= 1; k--) {
                char name[4096];
                struct stat rst;
                r = audit_rotated_name(path, k, name, sizeof(name));
                int fd = r < 0 ? -1 : open(name, O_RDONLY | O_CLOEXEC | O_NOCTTY);
                if (fd < 0 || fstat(fd, &rst) < 0) {
                        r = r < 0 ? r : NEG_ERRNO();
                        safe_close(fd);
                        audit_snapshot_close(&s);
                        return r;
                }
                s.fds[s.n] = fd;
                s.sizes[s.n] = (uint64_t)rst.st_size;
                s.n++;
        }
        s.sizes[s.n] = (uint64_t)st.st_size;
        s.fds[s.n++] = TAKE_FD(cur); /* closing it later drops the lock; drop it now */
        flock(s.fds[s.n - 1], LOCK_UN);
        *ret = s;
        return 0;
}

int audit_stream_fd(int fd, uint64_t size, audit_raw_line_cb cb, void *userdata)
{
        _cleanup_free_ char *chunk = malloc(STREAM_CHUNK);
        _cleanup_free_ char *lb = malloc(AUDIT_LINE_MAX + 1);
        if (!chunk || !lb)
                return -ENOMEM;
        size_t lb_len = 0;    /* bytes held in lb (at most AUDIT_LINE_MAX + 1) */
        bool pending = false; /* a line is being assembled in lb */
        uint64_t off = 0;
        int r;

        while (off < size) {
                size_t want = (size_t)MIN((uint64_t)STREAM_CHUNK, size - off);
                r = pread_all(fd, chunk, want, off);
                if (r < 0)
                        return r;
                off += want;
                size_t pos = 0;
                while (pos < want) {
                        char *nl = memchr(chunk + pos, '\n', want - pos);
                        size_t seg = nl ? (size_t)(nl - (chunk + pos)) : want - pos;
                        if (nl && !pending) {
                                /* whole line inside this chunk: no copy */
                                size_t n = MIN(seg, (size_t)AUDIT_LINE_MAX + 1);
                                r = cb(chunk + pos, n, userdata);
                                if (r != 0)
                                        return r;
                        } else {
                                size_t room = AUDIT_LINE_MAX + 1 - lb_len;
                                size_t n = MIN(seg, room);
                                memcpy(lb + lb_len, chunk + pos, n);
                                lb_len += n;
                                pending = true;
                                if (nl) {
                                        r = cb(lb, lb_len, userdata);
                                        if (r != 0)
                                                return r;
                                        lb_len = 0;
                                        pending = false;
                                }
                        }
                        pos += seg + (nl ? 1 : 0);
                }
        }
        if (pending) /* a last line without '\n' */
                return cb(lb, lb_len, userdata);
        return 0;
}

int audit_line_peek_seq(const char *line, size_t len, uint64_t *ret)
{
        static const char pfx[] = "{\"seq\":";
        size_t p = sizeof(pfx) - 1;
        if (len <= p || memcmp(line, pfx, p) != 0)
                return -EBADMSG;
        uint64_t v = 0;
        size_t start = p;
        while (p < len && line[p] >= '0' && line[p] <= '9') {
                unsigned d = (unsigned)(line[p] - '0');
                if (v > (UINT64_MAX - d) / 10)
                        return -EBADMSG;
                v = v * 10 + d;
                p++;
        }
        if (p == start || p >= len || line[p] != ',')
                return -EBADMSG;
        *ret = v;
        return 0;
}

/* ---- audit_read_from ---- */

struct read_ctx {
        uint64_t from_seq;
        uint64_t last_seen; /* highest seq seen so far (records before the range included) */
        audit_line_cb cb;
        void *userdata;
};

static int read_line(const char *line, size_t len, void *userdata)
{
        struct read_ctx *c = userdata;
        uint64_t seq = 0;
        bool peeked = audit_line_peek_seq(line, len, &seq) == 0;

        if (peeked && seq < c->from_seq) {
                if (seq > c->last_seen)
                        c->last_seen = seq;
                return 0;
        }
        /* A line without a readable seq belongs to the range once the record before the range
         * has gone by, so a verifier downstream sees garbage where records should be. */
        if (!peeked && c->last_seen + 1 < c->from_seq)
                return 0;

        struct audit_record rec;
        seq = 0;
        if (audit_record_parse(line, len, &rec) == 0) {
                seq = rec.seq;
                audit_record_done(&rec);
                if (seq > c->last_seen)
                        c->last_seen = seq;
        }
        return c->cb(line, len, seq, c->userdata);
}

int audit_read_from(const char *path, uint64_t from_seq, audit_line_cb cb, void *userdata)
{
        struct audit_snapshot s;
        int r = audit_snapshot_open(path, &s);
        if (r < 0)
                return r;

        struct read_ctx c = {.from_seq = from_seq, .cb = cb, .userdata = userdata};
        for (unsigned i = 0; i < s.n; i++) {
                /* Skip a whole rotated file whose last record is before the range. */
                if (from_seq > 1 && i + 1 < s.n) {
                        uint64_t last = 0;
                        char hash[AUDIT_HASH_HEX + 1];
                        bool torn = false;
                        int t = audit_tail_last(s.fds[i], s.sizes[i], &last, hash, &torn);
                        /* (last + 1 < from_seq: a garbage line after the file's last record
                         * would belong to the range and must still be seen) */
                        if (t == 1 && !torn && last + 1 < from_seq) {
                                if (last > c.last_seen)
                                        c.last_seen = last;
                                continue;
                        }
                }
                r = audit_stream_fd(s.fds[i], s.sizes[i], read_line, &c);
                if (r != 0)
                        break;
        }
        audit_snapshot_close(&s);
        return r;
}
