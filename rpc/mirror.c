/* dom0's per-VM audit mirror: storage, lock and state.
 * Trust level: dom0. Only records the pull has verified are written here; this file never
 * interprets VM data itself. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fd-util.h"
#include "common/macro.h"
#include "rpc/mirror.h"
#include "rpc/rpc-arg.h"

#define STATE_MAX 256

static int mkdir_p(const char *path, mode_t mode)
{
        _cleanup_free_ char *p = strdup(path);
        if (!p)
                return -ENOMEM;
        for (char *s = p + 1; *s; s++) {
                if (*s != '/')
                        continue;
                *s = '\0';
                if (mkdir(p, 0755) < 0 && errno != EEXIST)
                        return -errno;
                *s = '/';
        }
        if (mkdir(p, mode) < 0 && errno != EEXIST)
                return -errno;
        return 0;
}

static bool is_hex64(const char *s)
{
        for (int i = 0; i < AUDIT_HASH_HEX; i++)
                if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
                        return false;
        return s[AUDIT_HASH_HEX] == '\0';
}

/* "SEQ HASH SIZE\n" -> fields. -ENOENT when absent, -EBADMSG when malformed. */
static int state_read(struct mirror *m, uint64_t *seq, char hash[AUDIT_HASH_HEX + 1],
                      uint64_t *size)
{
        _cleanup_free_ char *buf = NULL;
        char h[AUDIT_HASH_HEX + 2];
        unsigned long long s, z;
        size_t len;
        int r = read_file_bounded(m->state_path, STATE_MAX, &buf, &len);
        if (r < 0)
                return r;
        if (sscanf(buf, "%llu %65s %llu", &s, h, &z) != 3 || strlen(h) != AUDIT_HASH_HEX ||
            !is_hex64(h))
                return -EBADMSG;
        *seq = s;
        memcpy(hash, h, AUDIT_HASH_HEX + 1);
        *size = z;
        return 0;
}

static int state_write(struct mirror *m, uint64_t seq, const char *hash, uint64_t size)
{
        _cleanup_free_ char *tmp = NULL;
        char buf[STATE_MAX];
        int n = snprintf(buf, sizeof(buf), "%llu %s %llu\n", (unsigned long long)seq, hash,
                         (unsigned long long)size);
        if (asprintf(&tmp, "%s.tmp", m->state_path) < 0)
                return -ENOMEM;
        _cleanup_close_ int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
        if (fd < 0)
                return -errno;
        int r = fd_write_all(fd, buf, (size_t)n);
        if (r < 0)
                return r;
        if (fsync(fd) < 0 || rename(tmp, m->state_path) < 0)
                return -errno;
        _cleanup_close_ int dfd = open(m->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0)
                (void)fsync(dfd);
        return 0;
}

struct mirror *mirror_free(struct mirror *m)
{
        if (!m)
                return NULL;
        safe_close(m->lock_fd);
        free(m->dir);
        free(m->log_path);
        free(m->state_path);
        free(m);
        return NULL;
}

int mirror_open(const char *base, const char *vm, struct mirror **ret, char *ret_reason,
                size_t reason_len)
{
        struct mirror *m;
        struct stat st;
        uint64_t seq = 0, size = 0;
        char hash[AUDIT_HASH_HEX + 1] = "";
        _cleanup_free_ char *lock = NULL; /* before any goto fail: its cleanup runs there */
        int r;

        if (!vm_name_is_valid(vm))
                return -EINVAL;
        m = calloc(1, sizeof(*m));
        if (!m)
                return -ENOMEM;
        m->lock_fd = -1;
        if (asprintf(&m->dir, "%s/%s", base, vm) < 0 ||
            asprintf(&m->log_path, "%s/audit.jsonl", m->dir) < 0 ||
            asprintf(&m->state_path, "%s/state", m->dir) < 0) {
                r = -ENOMEM;
                goto fail;
        }
        r = mkdir_p(m->dir, 0750);
        if (r < 0)
                goto fail;
        if (asprintf(&lock, "%s/.lock", m->dir) < 0) {
                r = -ENOMEM;
                goto fail;
        }
        m->lock_fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (m->lock_fd < 0 || flock(m->lock_fd, LOCK_EX) < 0) {
                r = -errno;
                goto fail;
        }

        if (stat(m->log_path, &st) < 0) {
                if (errno != ENOENT) {
                        r = -errno;
                        goto fail;
                }
                st.st_size = 0;
        }
        r = state_read(m, &seq, hash, &size);
        if (r == 0 && size == (uint64_t)st.st_size) {
                m->last_seq = seq;
                memcpy(m->last_hash, hash, sizeof(hash));
                m->size = size;
                *ret = m;
                return 0;
        }
        if (r < 0 && r != -ENOENT && r != -EBADMSG)
                goto fail;
        if (st.st_size == 0) {
                m->last_seq = 0;
                m->size = 0;
                *ret = m;
                return 0;
        }
        /* No usable state: the mirror is dom0's own file, but verify it rather than assume. */
        struct audit_verifier v;
        r = audit_verify_path(m->log_path, &v);
        if (r < 0)
                goto fail;
        if (v.broken != AUDIT_OK) {
                snprintf(ret_reason, reason_len, "dom0 mirror %s does not verify at seq %llu: %s",
                         m->log_path, (unsigned long long)v.broken_seq, v.reason);
                r = -EBADMSG;
                goto fail;
        }
        m->last_seq = v.last_seq;
        memcpy(m->last_hash, v.last_hash, sizeof(m->last_hash));
        m->size = (uint64_t)st.st_size;
        r = state_write(m, m->last_seq, m->last_hash, m->size);
        if (r < 0)
                goto fail;
        *ret = m;
        return 0;
fail:
        mirror_free(m);
        return r;
}

int mirror_append(struct mirror *m, const char *data, size_t len, uint64_t seq, const char *hash)
{
        if (len == 0)
                return 0;
        _cleanup_close_ int fd = open(m->log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
        if (fd < 0)
                return -errno;
        int r = fd_write_all(fd, data, len);
        if (r < 0)
                return r;
        if (fsync(fd) < 0)
                return -errno;
        struct stat st;
        if (fstat(fd, &st) < 0)
                return -errno;
        r = state_write(m, seq, hash, (uint64_t)st.st_size);
        if (r < 0)
                return r;
        m->last_seq = seq;
        memcpy(m->last_hash, hash, AUDIT_HASH_HEX + 1);
        m->size = (uint64_t)st.st_size;
        return 0;
}
