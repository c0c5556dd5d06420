/* The sandbox's filesystem view, bubblewrap style: a tmpfs mounted over /tmp becomes the new
 * root; the profile's paths are bind-mounted into it from the host's (read-only ones
 * recursively read-only, nosuid, nodev; their sources opened before /tmp is covered), then
 * /proc, /dev, and pivot_root into it with the host's tree detached. Nothing outside the
 * profile's paths exists inside: no /run, no /tmp/.X11-unix, no control socket. Trust level:
 * sandbox init with CAP_SYS_ADMIN over its own mount namespace only; the profile is trusted
 * (admin-installed). */
#include "supervisor/mount.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/log.h"
#include "common/macro.h"
#include "policy/profile.h"
#include "supervisor/caps.h"

/* The new root is built on a tmpfs mounted over /tmp (of our private copy of the host's
 * mounts): the host's paths stay reachable as they are, except /tmp, whose bind sources are
 * opened before it is covered (see mount_setup_root). */
#define NEW "/tmp"

static size_t path_depth(const char *p)
{
        size_t d = 0;

        for (; *p; p++)
                d += *p == '/';
        return p[-1] == '/' ? 0 : d; /* "/" is depth 0 */
}

struct plan_sort {
        struct mount_entry e;
        size_t idx;
};

static int plan_cmp(const void *a, const void *b)
{
        const struct plan_sort *x = a, *y = b;
        int hx = x->e.kind == MOUNT_HIDE, hy = y->e.kind == MOUNT_HIDE;
        size_t dx = path_depth(x->e.path), dy = path_depth(y->e.path);

        if (hx != hy)
                return hx - hy;
        if (dx != dy)
                return dx < dy ? -1 : 1;
        return x->idx < y->idx ? -1 : x->idx > y->idx;
}

int mount_plan(const struct profile *p, struct mount_entry **ret, size_t *ret_n)
{
        const struct strv *lists[] = { &p->fs_read_only, &p->fs_read_write, &p->fs_tmpfs,
                                       &p->fs_hide };
        const enum mount_kind kinds[] = { MOUNT_READ_ONLY, MOUNT_READ_WRITE, MOUNT_TMPFS,
                                          MOUNT_HIDE };
        size_t n = 0, k = 0;
        struct plan_sort *tmp;
        struct mount_entry *out;

        for (size_t i = 0; i < ELEMENTSOF(lists); i++)
                n += lists[i]->n;
        tmp = calloc(n ? n : 1, sizeof(*tmp));
        out = calloc(n ? n : 1, sizeof(*out));
        if (!tmp || !out) {
                free(tmp);
                free(out);
                return -ENOMEM;
        }
        for (size_t i = 0; i < ELEMENTSOF(lists); i++)
                for (size_t j = 0; j < lists[i]->n; j++, k++)
                        tmp[k] = (struct plan_sort){ { kinds[i], lists[i]->items[j] }, k };
        qsort(tmp, n, sizeof(*tmp), plan_cmp);
        for (size_t i = 0; i < n; i++)
                out[i] = tmp[i].e;
        free(tmp);
        *ret = out;
        *ret_n = n;
        return 0;
}

static int fail(int r, char *err, size_t errlen, const char *step, const char *path)
{
        snprintf(err, errlen, "%s%s%s: %s", step, path ? " " : "", path ? path : "",
                 strerror(-r));
        return r;
}

/* mkdir -p for an absolute path (every component below "/" is created 0755). One mkdir when
 * the parent exists, as it mostly does. */
static int mkdir_p(const char *path, mode_t mode)
{
        char buf[PATH_MAX];
        size_t len = strlen(path);

        if (len >= sizeof(buf))
                return -ENAMETOOLONG;
        if (mkdir(path, mode) == 0 || errno == EEXIST)
                return 0;
        if (errno != ENOENT)
                return NEG_ERRNO();
        memcpy(buf, path, len + 1);
        for (char *p = buf + 1; *p; p++) {
                if (*p != '/')
                        continue;
                *p = '\0';
                if (mkdir(buf, 0755) < 0 && errno != EEXIST)
                        return NEG_ERRNO();
                *p = '/';
        }
        if (mkdir(buf, mode) < 0 && errno != EEXIST)
                return NEG_ERRNO();
        return 0;
}

/* Create the parent directories of path. */
static int mkdir_parent(const char *path)
{
        char parent[PATH_MAX];
        const char *slash = strrchr(path, '/');

        if (!slash || (size_t)(slash - path) >= sizeof(parent))
                return -EINVAL;
        memcpy(parent, path, (size_t)(slash - path));
        parent[slash - path] = '\0';
        return parent[0] ? mkdir_p(parent, 0755) : 0;
}

/* Create an empty file (and its parents) to bind a file onto. */
static int touch_p(const char *path)
{
        int fd, r;

        fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOCTTY, 0444);
        if (fd < 0 && errno == ENOENT) {
                if ((r = mkdir_parent(path)) < 0)
                        return r;
                fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOCTTY, 0444);
        }
        if (fd < 0)
                return errno == EEXIST ? 0 : NEG_ERRNO();
        close(fd);
        return 0;
}

static int join(char *buf, size_t len, const char *prefix, const char *path)
{
        if ((size_t)snprintf(buf, len, "%s%s", prefix, strcmp(path, "/") == 0 ? "" : path) >= len)
                return -ENAMETOOLONG;
        return 0;
}

static int set_attrs(const char *dst, bool recursive, uint64_t attrs)
{
        struct mount_attr a = { .attr_set = attrs };

        if (mount_setattr(AT_FDCWD, dst, recursive ? AT_RECURSIVE : 0, &a, sizeof(a)) < 0) {
                int r = NEG_ERRNO();
                unsigned long fl = MS_REMOUNT | MS_BIND;

                if (r != -ENOSYS)
                        return r;
                /* Pre-5.12 kernels: top mount only. */
                fl |= (attrs & MOUNT_ATTR_RDONLY ? MS_RDONLY : 0) |
                      (attrs & MOUNT_ATTR_NOSUID ? MS_NOSUID : 0) |
                      (attrs & MOUNT_ATTR_NODEV ? MS_NODEV : 0) |
                      (attrs & MOUNT_ATTR_NOEXEC ? MS_NOEXEC : 0);
                if (mount(NULL, dst, NULL, fl, NULL) < 0)
                        return NEG_ERRNO();
        }
        return 0;
}

/* Bind the host's path (opened as src_fd, O_PATH|O_NOFOLLOW, before /tmp was covered; -ENOENT:
 * not on the host, skipped; another -errno: could not be opened, an error) at the same path in
 * the new root. */
static int do_bind(const char *path, int src_fd, bool ro, char *err, size_t errlen)
{
        char src[64], dst[PATH_MAX], target[PATH_MAX];
        const char *step = ro ? "read_only" : "read_write";
        struct stat st;
        ssize_t n;
        int r;

        if ((r = join(dst, sizeof(dst), NEW, path)) < 0)
                return fail(r, err, errlen, step, path);
        if (src_fd < 0 && src_fd != -ENOENT) {
                snprintf(err, errlen, "%s %s: not reachable by the agent's user: %s", step, path,
                         strerror(-src_fd));
                return src_fd;
        }
        if (src_fd < 0 || fstat(src_fd, &st) < 0) {
                log_debug("%s %s: not on the host, skipped", step, path);
                return 0;
        }
        /* The fd's own path, even where a mount now covers its name. */
        snprintf(src, sizeof(src), "/proc/self/fd/%d", src_fd);
        if (S_ISLNK(st.st_mode)) {
                /* Recreate the link (e.g. /lib -> usr/lib) instead of following it with the
                 * host root's meaning. */
                n = readlinkat(src_fd, "", target, sizeof(target) - 1);
                if (n < 0)
                        return fail(NEG_ERRNO(), err, errlen, step, path);
                target[n] = '\0';
                if (symlink(target, dst) == 0 || errno == EEXIST)
                        return 0;
                if (errno != ENOENT || (r = mkdir_parent(dst)) < 0)
                        return fail(errno != ENOENT ? NEG_ERRNO() : r, err, errlen, step, path);
                if (symlink(target, dst) < 0 && errno != EEXIST)
                        return fail(NEG_ERRNO(), err, errlen, step, path);
                return 0;
        }
        r = S_ISDIR(st.st_mode) ? mkdir_p(dst, 0755) : touch_p(dst);
        if (r < 0 && access(dst, F_OK) < 0)
                return fail(r, err, errlen, step, path);
        if (mount(src, dst, NULL, MS_BIND | MS_REC, NULL) < 0)
                return fail(NEG_ERRNO(), err, errlen, step, path);
        r = set_attrs(dst, true,
                      MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | (ro ? MOUNT_ATTR_RDONLY : 0));
        if (r < 0)
                return fail(r, err, errlen, step, path);
        return 0;
}

/* A tmpfs can hold at most `size` bytes (0: the kernel's default, half of RAM): with
 * memory_max set, each is bounded by it, so filling /tmp, $HOME and /dev/shm cannot take the
 * host's memory where no cgroup charges it (tmpfs pages are charged to the writer's cgroup when
 * there is one). */
static void tmpfs_size_opt(char *buf, size_t len, uint64_t size)
{
        if (size)
                snprintf(buf, len, ",size=%llu", (unsigned long long)size);
        else
                buf[0] = '\0';
}

static int do_tmpfs(const char *path, uid_t uid, gid_t gid, uint64_t size, char *err,
                    size_t errlen)
{
        char dst[PATH_MAX], opts[128], sz[32];
        bool sticky = strcmp(path, "/tmp") == 0 || strcmp(path, "/var/tmp") == 0 ||
                      strcmp(path, "/dev/shm") == 0;
        int r;

        if ((r = join(dst, sizeof(dst), NEW, path)) < 0)
                return fail(r, err, errlen, "tmpfs", path);
        r = mkdir_p(dst, 0755);
        if (r < 0) {
                /* Inside a read-only bind and not on the host: nothing to cover. */
                log_debug("tmpfs %s: cannot create mount point (%s), skipped", path,
                          strerror(-r));
                return 0;
        }
        tmpfs_size_opt(sz, sizeof(sz), size);
        snprintf(opts, sizeof(opts), "mode=%s,uid=%u,gid=%u%s", sticky ? "1777" : "0700",
                 (unsigned)(sticky ? 0 : uid), (unsigned)(sticky ? 0 : gid), sz);
        if (sticky)
                snprintf(opts, sizeof(opts), "mode=1777%s", sz);
        if (mount("tmpfs", dst, "tmpfs", MS_NOSUID | MS_NODEV, opts) < 0)
                return fail(NEG_ERRNO(), err, errlen, "tmpfs", path);
        return 0;
}

static int do_hide(const char *path, char *err, size_t errlen)
{
        char dst[PATH_MAX];
        struct stat st;
        int r;

        if ((r = join(dst, sizeof(dst), NEW, path)) < 0)
                return fail(r, err, errlen, "hide", path);
        if (lstat(dst, &st) < 0)
                return 0; /* not visible inside: nothing to hide */
        if (S_ISDIR(st.st_mode)) {
                if (mount("tmpfs", dst, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY,
                          "mode=0555,size=4k") < 0)
                        return fail(NEG_ERRNO(), err, errlen, "hide", path);
        } else if (S_ISLNK(st.st_mode)) {
                /* A link inside a bind: cannot be covered by a mount; refuse rather than
                 * leave it visible. */
                return fail(-ELOOP, err, errlen, "hide", path);
        } else {
                if (mount("/dev/null", dst, NULL, MS_BIND, NULL) < 0)
                        return fail(NEG_ERRNO(), err, errlen, "hide", path);
                r = set_attrs(dst, false,
                              MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV);
                if (r < 0)
                        return fail(r, err, errlen, "hide", path);
        }
        return 0;
}

static int setup_dev(bool in_userns, uint64_t shm_size, char *err, size_t errlen)
{
        static const char *const nodes[] = { "null", "zero", "full", "random", "urandom", "tty" };
        static const char *const links[][2] = {
                { "/proc/self/fd", NEW "/dev/fd" },     { "/proc/self/fd/0", NEW "/dev/stdin" },
                { "/proc/self/fd/1", NEW "/dev/stdout" }, { "/proc/self/fd/2", NEW "/dev/stderr" },
                { "pts/ptmx", NEW "/dev/ptmx" },
        };
        char src[64], dst[64];
        int r;

        if ((r = mkdir_p(NEW "/dev", 0755)) < 0)
                return fail(r, err, errlen, "dev", "/dev");
        if (mount("tmpfs", NEW "/dev", "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=0755") < 0)
                return fail(NEG_ERRNO(), err, errlen, "dev", "/dev");
        for (size_t i = 0; i < ELEMENTSOF(nodes) && !in_userns; i++) {
                struct stat st;
                mode_t old_umask;

                /* Root mode: the host's node recreated (same device number, mode and owner)
                 * with mknod: six mounts fewer to make and to tear down at exit. */
                snprintf(src, sizeof(src), "/dev/%s", nodes[i]);
                snprintf(dst, sizeof(dst), NEW "/dev/%s", nodes[i]);
                if (lstat(src, &st) < 0 || !S_ISCHR(st.st_mode))
                        continue; /* not on the host (or not a device there) */
                old_umask = umask(0);
                r = mknod(dst, S_IFCHR | (st.st_mode & 0777), st.st_rdev) < 0 ? NEG_ERRNO() : 0;
                umask(old_umask);
                if (r == 0 && (st.st_uid != 0 || st.st_gid != 0) &&
                    lchown(dst, st.st_uid, st.st_gid) < 0)
                        r = NEG_ERRNO();
                if (r < 0)
                        return fail(r, err, errlen, "dev", dst + strlen(NEW));
        }
        for (size_t i = 0; i < ELEMENTSOF(nodes) && in_userns; i++) {
                /* User namespace: no mknod; the host's nodes are bound. */
                snprintf(src, sizeof(src), "/dev/%s", nodes[i]);
                snprintf(dst, sizeof(dst), NEW "/dev/%s", nodes[i]);
                if ((r = touch_p(dst)) < 0)
                        return fail(r, err, errlen, "dev", dst + strlen(NEW));
                if (mount(src, dst, NULL, MS_BIND, NULL) < 0) {
                        if (errno == ENOENT) { /* not on the host */
                                (void)unlink(dst);
                                continue;
                        }
                        return fail(NEG_ERRNO(), err, errlen, "dev", dst + strlen(NEW));
                }
        }
        /* nosuid,noexec on the /dev tmpfs and every node bound so far, in one call (devpts and
         * /dev/shm, mounted next, get their own flags); node by node before Linux 5.12. */
        if (in_userns) {
                struct mount_attr a = { .attr_set = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC };

                if (mount_setattr(AT_FDCWD, NEW "/dev", AT_RECURSIVE, &a, sizeof(a)) < 0 &&
                    errno == ENOSYS)
                        for (size_t i = 0; i < ELEMENTSOF(nodes); i++) {
                                snprintf(dst, sizeof(dst), NEW "/dev/%s", nodes[i]);
                                (void)set_attrs(dst, false, a.attr_set);
                        }
        }
        for (size_t i = 0; i < ELEMENTSOF(links); i++)
                if (symlink(links[i][0], links[i][1]) < 0)
                        return fail(NEG_ERRNO(), err, errlen, "dev", links[i][1] + strlen(NEW));
        if ((r = mkdir_p(NEW "/dev/pts", 0755)) < 0 || (r = mkdir_p(NEW "/dev/shm", 01777)) < 0)
                return fail(r, err, errlen, "dev", "/dev/pts");
        if (mount("devpts", NEW "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC,
                  in_userns ? "newinstance,ptmxmode=0666,mode=620"
                            : "newinstance,ptmxmode=0666,mode=620,gid=5") < 0)
                return fail(NEG_ERRNO(), err, errlen, "dev", "/dev/pts");
        char sz[32], shm_opts[48];
        tmpfs_size_opt(sz, sizeof(sz), shm_size);
        snprintf(shm_opts, sizeof(shm_opts), "mode=1777%s", sz);
        if (mount("tmpfs", NEW "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, shm_opts) < 0)
                return fail(NEG_ERRNO(), err, errlen, "dev", "/dev/shm");
        return 0;
}

int mount_setup_root(const struct profile *p, uid_t uid, gid_t gid, bool in_userns, char *err,
                     size_t errlen)
{
        _cleanup_free_ struct mount_entry *plan = NULL;
        _cleanup_free_ int *src_fds = NULL;
        size_t n;
        int r;

        /* Nothing we do here may propagate back to the host. */
        if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
                return fail(NEG_ERRNO(), err, errlen, "make mounts private", NULL);

        /* The bind sources are opened first: /tmp is about to be covered by the new root. */
        if ((r = mount_plan(p, &plan, &n)) < 0)
                return fail(r, err, errlen, "mount plan", NULL);
        src_fds = malloc(sizeof(int) * (n ? n : 1));
        if (!src_fds)
                return fail(-ENOMEM, err, errlen, "mount plan", NULL);
        /* Root mode: opened with the agent's filesystem identity (its uid and gid, no
         * supplementary groups, as it will run), so that neither a profile nor a workspace
         * lends it root's reach through directories its user cannot search. A source that is
         * not there is skipped (-ENOENT); one that is there but out of the user's reach is an
         * error. */
        struct caps_fsid fsid = {};
        if (!in_userns && (r = caps_fsid_enter(uid, gid, &fsid)) < 0)
                return fail(r, err, errlen, "filesystem identity of the agent", NULL);
        for (size_t i = 0; i < n; i++) {
                src_fds[i] = -ENOENT;
                if (plan[i].kind != MOUNT_READ_ONLY && plan[i].kind != MOUNT_READ_WRITE)
                        continue;
                src_fds[i] = open(plan[i].path, O_PATH | O_NOFOLLOW | O_CLOEXEC);
                if (src_fds[i] < 0)
                        src_fds[i] = errno == ENOTDIR ? -ENOENT : NEG_ERRNO();
        }
        caps_fsid_leave(&fsid);

        if (mount("tmpfs", NEW, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755") < 0) {
                r = fail(NEG_ERRNO(), err, errlen, "tmpfs", "(root)");
                goto out;
        }
        for (size_t i = 0; i < n; i++) {
                switch (plan[i].kind) {
                case MOUNT_READ_ONLY:
                case MOUNT_READ_WRITE:
                        r = do_bind(plan[i].path, src_fds[i], plan[i].kind == MOUNT_READ_ONLY,
                                    err, errlen);
                        break;
                case MOUNT_TMPFS:
                        r = do_tmpfs(plan[i].path, uid, gid, p->memory_max, err, errlen);
                        break;
                case MOUNT_HIDE:
                        r = do_hide(plan[i].path, err, errlen);
                        break;
                }
                if (r < 0)
                        goto out;
        }
        r = 0;
out:
        for (size_t i = 0; i < n; i++)
                safe_close(src_fds[i]);
        if (r < 0)
                return r;

        if ((r = mkdir_p(NEW "/proc", 0555)) < 0)
                return fail(r, err, errlen, "proc", "/proc");
        if (mount("proc", NEW "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
                return fail(NEG_ERRNO(), err, errlen, "proc", "/proc");
        if ((r = setup_dev(in_userns, p->memory_max, err, errlen)) < 0)
                return r;

        /* The root tmpfs itself: read-only (mount points are made, nothing else goes there). */
        r = set_attrs(NEW, false, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV);
        if (r < 0)
                return fail(r, err, errlen, "read-only root", NULL);
        return 0;
}

int mount_pivot(char *err, size_t errlen)
{
        /* Make the new root (on /tmp) the root with the pivot_root(".", ".") idiom, which leaves
         * the old root (our copy of the host's tree) stacked on it; one lazy umount detaches it
         * with all its submounts. (It waits for an RCU grace period; doing that in a thread
         * while init went on measured no faster over 600 paired launches.) */
        if (chdir(NEW) < 0)
                return fail(NEG_ERRNO(), err, errlen, "chdir", NEW);
        if (syscall(SYS_pivot_root, ".", ".") < 0)
                return fail(NEG_ERRNO(), err, errlen, "pivot_root", NULL);
        if (umount2(".", MNT_DETACH) < 0)
                return fail(NEG_ERRNO(), err, errlen, "detach old root", NULL);
        if (chdir("/") < 0)
                return fail(NEG_ERRNO(), err, errlen, "chdir", "/");
        return 0;
}
