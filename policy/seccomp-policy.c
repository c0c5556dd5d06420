/* The sandbox's seccomp policy: allowlist, notified deny set, argument filters for
 * socket/socketpair/ioctl/clone/unshare/personality/seccomp, native ABI only; as a table, and
 * compiled by libseccomp (the reference; policy/seccomp-bpf.c compiles the same table directly).
 * Trust level: runs in the supervisor before fork; input is a validated profile. */
#include "policy/seccomp-policy.h"

#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/netlink.h>
#include <netinet/in.h>

#include "common/macro.h"
#include "policy/seccomp-internal.h"


/* What normal programs (node, python3, git, gcc, make, bash, coreutils) need. */
static const char *const allow_list[] = {
        /* files and descriptors */
        "read", "write", "open", "openat", "openat2", "close", "close_range", "creat", "stat",
        "fstat", "lstat", "newfstatat", "statx", "statfs", "fstatfs", "lseek", "pread64",
        "pwrite64", "readv", "writev", "preadv", "pwritev", "preadv2", "pwritev2", "access",
        "faccessat", "faccessat2", "pipe", "pipe2", "dup", "dup2", "dup3", "fcntl", "flock",
        "fsync", "fdatasync", "sync", "syncfs", "sync_file_range", "truncate", "ftruncate",
        "fallocate", "fadvise64", "readahead", "getdents", "getdents64", "getcwd", "chdir",
        "fchdir", "rename", "renameat", "renameat2", "mkdir", "mkdirat", "rmdir", "link", "linkat",
        "unlink", "unlinkat", "symlink", "symlinkat", "readlink", "readlinkat", "chmod", "fchmod",
        "fchmodat", "fchmodat2", "chown", "fchown", "lchown", "fchownat", "umask", "utime",
        "utimes", "utimensat", "futimesat", "mknod", "mknodat", "sendfile", "splice", "tee",
        "vmsplice", "copy_file_range", "setxattr", "lsetxattr", "fsetxattr", "getxattr",
        "lgetxattr", "fgetxattr", "listxattr", "llistxattr", "flistxattr", "removexattr",
        "lremovexattr", "fremovexattr", "memfd_create", "inotify_init", "inotify_init1",
        "inotify_add_watch", "inotify_rm_watch", "cachestat",
        /* polling, events, timers */
        "poll", "ppoll", "select", "pselect6", "epoll_create", "epoll_create1", "epoll_ctl",
        "epoll_wait", "epoll_pwait", "epoll_pwait2", "eventfd", "eventfd2", "signalfd",
        "signalfd4", "timerfd_create", "timerfd_settime", "timerfd_gettime", "io_setup",
        "io_destroy", "io_getevents", "io_pgetevents", "io_submit", "io_cancel",
        /* memory */
        "brk", "mmap", "mprotect", "munmap", "mremap", "msync", "mincore", "madvise", "mlock",
        "mlock2", "munlock", "mlockall", "munlockall", "pkey_mprotect", "pkey_alloc", "pkey_free",
        "membarrier", "map_shadow_stack",
        /* processes, threads, signals */
        "fork", "vfork", "execve", "execveat", "exit", "exit_group", "wait4", "waitid", "kill",
        "tkill", "tgkill", "pidfd_open", "pidfd_send_signal", "rt_sigaction", "rt_sigprocmask",
        "rt_sigreturn", "rt_sigpending", "rt_sigtimedwait", "rt_sigqueueinfo",
        "rt_tgsigqueueinfo", "rt_sigsuspend", "sigaltstack", "pause", "restart_syscall",
        "set_tid_address", "set_robust_list", "get_robust_list", "futex", "futex_waitv",
        "futex_wake", "rseq", "arch_prctl", "prctl", "sched_yield", "sched_setparam",
        "sched_getparam", "sched_setscheduler", "sched_getscheduler", "sched_get_priority_max",
        "sched_get_priority_min", "sched_rr_get_interval", "sched_setaffinity",
        "sched_getaffinity", "sched_setattr", "sched_getattr", "getcpu", "getpriority",
        "setpriority", "ioprio_get", "ioprio_set", "getrlimit", "setrlimit", "prlimit64",
        "getrusage", "times",
        /* identity (no capabilities inside: these change nothing that matters) */
        "getpid", "getppid", "gettid", "getuid", "geteuid", "getgid", "getegid", "getresuid",
        "getresgid", "getgroups", "setuid", "setgid", "setreuid", "setregid", "setresuid",
        "setresgid", "setgroups", "setfsuid", "setfsgid", "getpgid", "setpgid", "getpgrp",
        "getsid", "setsid", "capget", "capset",
        /* time */
        "nanosleep", "clock_nanosleep", "clock_gettime", "clock_getres", "gettimeofday", "time",
        "alarm", "getitimer", "setitimer", "timer_create", "timer_settime", "timer_gettime",
        "timer_getoverrun", "timer_delete",
        /* system information */
        "uname", "sysinfo", "getrandom",
        /* SysV IPC (private ipc namespace) */
        "shmget", "shmat", "shmdt", "shmctl", "semget", "semop", "semtimedop", "semctl", "msgget",
        "msgsnd", "msgrcv", "msgctl",
        /* sockets (socket() and socketpair() are argument-filtered below) */
        "connect", "accept", "accept4", "bind", "listen", "shutdown", "getsockname",
        "getpeername", "setsockopt", "getsockopt", "sendto", "recvfrom", "sendmsg", "recvmsg",
        "sendmmsg", "recvmmsg",
        /* Landlock only ever restricts the caller further */
        "landlock_create_ruleset", "landlock_add_rule", "landlock_restrict_self",
};

/* Syscalls newer than this libseccomp's table, by their x86_64 number. */
static const struct {
        const char *name;
        int nr;
} allow_raw[] = {
        { "futex_wait", 455 },
        { "futex_requeue", 456 },
        { "mseal", 462 },
};

/* Denied and reported (reference/sandbox-threats.md section 9). */
struct deny_item {
        const char *name;
        bool liftable; /* profile seccomp.allow may lift it */
};
static const struct deny_item deny_list[] = {
        /* namespaces and VFS changes */
        { "setns" }, { "mount" }, { "umount2" }, { "pivot_root" }, { "chroot" },
        { "open_tree" }, { "move_mount" }, { "fsopen" }, { "fsconfig" }, { "fsmount" },
        { "fspick" }, { "mount_setattr" },
        /* io_uring bypasses socket()/connect() filters */
        { "io_uring_setup" }, { "io_uring_enter" }, { "io_uring_register" },
        /* keyrings, exploit primitives */
        { "keyctl" }, { "add_key" }, { "request_key" }, { "bpf" }, { "userfaultfd" },
        /* privileged kernel operations */
        { "kexec_load" }, { "kexec_file_load" }, { "init_module" }, { "finit_module" },
        { "delete_module" }, { "reboot" }, { "swapon" }, { "swapoff" }, { "syslog" },
        { "acct" }, { "quotactl" }, { "quotactl_fd" }, { "iopl" }, { "ioperm" },
        { "settimeofday" }, { "clock_settime" }, { "clock_adjtime" }, { "adjtimex" },
        { "sethostname" }, { "setdomainname" }, { "vhangup" },
        /* legacy / information leaks */
        { "modify_ldt" }, { "uselib" }, { "lookup_dcookie" }, { "nfsservctl" },
        /* "Shocker" */
        { "name_to_handle_at" }, { "open_by_handle_at" },
        /* other processes' memory: debugging may lift these */
        { "ptrace", true }, { "process_vm_readv", true }, { "process_vm_writev", true },
        { "pidfd_getfd", true }, { "kcmp", true }, { "perf_event_open", true },
        /* NUMA/VM surface */
        { "move_pages", true }, { "mbind", true }, { "migrate_pages", true },
        { "set_mempolicy", true }, { "get_mempolicy", true }, { "set_mempolicy_home_node", true },
};

/* Argument-filtered syscalls: a profile may deny them outright, never lift them. */
static const char *const filtered_list[] = {
        "socket", "socketpair", "ioctl", "clone", "clone3", "unshare", "personality", "seccomp",
};

static bool strv_has(const struct strv *v, const char *name)
{
        if (!v || !v->items)
                return false;
        for (size_t i = 0; i < v->n; i++)
                if (v->items[i] && strcmp(v->items[i], name) == 0)
                        return true;
        return false;
}

static bool in_list(const char *const *list, size_t n, const char *name)
{
        for (size_t i = 0; i < n; i++)
                if (strcmp(list[i], name) == 0)
                        return true;
        return false;
}

static const struct deny_item *deny_item_find(const char *name)
{
        for (size_t i = 0; i < ELEMENTSOF(deny_list); i++)
                if (strcmp(deny_list[i].name, name) == 0)
                        return &deny_list[i];
        return NULL;
}

static bool allowed_by_default(const char *name)
{
        if (in_list(allow_list, ELEMENTSOF(allow_list), name))
                return true;
        for (size_t i = 0; i < ELEMENTSOF(allow_raw); i++)
                if (strcmp(allow_raw[i].name, name) == 0)
                        return true;
        return false;
}

int seccomp_policy_allow_liftable(const char *name)
{
        if (!name)
                return -EINVAL;
        bool raw = false;
        for (size_t i = 0; i < ELEMENTSOF(allow_raw); i++)
                raw = raw || strcmp(allow_raw[i].name, name) == 0;
        if (!raw && seccomp_syscall_resolve_name(name) == __NR_SCMP_ERROR)
                return -EINVAL;
        if (allowed_by_default(name) || strcmp(name, "personality") == 0)
                return 1;
        const struct deny_item *d = deny_item_find(name);
        return d && d->liftable ? 1 : 0;
}

/* libseccomp returns -errno; a few come back as -ECANCELED etc. Keep them as they are. */
static int rule(scmp_filter_ctx ctx, uint32_t action, int nr, unsigned n,
                const struct scmp_arg_cmp *cmps)
{
        int r = seccomp_rule_add_exact_array(ctx, action, nr, n, cmps);
        return r < 0 ? r : 0;
}

/* Rules (action) matching every value v of argument `arg` with (v & mask) not in excl[]:
 * the exact complement of a small set, as a union of masked equalities, split bit by bit.
 * `pre` (n_pre comparisons on other arguments) is ANDed into each rule. libseccomp cannot
 * express "else" next to an unconditional rule of another action, and allows one comparison
 * per argument and rule, hence this. */
static int rules_complement(scmp_filter_ctx ctx, uint32_t action, int nr, unsigned arg,
                            uint64_t mask, uint64_t fixed_mask, uint64_t fixed_val,
                            const uint64_t *excl, size_t n_excl, const struct scmp_arg_cmp *pre,
                            unsigned n_pre)
{
        /* excl holds the values that agree with fixed_val on fixed_mask */
        struct scmp_arg_cmp cmps[6];
        if (n_pre > 5)
                return -EINVAL;
        if (n_pre > 0)
                memcpy(cmps, pre, n_pre * sizeof(*pre));

        if (n_excl == 0) {
                cmps[n_pre] = (struct scmp_arg_cmp){ .arg = arg, .op = SCMP_CMP_MASKED_EQ,
                                                     .datum_a = fixed_mask,
                                                     .datum_b = fixed_val };
                return rule(ctx, action, nr, n_pre + 1, cmps);
        }
        uint64_t rest = mask & ~fixed_mask;
        if (rest == 0)
                return 0; /* fully fixed and equal to an excluded value */
        uint64_t bit = rest & -rest;

        uint64_t sub[16] = { 0 };
        for (int b = 0; b <= 1; b++) {
                size_t n_sub = 0;
                for (size_t i = 0; i < n_excl; i++)
                        if (!!(excl[i] & bit) == b)
                                sub[n_sub++] = excl[i];
                int r = rules_complement(ctx, action, nr, arg, mask, fixed_mask | bit,
                                         fixed_val | (b ? bit : 0), sub, n_sub, pre, n_pre);
                if (r < 0)
                        return r;
        }
        return 0;
}

#define A(i, o, a, b) ((struct scmp_arg_cmp){ .arg = (i), .op = (o), .datum_a = (a), .datum_b = (b) })
#define A_EQ32(i, v) A(i, SCMP_CMP_MASKED_EQ, LO32, (uint64_t)(uint32_t)(v))

static int rules_socket(scmp_filter_ctx ctx, uint32_t notify)
{
        int nr = SCMP_SYS(socket), r;
        static const uint64_t families[] = { AF_UNIX, AF_INET, AF_INET6, AF_NETLINK };

        /* AF_UNIX: any type (pathname sockets are the mount namespace's and Landlock's job) */
        r = rule(ctx, SCMP_ACT_ALLOW, nr, 1, (struct scmp_arg_cmp[]){ A_EQ32(0, AF_UNIX) });
        if (r < 0)
                return r;

        /* AF_INET/AF_INET6: TCP and UDP only; raw, packet and ICMP (ping) sockets reported */
        static const int inet[] = { AF_INET, AF_INET6 };
        for (size_t i = 0; i < ELEMENTSOF(inet); i++) {
                static const struct {
                        int type, proto;
                } ok[] = {
                        { SOCK_STREAM, 0 }, { SOCK_STREAM, IPPROTO_TCP },
                        { SOCK_DGRAM, 0 },  { SOCK_DGRAM, IPPROTO_UDP },
                };
                for (size_t j = 0; j < ELEMENTSOF(ok); j++) {
                        r = rule(ctx, SCMP_ACT_ALLOW, nr, 3,
                                 (struct scmp_arg_cmp[]){
                                         A_EQ32(0, inet[i]),
                                         A(1, SCMP_CMP_MASKED_EQ, SOCK_TYPE_MASK_, ok[j].type),
                                         A_EQ32(2, ok[j].proto) });
                        if (r < 0)
                                return r;
                }
                static const int bad_types[] = { SOCK_RAW, SOCK_PACKET };
                for (size_t j = 0; j < ELEMENTSOF(bad_types); j++) {
                        r = rule(ctx, notify, nr, 2,
                                 (struct scmp_arg_cmp[]){
                                         A_EQ32(0, inet[i]),
                                         A(1, SCMP_CMP_MASKED_EQ, SOCK_TYPE_MASK_,
                                           bad_types[j]) });
                        if (r < 0)
                                return r;
                }
                static const int icmp[] = { IPPROTO_ICMP, IPPROTO_ICMPV6 };
                for (size_t j = 0; j < ELEMENTSOF(icmp); j++) {
                        r = rule(ctx, notify, nr, 3,
                                 (struct scmp_arg_cmp[]){
                                         A_EQ32(0, inet[i]),
                                         A(1, SCMP_CMP_MASKED_EQ, SOCK_TYPE_MASK_, SOCK_DGRAM),
                                         A_EQ32(2, icmp[j]) });
                        if (r < 0)
                                return r;
                }
        }

        /* AF_NETLINK: route only (getaddrinfo, ip addr); every other protocol reported */
        r = rule(ctx, SCMP_ACT_ALLOW, nr, 2,
                 (struct scmp_arg_cmp[]){ A_EQ32(0, AF_NETLINK), A_EQ32(2, NETLINK_ROUTE) });
        if (r < 0)
                return r;
        r = rules_complement(ctx, notify, nr, 2, LO32, 0, 0, (uint64_t[]){ NETLINK_ROUTE }, 1,
                             (struct scmp_arg_cmp[]){ A_EQ32(0, AF_NETLINK) }, 1);
        if (r < 0)
                return r;

        /* every other family (AF_PACKET, AF_VSOCK, AF_ALG, AF_BLUETOOTH, ...) reported */
        return rules_complement(ctx, notify, nr, 0, LO32, 0, 0, families, ELEMENTSOF(families),
                                NULL, 0);
}

static int rules_socketpair(scmp_filter_ctx ctx, uint32_t notify)
{
        int nr = SCMP_SYS(socketpair), r;
        static const int ok[] = { SOCK_STREAM, SOCK_SEQPACKET };
        for (size_t i = 0; i < ELEMENTSOF(ok); i++) {
                r = rule(ctx, SCMP_ACT_ALLOW, nr, 2,
                         (struct scmp_arg_cmp[]){
                                 A_EQ32(0, AF_UNIX),
                                 A(1, SCMP_CMP_MASKED_EQ, SOCK_TYPE_MASK_, ok[i]) });
                if (r < 0)
                        return r;
        }
        /* a DGRAM end can sendto() pathname sockets */
        r = rule(ctx, notify, nr, 2,
                 (struct scmp_arg_cmp[]){ A_EQ32(0, AF_UNIX),
                                          A(1, SCMP_CMP_MASKED_EQ, SOCK_TYPE_MASK_,
                                            SOCK_DGRAM) });
        if (r < 0)
                return r;
        return rules_complement(ctx, notify, nr, 0, LO32, 0, 0, (uint64_t[]){ AF_UNIX }, 1, NULL,
                                0);
}

static int rules_ioctl(scmp_filter_ctx ctx, uint32_t notify)
{
        /* The kernel reads cmd as a 32-bit value: compare the low 32 bits only, so
         * TIOCSTI | 0x100000000 is caught too (CVE-2019-10063). */
        static const uint64_t bad[] = { TIOCSTI, TIOCLINUX };
        int nr = SCMP_SYS(ioctl), r;
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                r = rule(ctx, notify, nr, 1, (struct scmp_arg_cmp[]){ A_EQ32(1, bad[i]) });
                if (r < 0)
                        return r;
        }
        return rules_complement(ctx, SCMP_ACT_ALLOW, nr, 1, LO32, 0, 0, bad, ELEMENTSOF(bad),
                                NULL, 0);
}

/* allow when no flag of `flags` is set in argument 0, report each one that is */
static int rules_ns_flags(scmp_filter_ctx ctx, uint32_t notify, int nr, uint64_t flags)
{
        int r = rule(ctx, SCMP_ACT_ALLOW, nr, 1,
                     (struct scmp_arg_cmp[]){ A(0, SCMP_CMP_MASKED_EQ, flags, 0) });
        if (r < 0)
                return r;
        for (uint64_t bit = 1; bit && bit <= flags; bit <<= 1) {
                if (!(flags & bit))
                        continue;
                r = rule(ctx, notify, nr, 1,
                         (struct scmp_arg_cmp[]){ A(0, SCMP_CMP_MASKED_EQ, bit, bit) });
                if (r < 0)
                        return r;
        }
        return 0;
}

static int rules_personality(scmp_filter_ctx ctx, uint32_t notify)
{
        /* PER_LINUX, and the 0xffffffff query; the kernel takes an unsigned int */
        static const uint64_t ok[] = { 0, 0xffffffff };
        int nr = SCMP_SYS(personality), r;
        for (size_t i = 0; i < ELEMENTSOF(ok); i++) {
                r = rule(ctx, SCMP_ACT_ALLOW, nr, 1, (struct scmp_arg_cmp[]){ A_EQ32(0, ok[i]) });
                if (r < 0)
                        return r;
        }
        return rules_complement(ctx, notify, nr, 0, LO32, 0, 0, ok, ELEMENTSOF(ok), NULL, 0);
}

/* seccomp(): the agent may stack filters of its own (browsers and language runtimes do), but not
 * one with SECCOMP_FILTER_FLAG_NEW_LISTENER. Every denial here is a USER_NOTIF, and a later
 * filter's USER_NOTIF takes precedence over ours: were the supervisor's listener ever gone (the
 * kernel then allows a new one), the agent's own listener could answer CONTINUE to mount or
 * bpf. prctl(PR_SET_SECCOMP) takes no flags. */
static int rules_seccomp(scmp_filter_ctx ctx, uint32_t notify)
{
        const uint64_t nl = SECCOMP_FILTER_FLAG_NEW_LISTENER;
        int nr = SCMP_SYS(seccomp);
        int r = rules_complement(ctx, SCMP_ACT_ALLOW, nr, 0, LO32, 0, 0,
                                 (uint64_t[]){ SECCOMP_SET_MODE_FILTER }, 1, NULL, 0);
        if (r < 0)
                return r;
        r = rule(ctx, SCMP_ACT_ALLOW, nr, 2,
                 (struct scmp_arg_cmp[]){ A_EQ32(0, SECCOMP_SET_MODE_FILTER),
                                          A(1, SCMP_CMP_MASKED_EQ, nl, 0) });
        if (r < 0)
                return r;
        return rule(ctx, notify, nr, 2,
                    (struct scmp_arg_cmp[]){ A_EQ32(0, SECCOMP_SET_MODE_FILTER),
                                             A(1, SCMP_CMP_MASKED_EQ, nl, nl) });
}

/* ---- the policy as a table (policy/seccomp-internal.h), shared by both compilers ---- */


static int set_nr(struct policy_table *t, int nr, uint8_t e)
{
        if (nr < 0)
                return 0; /* not on this architecture (e.g. vm86 on x86_64) */
        if (nr >= POLICY_NR_MAX)
                return -ERANGE;
        t->e[nr] = e;
        return 0;
}

static int set_name(struct policy_table *t, const char *name, uint8_t e)
{
        int nr = seccomp_syscall_resolve_name(name);
        if (nr == __NR_SCMP_ERROR)
                return -EINVAL;
        return set_nr(t, nr, e);
}

int seccomp_policy_table_build(const struct profile *p, struct policy_table *t)
{
        const struct strv *deny = p ? &p->seccomp_deny : NULL;
        const struct strv *allow = p ? &p->seccomp_allow : NULL;
        int r;

        /* Validate the profile's lists first. */
        for (size_t i = 0; deny && i < deny->n; i++)
                if (seccomp_syscall_resolve_name(deny->items[i]) == __NR_SCMP_ERROR)
                        return -EINVAL;
        for (size_t i = 0; allow && i < allow->n; i++) {
                r = seccomp_policy_allow_liftable(allow->items[i]);
                if (r < 0)
                        return r;
                if (r == 0)
                        return -EPERM;
        }

        memset(t, 0, sizeof(*t));
        for (size_t i = 0; i < ELEMENTSOF(allow_list); i++) {
                const char *name = allow_list[i];
                r = set_name(t, name, strv_has(deny, name) ? E_NOTIFY : E_ALLOW);
                if (r < 0 && r != -EINVAL) /* not known to this libseccomp: stays ENOSYS */
                        return r;
        }
        for (size_t i = 0; i < ELEMENTSOF(allow_raw); i++) {
                uint8_t e = strv_has(deny, allow_raw[i].name) ? E_NOTIFY : E_ALLOW;
                r = seccomp_syscall_resolve_name(allow_raw[i].name) != __NR_SCMP_ERROR ?
                            set_name(t, allow_raw[i].name, e) :
                            set_nr(t, allow_raw[i].nr, e);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < ELEMENTSOF(deny_list); i++) {
                const char *name = deny_list[i].name;
                bool lift = deny_list[i].liftable && strv_has(allow, name) && !strv_has(deny, name);
                r = set_name(t, name, lift ? E_ALLOW : E_NOTIFY);
                if (r < 0 && r != -EINVAL)
                        return r;
        }

        /* Argument-filtered syscalls, unless the profile denies them outright. */
        static const struct {
                const char *name;
                uint8_t e;
        } filtered[] = {
                { "socket", E_SOCKET },   { "socketpair", E_SOCKETPAIR },
                { "ioctl", E_IOCTL },     { "personality", E_PERSONALITY },
                { "clone", E_CLONE },     { "unshare", E_UNSHARE },
                { "seccomp", E_SECCOMP },
        };
        for (size_t i = 0; i < ELEMENTSOF(filtered); i++) {
                uint8_t e = filtered[i].e;
                if (strv_has(deny, filtered[i].name))
                        e = E_NOTIFY;
                else if (e == E_PERSONALITY && strv_has(allow, "personality"))
                        e = E_ALLOW;
                r = set_name(t, filtered[i].name, e);
                if (r < 0)
                        return r;
        }
        /* clone3 passes its flags in memory seccomp cannot read: ENOSYS, and glibc falls back
         * to clone. A profile cannot lift it; a deny entry makes it reported. */
        if (strv_has(deny, "clone3") && (r = set_name(t, "clone3", E_NOTIFY)) < 0)
                return r;

        /* Deny entries for syscalls in none of the lists above. */
        for (size_t i = 0; deny && i < deny->n; i++) {
                const char *name = deny->items[i];
                if (allowed_by_default(name) || deny_item_find(name) ||
                    in_list(filtered_list, ELEMENTSOF(filtered_list), name))
                        continue;
                r = set_name(t, name, E_NOTIFY);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* ---- compiler 1: libseccomp (the reference; tests compare compiler 2 against it) ---- */

int seccomp_policy_build(const struct profile *p, scmp_filter_ctx *ret)
{
        const uint32_t notify = SCMP_ACT_NOTIFY;
        struct policy_table t;
        int r;

        if (!ret)
                return -EINVAL;
        r = seccomp_policy_table_build(p, &t);
        if (r < 0)
                return r;

        scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ERRNO(ENOSYS));
        if (!ctx)
                return -ENOMEM;

        /* Non-native ABIs are killed: x86_64 only (libseccomp also sends x32 numbers, which
         * carry __X32_SYSCALL_BIT, to the bad-arch action when x32 is not in the filter). */
        r = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
        if (r < 0)
                goto fail;
        r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 1);
        if (r < 0)
                goto fail;
        /* a binary tree over syscall numbers instead of a linear scan of ~300 entries */
        r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
        if (r < 0)
                goto fail;

        for (int nr = 0; nr < POLICY_NR_MAX; nr++) {
                switch (t.e[nr]) {
                case E_DEFAULT:
                        r = 0; /* libseccomp refuses a rule equal to the default action */
                        break;
                case E_ALLOW:
                        r = rule(ctx, SCMP_ACT_ALLOW, nr, 0, NULL);
                        break;
                case E_NOTIFY:
                        r = rule(ctx, notify, nr, 0, NULL);
                        break;
                case E_SOCKET:
                        r = rules_socket(ctx, notify);
                        break;
                case E_SOCKETPAIR:
                        r = rules_socketpair(ctx, notify);
                        break;
                case E_IOCTL:
                        r = rules_ioctl(ctx, notify);
                        break;
                case E_PERSONALITY:
                        r = rules_personality(ctx, notify);
                        break;
                case E_CLONE:
                        r = rules_ns_flags(ctx, notify, nr, CLONE_NS_FLAGS);
                        break;
                case E_UNSHARE:
                        r = rules_ns_flags(ctx, notify, nr, UNSHARE_NS_FLAGS);
                        break;
                case E_SECCOMP:
                        r = rules_seccomp(ctx, notify);
                        break;
                default:
                        r = -EINVAL;
                }
                if (r < 0)
                        goto fail;
        }
        *ret = ctx;
        return 0;
fail:
        seccomp_release(ctx);
        return r;
}

int seccomp_policy_export_bpf(scmp_filter_ctx ctx, void **ret, size_t *ret_n)
{
        if (!ctx || !ret || !ret_n)
                return -EINVAL;
        _cleanup_close_ int fd = memfd_create("qclaw-seccomp-bpf", MFD_CLOEXEC);
        if (fd < 0)
                return NEG_ERRNO();
        int r = seccomp_export_bpf(ctx, fd);
        if (r < 0)
                return r;
        off_t size = lseek(fd, 0, SEEK_END);
        if (size < 0)
                return NEG_ERRNO();
        if (size == 0 || size % sizeof(struct sock_filter) != 0 ||
            size > (off_t)(BPF_MAXINSNS * sizeof(struct sock_filter)))
                return -E2BIG;
        _cleanup_free_ void *buf = malloc(size);
        if (!buf)
                return -ENOMEM;
        ssize_t n = pread(fd, buf, size, 0);
        if (n < 0)
                return NEG_ERRNO();
        if (n != size)
                return -EIO;
        *ret = TAKE_PTR(buf);
        *ret_n = (size_t)size / sizeof(struct sock_filter);
        return 0;
}

const char *seccomp_verdict_to_string(enum seccomp_verdict v)
{
        switch (v) {
        case SECCOMP_VERDICT_ALLOW:
                return "allow";
        case SECCOMP_VERDICT_ENOSYS:
                return "enosys";
        case SECCOMP_VERDICT_EPERM:
                return "eperm";
        case SECCOMP_VERDICT_NOTIFY:
                return "notify";
        case SECCOMP_VERDICT_KILL:
                return "kill";
        default:
                return "other";
        }
}

enum seccomp_verdict seccomp_verdict_from_ret(uint32_t ret)
{
        switch (ret & SECCOMP_RET_ACTION_FULL) {
        case SECCOMP_RET_ALLOW:
                return SECCOMP_VERDICT_ALLOW;
        case SECCOMP_RET_USER_NOTIF:
                return SECCOMP_VERDICT_NOTIFY;
        case SECCOMP_RET_KILL_PROCESS:
                return SECCOMP_VERDICT_KILL;
        case SECCOMP_RET_ERRNO:
                switch (ret & SECCOMP_RET_DATA) {
                case ENOSYS:
                        return SECCOMP_VERDICT_ENOSYS;
                case EPERM:
                        return SECCOMP_VERDICT_EPERM;
                default:
                        return SECCOMP_VERDICT_OTHER;
                }
        default:
                return SECCOMP_VERDICT_OTHER;
        }
}
