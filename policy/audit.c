/* Audit log writer: one write(2) per hash-chained record on an O_APPEND file under flock, the
 * chain continued across writers and size-based rotation. Trust level: runs in the proxy and
 * supervisors (root or the proxy user); callers supply the fields, never the chain.
 *
 * Recovery from a torn last line (a writer died mid-write(2)): the next writer writes '\n' to
 * end it (in the same write(2) as its record) and continues the chain from the last complete
 * record. The torn line stays in the file as evidence, and the verifier reports it as
 * AUDIT_BREAK_PARSE at the last good seq + 1: a crash is never silently absorbed. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "common/json-util.h"
#include "common/macro.h"
#include "common/time-util.h"
#include "policy/audit-fields.h"
#include "policy/audit-internal.h"
#include "policy/audit.h"
#include "policy/sha256.h"

static const char zero_hash[AUDIT_HASH_HEX + 1] =
    "0000000000000000000000000000000000000000000000000000000000000000";

struct audit_log {
        char *path;
        struct audit_options opts;
        int fd;
        unsigned fork_gen; /* fork generation that opened fd: a child must not share its flock */
        pthread_mutex_t mutex; /* flock is per open file: serialise this handle's threads */

        /* chain state after our last write, valid while the file is unchanged */
        bool cached;
        dev_t dev;
        ino_t ino;
        uint64_t size;
        uint64_t seq;
        char hash[AUDIT_HASH_HEX + 1];
        uint64_t path_checked_us; /* monotonic time the path last named our fd's file */

        char *line; /* '\n'? + record + '\n' */
};

#define LINE_BUF_SIZE (AUDIT_LINE_MAX + 2)
/* How long a verified "the path names our fd" stays trusted on the fast path (below). */
#define PATH_RECHECK_US (1000 * 1000)

/* getpid() is a system call on every append otherwise: count forks instead. */
static unsigned fork_generation;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;
static void on_fork_child(void)
{
        fork_generation++;
}
static void register_atfork(void)
{
        (void)pthread_atfork(NULL, NULL, on_fork_child);
}

static int open_file(const char *path)
{
        int fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0640);
        if (fd < 0)
                return NEG_ERRNO();
        struct stat st;
        if (fstat(fd, &st) < 0) {
                int r = NEG_ERRNO();
                close(fd);
                return r;
        }
        if (!S_ISREG(st.st_mode)) {
                close(fd);
                return -EINVAL;
        }
        return fd;
}

int audit_log_open(const char *path, const struct audit_options *opts, struct audit_log **ret)
{
        if (!path || !*path || !ret)
                return -EINVAL;
        struct audit_log *log = calloc(1, sizeof(*log));
        if (!log)
                return -ENOMEM;
        log->fd = -1;
        if (opts)
                log->opts = *opts;
        log->path = strdup(path);
        log->line = malloc(LINE_BUF_SIZE);
        if (!log->path || !log->line) {
                audit_log_close(log);
                return -ENOMEM;
        }
        pthread_mutex_init(&log->mutex, NULL);
        pthread_once(&atfork_once, register_atfork);
        log->fork_gen = fork_generation;
        log->fd = open_file(path);
        if (log->fd < 0) {
                int r = log->fd;
                log->fd = -1;
                audit_log_close(log);
                return r;
        }
        *ret = log;
        return 0;
}

int audit_log_space(struct audit_log *log, uint64_t *ret_bytes)
{
        struct statvfs sv;

        if (!log || fstatvfs(log->fd, &sv) < 0)
                return log ? NEG_ERRNO() : -EBADF;
        *ret_bytes = (uint64_t)(geteuid() == 0 ? sv.f_bfree : sv.f_bavail) * sv.f_frsize;
        return 0;
}

struct audit_log *audit_log_close(struct audit_log *log)
{
        if (!log)
                return NULL;
        safe_close(log->fd);
        if (log->line)
                pthread_mutex_destroy(&log->mutex);
        free(log->path);
        free(log->line);
        free(log);
        return NULL;
}

/* Take LOCK_EX on the file the path currently names, reopening if another writer rotated it
 * away from under our fd. Fills st with the locked file's fstat.
 *
 * Fast path (no stat of the path): the locked file is exactly as we left it (same inode, same
 * size as after our last write, still linked) and the path was seen naming it less than
 * PATH_RECHECK_US ago. Every writer rotates only right after appending under the lock, so a
 * file nobody appended to since our last write was not rotated away by a writer; the periodic
 * recheck bounds how long a rename by something else (an administrator) goes unnoticed. */
static int lock_current(struct audit_log *log, struct stat *st)
{
        if (log->fork_gen != fork_generation) {
                /* A forked child shares the parent's open file description, and with it the
                 * flock: take a description of our own (closing ours keeps the parent's lock). */
                log->fd = safe_close(log->fd);
                log->fork_gen = fork_generation;
        }
        for (unsigned attempt = 0; attempt < 100; attempt++) {
                if (log->fd < 0) {
                        int fd = open_file(log->path);
                        if (fd < 0)
                                return fd;
                        log->fd = fd;
                        log->cached = false;
                }
                while (flock(log->fd, LOCK_EX) < 0)
                        if (errno != EINTR)
                                return NEG_ERRNO();
                struct stat pst;
                if (fstat(log->fd, st) < 0) {
                        int r = NEG_ERRNO();
                        flock(log->fd, LOCK_UN);
                        return r;
                }
                uint64_t now = now_usec();
                if (log->cached && log->dev == st->st_dev && log->ino == st->st_ino &&
                    log->size == (uint64_t)st->st_size && st->st_nlink > 0 &&
                    now - log->path_checked_us < PATH_RECHECK_US)
                        return 0;
                if (stat(log->path, &pst) == 0 && pst.st_dev == st->st_dev &&
                    pst.st_ino == st->st_ino) {
                        log->path_checked_us = now;
                        return 0;
                }
                /* renamed (rotated) or unlinked: drop it and open what the path names now */
                log->fd = safe_close(log->fd); /* also releases the lock */
        }
        return -EAGAIN;
}

/* The chain state at the end of the locked file (st): from its tail, or if it holds no record,
 * from the newest rotated file's tail, or a fresh chain. ret_torn: the file's last line is
 * partial. */
static int load_state(struct audit_log *log, const struct stat *st, uint64_t *ret_seq,
                      char ret_hash[AUDIT_HASH_HEX + 1], bool *ret_torn)
{
        bool torn = false;
        int r = audit_tail_last(log->fd, (uint64_t)st->st_size, ret_seq, ret_hash, &torn);
        if (r < 0)
                return r;
        *ret_torn = torn;
        if (r == 1)
                return 0;

        char name[4096];
        r = audit_rotated_name(log->path, 1, name, sizeof(name));
        if (r < 0)
                return r;
        _cleanup_close_ int fd = open(name, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd >= 0) {
                struct stat rst;
                if (fstat(fd, &rst) < 0)
                        return NEG_ERRNO();
                r = audit_tail_last(fd, (uint64_t)rst.st_size, ret_seq, ret_hash, NULL);
                if (r < 0)
                        return r;
                if (r == 1)
                        return 0;
        } else if (errno != ENOENT)
                return NEG_ERRNO();

        *ret_seq = 0;
        memcpy(ret_hash, zero_hash, sizeof(zero_hash));
        return 0;
}

static int fsync_dir(const char *path)
{
        _cleanup_free_ char *copy = strdup(path);
        if (!copy)
                return -ENOMEM;
        _cleanup_close_ int dfd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0 || fsync(dfd) < 0)
                return NEG_ERRNO();
        return 0;
}

/* Under the lock: FILE.k -> FILE.k+1 (oldest first), pruning beyond keep_files, FILE -> FILE.1,
 * and a fresh FILE. The record that triggered it is already written, so failures here are not
 * the caller's: the next append retries. */
static void rotate(struct audit_log *log)
{
        char from[4096], to[4096];
        unsigned n = audit_rotated_count(log->path);
        unsigned keep = log->opts.keep_files;

        if (keep > 0)
                for (; n >= keep; n--) {
                        if (audit_rotated_name(log->path, n, from, sizeof(from)) < 0 ||
                            (unlink(from) < 0 && errno != ENOENT))
                                return;
                }
        for (unsigned k = n; k >= 1; k--)
                if (audit_rotated_name(log->path, k, from, sizeof(from)) < 0 ||
                    audit_rotated_name(log->path, k + 1, to, sizeof(to)) < 0 ||
                    rename(from, to) < 0)
                        return;
        if (audit_rotated_name(log->path, 1, to, sizeof(to)) < 0 || rename(log->path, to) < 0)
                return;

        int fd = open_file(log->path);
        if (log->opts.fsync != AUDIT_SYNC_NONE)
                (void)fsync_dir(log->path);
        if (fd < 0)
                return; /* the next append finds the path gone and creates it */

        struct stat st;
        bool ok = fstat(fd, &st) == 0;
        safe_close(log->fd); /* releases our lock on what is now FILE.1 */
        log->fd = fd;
        /* An empty new FILE continues from FILE.1's tail, which is our last record. */
        log->cached = ok && st.st_size == 0;
        if (log->cached) {
                log->dev = st.st_dev;
                log->ino = st.st_ino;
                log->size = 0;
        }
}

/* Compose '\n'? + record + '\n' into log->line for seq/prev. Returns the total length (the
 * record's hash in ret_hash) or -E2BIG. */
static int compose(char *out, const char *body, size_t body_len, bool torn, uint64_t seq,
                   const char *prev, char ret_hash[AUDIT_HASH_HEX + 1])
{
        char ts[32];
        format_iso8601_ms(now_realtime_usec(), ts, sizeof(ts));
        char head[96];
        int hl = snprintf(head, sizeof(head), "{\"seq\":%" PRIu64 ",\"ts\":\"%s\",", seq, ts);
        if (hl < 0 || (size_t)hl >= sizeof(head))
                return -EINVAL;

        size_t rec_len = (size_t)hl + body_len + AUDIT_PREV_PART_LEN + AUDIT_HASH_SUFFIX_LEN;
        if (rec_len > AUDIT_LINE_MAX)
                return -E2BIG;

        char *p = out;
        if (torn)
                *p++ = '\n';
        char *rec = p;
        memcpy(p, head, (size_t)hl);
        p += hl;
        memcpy(p, body, body_len);
        p += body_len;
        memcpy(p, ",\"prev\":\"", 9);
        memcpy(p + 9, prev, AUDIT_HASH_HEX);
        p[9 + AUDIT_HASH_HEX] = '"';
        p += AUDIT_PREV_PART_LEN;
        *p = '}';
        int r = sha256_hex(rec, (size_t)(p + 1 - rec), ret_hash);
        if (r < 0)
                return r;
        memcpy(p, ",\"hash\":\"", 9);
        memcpy(p + 9, ret_hash, AUDIT_HASH_HEX);
        p[9 + AUDIT_HASH_HEX] = '"';
        p[10 + AUDIT_HASH_HEX] = '}';
        p += AUDIT_HASH_SUFFIX_LEN;
        *p++ = '\n';
        return (int)(p - out);
}

/* Write the composed line(s) once. On failure put the file back to its old size. */
static int write_record(struct audit_log *log, const char *buf, size_t len, uint64_t old_size,
                        bool sync)
{
        int r = 0;
        ssize_t n;
        do
                n = write(log->fd, buf, len);
        while (n < 0 && errno == EINTR);

        if (n < 0)
                r = NEG_ERRNO();
        else if ((size_t)n != len) {
                /* Short write: ask again for the rest only to learn why (ENOSPC, EFBIG, EIO). */
                ssize_t m = write(log->fd, buf + n, len - (size_t)n);
                r = m < 0 ? NEG_ERRNO() : -EIO;
        } else if (sync && fsync(log->fd) < 0)
                r = NEG_ERRNO();

        if (r < 0 && ftruncate(log->fd, (off_t)old_size) < 0)
                log->cached = false; /* the next writer sees the torn tail */
        return r;
}

/* Room one record needs around its fields: '\n'? + head + prev + hash + '\n'. */
#define RECORD_OVERHEAD (1 + 96 + AUDIT_PREV_PART_LEN + AUDIT_HASH_SUFFIX_LEN + 1)

static bool body_ok(const char *body, size_t len)
{
        return len >= 10 && len <= AUDIT_LINE_MAX && memcmp(body, "\"event\":\"", 9) == 0 &&
               !memchr(body, '\n', len);
}

int audit_log_append_text(struct audit_log *log, const char *const *bodies, const size_t *lens,
                          size_t n, bool sync, uint64_t *ret_seq)
{
        if (!log || !bodies || !lens || n == 0 || n > AUDIT_BATCH_MAX)
                return -EINVAL;
        size_t total = 0;
        for (size_t i = 0; i < n; i++) {
                if (!bodies[i] || !body_ok(bodies[i], lens[i]))
                        return -EINVAL;
                total += lens[i];
        }
        pthread_mutex_lock(&log->mutex);
        _cleanup_free_ char *lines = NULL;
        int r;
        if (n > 1) {
                lines = malloc(total + n * RECORD_OVERHEAD);
                if (!lines) {
                        r = -ENOMEM;
                        goto out;
                }
        }

        struct stat st;
        r = lock_current(log, &st);
        if (r < 0)
                goto out;

        uint64_t seq;
        char prev[AUDIT_HASH_HEX + 1];
        bool torn = false;
        if (log->cached && log->dev == st.st_dev && log->ino == st.st_ino &&
            log->size == (uint64_t)st.st_size) {
                seq = log->seq;
                memcpy(prev, log->hash, sizeof(prev));
        } else {
                r = load_state(log, &st, &seq, prev, &torn);
                if (r < 0)
                        goto unlock;
        }
        if (seq > UINT64_MAX - n) {
                r = -EOVERFLOW;
                goto unlock;
        }

        char hash[AUDIT_HASH_HEX + 1];
        char *buf = n == 1 ? log->line : lines;
        size_t len = 0;
        for (size_t i = 0; i < n; i++) {
                r = compose(buf + len, bodies[i], lens[i], torn && i == 0, seq + 1 + i, prev,
                            hash);
                if (r < 0)
                        goto unlock;
                len += (size_t)r;
                memcpy(prev, hash, sizeof(prev));
        }

        bool do_sync =
            log->opts.fsync == AUDIT_SYNC_ALWAYS || (log->opts.fsync == AUDIT_SYNC_CALLER && sync);
        r = write_record(log, buf, len, (uint64_t)st.st_size, do_sync);
        if (r < 0)
                goto unlock;

        log->cached = true;
        log->dev = st.st_dev;
        log->ino = st.st_ino;
        log->size = (uint64_t)st.st_size + len;
        log->seq = seq + n;
        memcpy(log->hash, hash, sizeof(hash));
        if (ret_seq)
                *ret_seq = seq + n;

        if (log->opts.rotate_bytes > 0 && log->size >= log->opts.rotate_bytes)
                rotate(log);
        r = 0;
unlock:
        if (log->fd >= 0)
                flock(log->fd, LOCK_UN);
out:
        pthread_mutex_unlock(&log->mutex);
        return r;
}

int audit_log_append_many(struct audit_log *log, const json_t *const *fields, size_t n,
                          bool sync, uint64_t *ret_seq)
{
        if (!log || !fields || n == 0 || n > AUDIT_BATCH_MAX)
                return -EINVAL;
        char **texts = calloc(n, sizeof(*texts));
        size_t *lens = calloc(n, sizeof(*lens));
        int r = texts && lens ? 0 : -ENOMEM;
        for (size_t i = 0; i < n && r >= 0; i++)
                r = fields[i] ? audit_fields_from_json(fields[i], &texts[i], &lens[i]) : -EINVAL;
        if (r >= 0)
                r = audit_log_append_text(log, (const char *const *)texts, lens, n, sync,
                                          ret_seq);
        for (size_t i = 0; texts && i < n; i++)
                free(texts[i]);
        free(texts);
        free(lens);
        return r;
}

int audit_log_append(struct audit_log *log, const json_t *fields, bool sync, uint64_t *ret_seq)
{
        return audit_log_append_many(log, &fields, 1, sync, ret_seq);
}
