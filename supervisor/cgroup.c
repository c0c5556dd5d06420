/* cgroup limits for one sandbox: memory.max / pids.max on cgroup v2 when the controller is
 * enabled there, else the v1 memory / pids hierarchies (hybrid hosts), else nothing (the caller
 * logs that limits are off; rlimits still apply). Trust level: supervisor parent (root or the
 * invoking user; unprivileged users usually cannot create cgroups and get a note). */
#include "supervisor/cgroup.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#include "common/fd-util.h"
#include "common/macro.h"

#define CG_PATH_MAX 4096

int cgroup_parse_proc_self(const char *text, const char *controller, char *out, size_t outlen)
{
        /* Lines: "ID:CONTROLLERS:PATH"; CONTROLLERS is comma-separated, "" for v2. */
        const char *line = text;
        size_t clen = strlen(controller);

        while (line && *line) {
                const char *nl = strchr(line, '\n');
                const char *end = nl ? nl : line + strlen(line);
                const char *c1 = memchr(line, ':', (size_t)(end - line));
                const char *c2 = c1 ? memchr(c1 + 1, ':', (size_t)(end - c1 - 1)) : NULL;

                if (c2) {
                        const char *ctl = c1 + 1;
                        bool match = false;

                        if (clen == 0)
                                match = ctl == c2 && line[0] == '0' && c1 == line + 1;
                        else
                                for (const char *p = ctl; p < c2;) {
                                        const char *comma = memchr(p, ',', (size_t)(c2 - p));
                                        const char *e = comma ? comma : c2;

                                        if ((size_t)(e - p) == clen &&
                                            memcmp(p, controller, clen) == 0)
                                                match = true;
                                        p = e + 1;
                                }
                        if (match) {
                                size_t plen = (size_t)(end - c2 - 1);

                                if (plen == 0 || c2[1] != '/')
                                        return -ENOENT;
                                if (plen >= outlen)
                                        return -ENAMETOOLONG;
                                memcpy(out, c2 + 1, plen);
                                out[plen] = '\0';
                                return 0;
                        }
                }
                line = nl ? nl + 1 : NULL;
        }
        return -ENOENT;
}

static bool is_fs(const char *path, long magic)
{
        struct statfs sf;

        return statfs(path, &sf) == 0 && (long)sf.f_type == magic;
}

static bool file_has_word(const char *path, const char *word)
{
        _cleanup_free_ char *text = NULL;
        size_t len, wl = strlen(word);

        if (read_file_bounded(path, 4096, &text, &len) < 0)
                return false;
        for (char *p = text; (p = strstr(p, word)); p += wl)
                if ((p == text || p[-1] == ' ') && (p[wl] == ' ' || p[wl] == '\n' || !p[wl]))
                        return true;
        return false;
}

static int write_str(const char *dir, const char *file, const char *value)
{
        char path[CG_PATH_MAX];
        _cleanup_close_ int fd = -1;
        size_t len = strlen(value);

        if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, file) >= sizeof(path))
                return -ENAMETOOLONG;
        fd = open(path, O_WRONLY | O_CLOEXEC);
        if (fd < 0)
                return NEG_ERRNO();
        if (write(fd, value, len) != (ssize_t)len)
                return NEG_ERRNO();
        return 0;
}

static int write_u64(const char *dir, const char *file, uint64_t v)
{
        char buf[32];

        snprintf(buf, sizeof(buf), "%llu", (unsigned long long)v);
        return write_str(dir, file, buf);
}

#define STALE_PREFIX "qclaw-s-"
#define STALE_AGE_SEC 60

/* Remove session cgroups a killed supervisor left in dir: our naming pattern only, empty only
 * (cgroup.procs has no pid; rmdir itself refuses a cgroup with processes or children), and old
 * enough that no starting session can be between its mkdir and its join. */
static void remove_stale(const char *dir)
{
        DIR *d = opendir(dir);
        struct dirent *de;
        time_t now = time(NULL);
        const size_t pl = strlen(STALE_PREFIX);

        if (!d)
                return;
        while ((de = readdir(d))) {
                const char *n = de->d_name;
                char path[CG_PATH_MAX], procs_path[CG_PATH_MAX + 16];
                _cleanup_free_ char *procs = NULL;
                size_t len, i;
                struct stat st;

                if (de->d_type != DT_DIR || strncmp(n, STALE_PREFIX, pl) != 0)
                        continue;
                for (i = 0; i < 8 && isxdigit((unsigned char)n[pl + i]); i++)
                        ;
                if (i != 8 || n[pl + 8] != '\0')
                        continue;
                if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, n) >= sizeof(path) ||
                    fstatat(dirfd(d), n, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
                    now - st.st_mtime < STALE_AGE_SEC)
                        continue;
                snprintf(procs_path, sizeof(procs_path), "%s/cgroup.procs", path);
                if (read_file_bounded(procs_path, 64, &procs, &len) < 0 || len != 0)
                        continue;
                (void)rmdir(path);
        }
        closedir(d);
}

/* mkdir MOUNT/OURPATH/NAME; returns the malloc'ed path or NULL (errno set). */
static char *make_child(const char *mount, const char *self_text, const char *controller,
                        const char *name)
{
        char own[CG_PATH_MAX / 2], path[CG_PATH_MAX];

        if (cgroup_parse_proc_self(self_text, controller, own, sizeof(own)) < 0) {
                errno = ENOENT;
                return NULL;
        }
        if ((size_t)snprintf(path, sizeof(path), "%s%s/%s", mount,
                             strcmp(own, "/") == 0 ? "" : own, name) >= sizeof(path)) {
                errno = ENAMETOOLONG;
                return NULL;
        }
        {
                char *slash = strrchr(path, '/');
                *slash = '\0';
                remove_stale(path);
                *slash = '/';
        }
        if (mkdir(path, 0755) < 0 && errno != EEXIST)
                return NULL;
        return strdup(path);
}

int cgroup_prepare_v2(const char *name, uint64_t memory_max, uint64_t pids_max,
                      struct cgroup_session **ret)
{
        _cleanup_free_ char *self = NULL;
        struct cgroup_session *s;
        const char *v2_mount = NULL;
        size_t len;

        s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        s->v2_fd = s->v1_tasks_fd[0] = s->v1_tasks_fd[1] = -1;
        *ret = s;
        if (memory_max == 0 && pids_max == 0)
                return 0;
        if (read_file_bounded("/proc/self/cgroup", 64 * 1024, &self, &len) < 0)
                return 0; /* cgroup_prepare_v1 notes it */

        if (is_fs("/sys/fs/cgroup", CGROUP2_SUPER_MAGIC))
                v2_mount = "/sys/fs/cgroup";
        else if (is_fs("/sys/fs/cgroup/unified", CGROUP2_SUPER_MAGIC))
                v2_mount = "/sys/fs/cgroup/unified";
        if (!v2_mount)
                return 0;

        char own[CG_PATH_MAX / 2], parent[CG_PATH_MAX], ctl[CG_PATH_MAX + 32];

        if (cgroup_parse_proc_self(self, "", own, sizeof(own)) == 0 &&
            (size_t)snprintf(parent, sizeof(parent), "%s%s", v2_mount,
                             strcmp(own, "/") == 0 ? "" : own) < sizeof(parent)) {
                snprintf(ctl, sizeof(ctl), "%s/cgroup.controllers", parent);
                /* Enable what the parent offers (fails quietly under the no-internal-processes
                 * rule; we then fall back to v1). */
                bool mem = memory_max && file_has_word(ctl, "memory");
                bool pids = pids_max && file_has_word(ctl, "pids");

                if (mem)
                        (void)write_str(parent, "cgroup.subtree_control", "+memory");
                if (pids)
                        (void)write_str(parent, "cgroup.subtree_control", "+pids");
                /* Only when it limits something (hybrid hosts often have no controller in v2). */
                if (mem || pids)
                        s->v2_dir = make_child(v2_mount, self, "", name);
        }
        if (s->v2_dir) {
                snprintf(ctl, sizeof(ctl), "%s/cgroup.controllers", s->v2_dir);
                if (memory_max && file_has_word(ctl, "memory") &&
                    write_u64(s->v2_dir, "memory.max", memory_max) == 0) {
                        (void)write_str(s->v2_dir, "memory.swap.max", "0");
                        s->memory_limited = true;
                }
                if (pids_max && file_has_word(ctl, "pids") &&
                    write_u64(s->v2_dir, "pids.max", pids_max) == 0)
                        s->pids_limited = true;
        }
        /* Born in it (CLONE_INTO_CGROUP, no migration) when it limits something. */
        if (s->v2_dir && (s->memory_limited || s->pids_limited)) {
                s->v2_fd = open(s->v2_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (s->v2_fd < 0)
                        return NEG_ERRNO();
        }
        return 0;
}

int cgroup_prepare_v1(struct cgroup_session *s, const char *name, uint64_t memory_max,
                      uint64_t pids_max, char *note, size_t notelen)
{
        _cleanup_free_ char *self = NULL;
        size_t len;

        note[0] = '\0';
        if (memory_max == 0 && pids_max == 0)
                return 0;
        if (read_file_bounded("/proc/self/cgroup", 64 * 1024, &self, &len) < 0) {
                snprintf(note, notelen, "/proc/self/cgroup unreadable");
                return 0;
        }
        if (memory_max && !s->memory_limited &&
            is_fs("/sys/fs/cgroup/memory", CGROUP_SUPER_MAGIC)) {
                s->v1_mem_dir = make_child("/sys/fs/cgroup/memory", self, "memory", name);
                if (s->v1_mem_dir) {
                        /* memsw must be >= limit: set limit first, then memsw (if present). */
                        if (write_u64(s->v1_mem_dir, "memory.limit_in_bytes", memory_max) == 0) {
                                (void)write_u64(s->v1_mem_dir, "memory.memsw.limit_in_bytes",
                                                memory_max);
                                s->memory_limited = true;
                        }
                }
        }
        if (pids_max && !s->pids_limited && is_fs("/sys/fs/cgroup/pids", CGROUP_SUPER_MAGIC)) {
                s->v1_pids_dir = make_child("/sys/fs/cgroup/pids", self, "pids", name);
                if (s->v1_pids_dir && write_u64(s->v1_pids_dir, "pids.max", pids_max) == 0)
                        s->pids_limited = true;
        }
        /* init joins these itself (cgroup_join_self) */
        const char *v1[] = { s->v1_mem_dir, s->v1_pids_dir };
        for (size_t i = 0; i < ELEMENTSOF(v1); i++) {
                char path[CG_PATH_MAX];

                if (!v1[i])
                        continue;
                if ((size_t)snprintf(path, sizeof(path), "%s/tasks", v1[i]) >= sizeof(path))
                        return -ENAMETOOLONG;
                s->v1_tasks_fd[i] = open(path, O_WRONLY | O_CLOEXEC);
                if (s->v1_tasks_fd[i] < 0)
                        return NEG_ERRNO();
        }
        if ((memory_max && !s->memory_limited) || (pids_max && !s->pids_limited))
                snprintf(note, notelen, "%s%s%s limit off (no writable cgroup controller)",
                         memory_max && !s->memory_limited ? "memory" : "",
                         memory_max && !s->memory_limited && pids_max && !s->pids_limited
                                 ? " and "
                                 : "",
                         pids_max && !s->pids_limited ? "pids" : "");
        return 0;
}

int cgroup_prepare(const char *name, uint64_t memory_max, uint64_t pids_max,
                   struct cgroup_session **ret, char *note, size_t notelen)
{
        int r = cgroup_prepare_v2(name, memory_max, pids_max, ret);

        note[0] = '\0';
        if (r < 0)
                return r;
        return cgroup_prepare_v1(*ret, name, memory_max, pids_max, note, notelen);
}

int cgroup_join_fd(int tasks_fd)
{
        if (write(tasks_fd, "0", 1) != 1)
                return NEG_ERRNO();
        return 0;
}

int cgroup_join_self(const struct cgroup_session *s)
{
        for (size_t i = 0; s && i < ELEMENTSOF(s->v1_tasks_fd); i++) {
                if (s->v1_tasks_fd[i] < 0)
                        continue;
                int r = cgroup_join_fd(s->v1_tasks_fd[i]);
                if (r < 0)
                        return r;
        }
        return 0;
}

static void remove_dir(const char *dir)
{
        /* The pid namespace is gone when we get here; v1 can need a moment to notice. */
        for (int i = 0; i < 50; i++) {
                if (rmdir(dir) == 0 || errno != EBUSY)
                        return;
                nanosleep(&(struct timespec){ .tv_nsec = 2 * 1000 * 1000 }, NULL);
        }
}

struct cgroup_session *cgroup_session_free(struct cgroup_session *s)
{
        if (!s)
                return NULL;
        const char *dirs[] = { s->v2_dir, s->v1_mem_dir, s->v1_pids_dir };

        for (size_t i = 0; i < ELEMENTSOF(dirs); i++)
                if (dirs[i])
                        remove_dir(dirs[i]);
        safe_close(s->v2_fd);
        safe_close(s->v1_tasks_fd[0]);
        safe_close(s->v1_tasks_fd[1]);
        free(s->v2_dir);
        free(s->v1_mem_dir);
        free(s->v1_pids_dir);
        free(s);
        return NULL;
}
