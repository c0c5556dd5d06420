/* Landlock ruleset for the sandboxed child: filesystem per profile, TCP connect only to the proxy
 * port, bind only to published ports, abstract Unix sockets and signals scoped. Raw syscalls,
 * best effort across ABI versions. Trust level: runs in the child after pivot_root, unprivileged,
 * before exec of untrusted code; paths come from a validated profile. */
#include "supervisor/landlock.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/landlock.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/macro.h"

/* Constants newer than the installed linux/landlock.h (Debian 12 ships ABI 1 headers). */
#ifndef LANDLOCK_ACCESS_FS_REFER
#define LANDLOCK_ACCESS_FS_REFER (1ULL << 13)
#endif
#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE (1ULL << 14)
#endif
#ifndef LANDLOCK_ACCESS_FS_IOCTL_DEV
#define LANDLOCK_ACCESS_FS_IOCTL_DEV (1ULL << 15)
#endif
#define QL_ACCESS_NET_BIND_TCP (1ULL << 0)
#define QL_ACCESS_NET_CONNECT_TCP (1ULL << 1)
#define QL_RULE_NET_PORT 2
#define QL_SCOPE_ABSTRACT_UNIX_SOCKET (1ULL << 0)
#define QL_SCOPE_SIGNAL (1ULL << 1)
#ifndef LANDLOCK_CREATE_RULESET_VERSION
#define LANDLOCK_CREATE_RULESET_VERSION (1U << 0)
#endif

#ifndef __NR_landlock_create_ruleset
#define __NR_landlock_create_ruleset 444
#define __NR_landlock_add_rule 445
#define __NR_landlock_restrict_self 446
#endif

/* The ABI 6 layout; the size passed to the kernel follows the ABI in use. */
struct ql_ruleset_attr {
        uint64_t handled_access_fs;
        uint64_t handled_access_net; /* ABI >= 4 */
        uint64_t scoped;             /* ABI >= 6 */
};

struct ql_net_port_attr {
        uint64_t allowed_access;
        uint64_t port;
};

#define FS_READ (LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR)
#define FS_RX (FS_READ | LANDLOCK_ACCESS_FS_EXECUTE)
#define FS_DEV                                                                                     \
        (LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_WRITE_FILE |                            \
         LANDLOCK_ACCESS_FS_TRUNCATE | LANDLOCK_ACCESS_FS_IOCTL_DEV)
/* Rights that make sense on a non-directory. */
#define FS_FILE_RIGHTS                                                                             \
        (LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_WRITE_FILE |                              \
         LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_TRUNCATE |                              \
         LANDLOCK_ACCESS_FS_IOCTL_DEV)

static uint64_t fs_rights_for_abi(int abi)
{
        uint64_t all = (LANDLOCK_ACCESS_FS_MAKE_SYM << 1) - 1; /* ABI 1: bits 0..12 */
        if (abi >= 2)
                all |= LANDLOCK_ACCESS_FS_REFER;
        if (abi >= 3)
                all |= LANDLOCK_ACCESS_FS_TRUNCATE;
        if (abi >= 5)
                all |= LANDLOCK_ACCESS_FS_IOCTL_DEV;
        return all;
}

int landlock_abi_version(void)
{
        long v = syscall(__NR_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
        if (v < 0)
                return errno == ENOSYS || errno == EOPNOTSUPP ? -EOPNOTSUPP : NEG_ERRNO();
        return (int)v;
}

/* Allow `rights` (within `handled`) beneath path. A missing path is skipped. */
static int add_path(int ruleset_fd, const char *path, uint64_t rights, uint64_t handled)
{
        _cleanup_close_ int fd = open(path, O_PATH | O_CLOEXEC);
        if (fd < 0)
                return errno == ENOENT || errno == ENOTDIR ? 0 : NEG_ERRNO();
        struct stat st;
        if (fstat(fd, &st) < 0)
                return NEG_ERRNO();
        rights &= handled;
        if (!S_ISDIR(st.st_mode))
                rights &= FS_FILE_RIGHTS;
        if (rights == 0)
                return 0;
        struct landlock_path_beneath_attr attr = {
                .allowed_access = rights,
                .parent_fd = fd,
        };
        if (syscall(__NR_landlock_add_rule, ruleset_fd, LANDLOCK_RULE_PATH_BENEATH, &attr, 0) < 0)
                return NEG_ERRNO();
        return 0;
}

static int add_paths(int ruleset_fd, const struct strv *v, uint64_t rights, uint64_t handled)
{
        for (size_t i = 0; v && v->items && i < v->n; i++) {
                int r = add_path(ruleset_fd, v->items[i], rights, handled);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int add_port(int ruleset_fd, uint64_t access, uint16_t port)
{
        struct ql_net_port_attr attr = { .allowed_access = access, .port = port };
        if (syscall(__NR_landlock_add_rule, ruleset_fd, QL_RULE_NET_PORT, &attr, 0) < 0)
                return NEG_ERRNO();
        return 0;
}

int landlock_prepare(const struct profile *p, const struct landlock_params *lp, int *ret_fd)
{
        int abi = landlock_abi_version();
        if (abi < 0)
                return abi;

        struct ql_ruleset_attr attr = { .handled_access_fs = fs_rights_for_abi(abi) };
        size_t attr_size = sizeof(uint64_t);
        if (abi >= 4) {
                attr.handled_access_net = QL_ACCESS_NET_BIND_TCP | QL_ACCESS_NET_CONNECT_TCP;
                attr_size = 2 * sizeof(uint64_t);
        }
        if (abi >= 6) {
                attr.scoped = QL_SCOPE_ABSTRACT_UNIX_SOCKET | QL_SCOPE_SIGNAL;
                attr_size = sizeof(attr);
        }
        const uint64_t all = attr.handled_access_fs;

        _cleanup_close_ int fd = (int)syscall(__NR_landlock_create_ruleset, &attr, attr_size, 0);
        if (fd < 0)
                return errno == ENOSYS || errno == EOPNOTSUPP ? -EOPNOTSUPP : NEG_ERRNO();

        int r;
        if (p) {
                r = add_paths(fd, &p->fs_read_only, FS_RX, all);
                if (r < 0)
                        return r;
                r = add_paths(fd, &p->fs_read_write, all, all);
                if (r < 0)
                        return r;
                r = add_paths(fd, &p->fs_tmpfs, all, all);
                if (r < 0)
                        return r;
        }

        /* What every program needs from /proc and /dev. */
        static const struct {
                const char *path;
                uint64_t rights;
        } base[] = {
                /* names only, beneath the sandbox's own root: the mount namespace decides
                 * what exists; `ls /`, find and shells' globbing need it */
                { "/", LANDLOCK_ACCESS_FS_READ_DIR },
                { "/proc", FS_READ },
                { "/dev", LANDLOCK_ACCESS_FS_READ_DIR },
                { "/dev/null", FS_DEV },
                { "/dev/zero", FS_DEV },
                { "/dev/full", FS_DEV },
                { "/dev/random", FS_DEV },
                { "/dev/urandom", FS_DEV },
                { "/dev/tty", FS_DEV },
                { "/dev/ptmx", FS_DEV },
                { "/dev/pts", FS_DEV | LANDLOCK_ACCESS_FS_READ_DIR },
                { "/dev/shm", ~0ULL },
        };
        for (size_t i = 0; i < ELEMENTSOF(base); i++) {
                r = add_path(fd, base[i].path, base[i].rights, all);
                if (r < 0)
                        return r;
        }

        if (abi >= 4 && lp) {
                if (lp->proxy_port != 0) {
                        r = add_port(fd, QL_ACCESS_NET_CONNECT_TCP, lp->proxy_port);
                        if (r < 0)
                                return r;
                }
                for (size_t i = 0; lp->bind_ports && i < lp->n_bind_ports; i++) {
                        r = add_port(fd, QL_ACCESS_NET_BIND_TCP, lp->bind_ports[i]);
                        if (r < 0)
                                return r;
                }
        }

        *ret_fd = TAKE_FD(fd);
        return abi;
}

int landlock_restrict(int ruleset_fd)
{
        /* Landlock needs no_new_privs (or CAP_SYS_ADMIN) to restrict an unprivileged task. */
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                return NEG_ERRNO();
        if (syscall(__NR_landlock_restrict_self, ruleset_fd, 0) < 0)
                return NEG_ERRNO();
        return 0;
}

int landlock_apply(const struct profile *p, const struct landlock_params *lp)
{
        _cleanup_close_ int fd = -1;
        int abi = landlock_prepare(p, lp, &fd);

        if (abi < 0)
                return abi;
        int r = landlock_restrict(fd);
        return r < 0 ? r : abi;
}
