/* seccomp program as data: the compiled BPF run through a small classic-BPF interpreter over a
 * table of (arch, syscall, args) -> expected verdict; and live: a forked child loads the filter
 * and the parent answers its notifications with seccomp_notify_handle. */
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/netlink.h>
#include <netinet/in.h>

#include "common/macro.h"
#include "policy/seccomp-policy.h"
#include "supervisor/seccomp.h"
#include "tests/unit/tap.h"

#ifndef TIOCLINUX
#define TIOCLINUX 0x541C
#endif
#define X32_BIT 0x40000000

/* ---- a classic BPF interpreter for the seccomp subset ---- */

struct sdata {
        int32_t nr;
        uint32_t arch;
        uint64_t ip;
        uint64_t args[6];
};

/* Returns the SECCOMP_RET_* value, or 0xdeadbeef for a program the interpreter rejects. */
static uint32_t bpf_run(const struct sock_filter *prog, size_t n, const struct sdata *d)
{
        uint32_t A = 0, X = 0, M[BPF_MEMWORDS] = { 0 };
        const uint8_t *data = (const uint8_t *)d;
        for (size_t pc = 0, steps = 0; pc < n && steps < 100000; pc++, steps++) {
                const struct sock_filter *f = &prog[pc];
                uint32_t k = f->k;
                /* the second operand of ALU and JMP instructions: k, or X with BPF_X */
                uint32_t src = BPF_SRC(f->code) == BPF_X ? X : k;
                switch (f->code) {
                case BPF_LD | BPF_W | BPF_ABS:
                        if (k > sizeof(*d) - 4 || k % 4)
                                return 0xdeadbeef;
                        memcpy(&A, data + k, 4);
                        break;
                case BPF_LD | BPF_IMM:
                        A = k;
                        break;
                case BPF_LDX | BPF_IMM:
                        X = k;
                        break;
                case BPF_LD | BPF_MEM:
                        if (k >= BPF_MEMWORDS)
                                return 0xdeadbeef;
                        A = M[k];
                        break;
                case BPF_LDX | BPF_MEM:
                        if (k >= BPF_MEMWORDS)
                                return 0xdeadbeef;
                        X = M[k];
                        break;
                case BPF_ST:
                        if (k >= BPF_MEMWORDS)
                                return 0xdeadbeef;
                        M[k] = A;
                        break;
                case BPF_STX:
                        if (k >= BPF_MEMWORDS)
                                return 0xdeadbeef;
                        M[k] = X;
                        break;
                case BPF_ALU | BPF_AND | BPF_K:
                case BPF_ALU | BPF_AND | BPF_X:
                        A &= src;
                        break;
                case BPF_ALU | BPF_OR | BPF_K:
                case BPF_ALU | BPF_OR | BPF_X:
                        A |= src;
                        break;
                case BPF_ALU | BPF_ADD | BPF_K:
                        A += k;
                        break;
                case BPF_ALU | BPF_SUB | BPF_K:
                        A -= k;
                        break;
                case BPF_ALU | BPF_RSH | BPF_K:
                        A >>= k;
                        break;
                case BPF_ALU | BPF_LSH | BPF_K:
                        A <<= k;
                        break;
                case BPF_MISC | BPF_TAX:
                        X = A;
                        break;
                case BPF_MISC | BPF_TXA:
                        A = X;
                        break;
                case BPF_JMP | BPF_JA:
                        pc += k;
                        break;
                case BPF_JMP | BPF_JEQ | BPF_K:
                case BPF_JMP | BPF_JEQ | BPF_X:
                        pc += A == src ? f->jt : f->jf;
                        break;
                case BPF_JMP | BPF_JGT | BPF_K:
                case BPF_JMP | BPF_JGT | BPF_X:
                        pc += A > src ? f->jt : f->jf;
                        break;
                case BPF_JMP | BPF_JGE | BPF_K:
                case BPF_JMP | BPF_JGE | BPF_X:
                        pc += A >= src ? f->jt : f->jf;
                        break;
                case BPF_JMP | BPF_JSET | BPF_K:
                case BPF_JMP | BPF_JSET | BPF_X:
                        pc += (A & src) ? f->jt : f->jf;
                        break;
                case BPF_RET | BPF_K:
                        return k;
                case BPF_RET | BPF_A:
                        return A;
                default:
                        fprintf(stderr, "bpf: unsupported opcode 0x%x at %zu\n", f->code, pc);
                        return 0xdeadbeef;
                }
        }
        return 0xdeadbeef; /* fell off the end */
}

/* ---- the table ---- */

enum { V_ALLOW = SECCOMP_VERDICT_ALLOW, V_ENOSYS = SECCOMP_VERDICT_ENOSYS,
       V_NOTIFY = SECCOMP_VERDICT_NOTIFY, V_KILL = SECCOMP_VERDICT_KILL };

struct case_ {
        const char *label;
        uint32_t arch;
        int nr;
        uint64_t a0, a1, a2;
        int expect;
};

#define X86_64 AUDIT_ARCH_X86_64
#define I386 AUDIT_ARCH_I386
#define HI UINT64_C(0x100000000)

static const struct case_ cases[] = {
        { "read", X86_64, __NR_read, 0, 0, 0, V_ALLOW },
        { "getpid", X86_64, __NR_getpid, 0, 0, 0, V_ALLOW },
        { "execve", X86_64, __NR_execve, 0, 0, 0, V_ALLOW },
        { "openat", X86_64, __NR_openat, 0, 0, 0, V_ALLOW },
        { "mmap", X86_64, __NR_mmap, 0, 0, 0, V_ALLOW },
        { "landlock_restrict_self", X86_64, 446, 0, 0, 0, V_ALLOW },
        { "mseal (raw nr)", X86_64, 462, 0, 0, 0, V_ALLOW },
        { "unknown nr 999", X86_64, 999, 0, 0, 0, V_ENOSYS },
        { "kcmp not lifted", X86_64, __NR_kcmp, 0, 0, 0, V_NOTIFY },
        { "clone3 -> ENOSYS", X86_64, __NR_clone3, 0, 0, 0, V_ENOSYS },
        /* socket() */
        { "socket(AF_UNIX, STREAM)", X86_64, __NR_socket, AF_UNIX, SOCK_STREAM, 0, V_ALLOW },
        { "socket(AF_UNIX, DGRAM|CLOEXEC)", X86_64, __NR_socket, AF_UNIX,
          SOCK_DGRAM | SOCK_CLOEXEC, 0, V_ALLOW },
        { "socket(AF_INET, STREAM)", X86_64, __NR_socket, AF_INET, SOCK_STREAM, 0, V_ALLOW },
        { "socket(AF_INET, STREAM|NONBLOCK|CLOEXEC, TCP)", X86_64, __NR_socket, AF_INET,
          SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP, V_ALLOW },
        { "socket(AF_INET6, DGRAM, UDP)", X86_64, __NR_socket, AF_INET6, SOCK_DGRAM, IPPROTO_UDP,
          V_ALLOW },
        { "socket(AF_INET, RAW)", X86_64, __NR_socket, AF_INET, SOCK_RAW, IPPROTO_ICMP,
          V_NOTIFY },
        { "socket(AF_INET6, RAW|CLOEXEC)", X86_64, __NR_socket, AF_INET6,
          SOCK_RAW | SOCK_CLOEXEC, 0, V_NOTIFY },
        { "socket(AF_INET, PACKET)", X86_64, __NR_socket, AF_INET, SOCK_PACKET, 0, V_NOTIFY },
        { "socket(AF_INET, DGRAM, ICMP) ping", X86_64, __NR_socket, AF_INET, SOCK_DGRAM,
          IPPROTO_ICMP, V_NOTIFY },
        { "socket(AF_INET6, DGRAM, ICMPV6) ping", X86_64, __NR_socket, AF_INET6, SOCK_DGRAM,
          IPPROTO_ICMPV6, V_NOTIFY },
        { "socket(AF_INET, STREAM, UDP) nonsense", X86_64, __NR_socket, AF_INET, SOCK_STREAM,
          IPPROTO_UDP, V_ENOSYS },
        { "socket(AF_PACKET)", X86_64, __NR_socket, AF_PACKET, SOCK_RAW, 0, V_NOTIFY },
        { "socket(AF_VSOCK)", X86_64, __NR_socket, AF_VSOCK, SOCK_STREAM, 0, V_NOTIFY },
        { "socket(AF_ALG)", X86_64, __NR_socket, AF_ALG, SOCK_SEQPACKET, 0, V_NOTIFY },
        { "socket(AF_BLUETOOTH)", X86_64, __NR_socket, AF_BLUETOOTH, SOCK_RAW, 0, V_NOTIFY },
        { "socket(AF_UNSPEC)", X86_64, __NR_socket, AF_UNSPEC, SOCK_STREAM, 0, V_NOTIFY },
        { "socket(family 1000)", X86_64, __NR_socket, 1000, SOCK_STREAM, 0, V_NOTIFY },
        /* the kernel reads family as an int: high bits change nothing, so no reason to deny */
        { "socket(AF_INET|high bits)", X86_64, __NR_socket, HI | AF_INET, SOCK_STREAM, 0,
          V_ALLOW },
        { "socket(AF_PACKET|high bits)", X86_64, __NR_socket, HI | AF_PACKET, SOCK_RAW, 0,
          V_NOTIFY },
        { "socket(AF_NETLINK, ROUTE)", X86_64, __NR_socket, AF_NETLINK, SOCK_RAW, NETLINK_ROUTE,
          V_ALLOW },
        { "socket(AF_NETLINK, AUDIT)", X86_64, __NR_socket, AF_NETLINK, SOCK_RAW, NETLINK_AUDIT,
          V_NOTIFY },
        { "socket(AF_NETLINK, KOBJECT_UEVENT)", X86_64, __NR_socket, AF_NETLINK, SOCK_DGRAM,
          NETLINK_KOBJECT_UEVENT, V_NOTIFY },
        /* socketpair() */
        { "socketpair(AF_UNIX, STREAM)", X86_64, __NR_socketpair, AF_UNIX, SOCK_STREAM, 0,
          V_ALLOW },
        { "socketpair(AF_UNIX, SEQPACKET|CLOEXEC)", X86_64, __NR_socketpair, AF_UNIX,
          SOCK_SEQPACKET | SOCK_CLOEXEC, 0, V_ALLOW },
        { "socketpair(AF_UNIX, DGRAM)", X86_64, __NR_socketpair, AF_UNIX, SOCK_DGRAM, 0,
          V_NOTIFY },
        { "socketpair(AF_INET)", X86_64, __NR_socketpair, AF_INET, SOCK_STREAM, 0, V_NOTIFY },
        /* ioctl() */
        { "ioctl(TCGETS)", X86_64, __NR_ioctl, 0, 0x5401, 0, V_ALLOW },
        { "ioctl(FIONREAD)", X86_64, __NR_ioctl, 3, 0x541B, 0, V_ALLOW },
        { "ioctl(TIOCSWINSZ)", X86_64, __NR_ioctl, 0, 0x5414, 0, V_ALLOW },
        { "ioctl(0x5416)", X86_64, __NR_ioctl, 0, 0x5416, 0, V_ALLOW },
        { "ioctl(TIOCSTI)", X86_64, __NR_ioctl, 0, TIOCSTI, 0, V_NOTIFY },
        { "ioctl(TIOCSTI | 1<<32)", X86_64, __NR_ioctl, 0, HI | TIOCSTI, 0, V_NOTIFY },
        { "ioctl(TIOCSTI | 0xffffffff<<32)", X86_64, __NR_ioctl, 0,
          UINT64_C(0xffffffff00000000) | TIOCSTI, 0, V_NOTIFY },
        { "ioctl(TIOCLINUX)", X86_64, __NR_ioctl, 0, TIOCLINUX, 0, V_NOTIFY },
        { "ioctl(TIOCLINUX | 1<<32)", X86_64, __NR_ioctl, 0, HI | TIOCLINUX, 0, V_NOTIFY },
        { "ioctl(0x5412 | 1<<16)", X86_64, __NR_ioctl, 0, 0x15412, 0, V_ALLOW },
        /* clone/unshare/setns */
        { "clone(SIGCHLD)", X86_64, __NR_clone, SIGCHLD, 0, 0, V_ALLOW },
        { "clone(thread flags)", X86_64, __NR_clone,
          CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM |
                  CLONE_SETTLS | CLONE_PARENT_SETTID | CLONE_CHILD_CLEARTID,
          0, 0, V_ALLOW },
        { "clone(CLONE_NEWUSER)", X86_64, __NR_clone, CLONE_NEWUSER | SIGCHLD, 0, 0, V_NOTIFY },
        { "clone(CLONE_NEWNS)", X86_64, __NR_clone, CLONE_NEWNS, 0, 0, V_NOTIFY },
        { "clone(CLONE_NEWNET|NEWPID)", X86_64, __NR_clone, CLONE_NEWNET | CLONE_NEWPID, 0, 0,
          V_NOTIFY },
        { "clone(CLONE_NEWCGROUP)", X86_64, __NR_clone, CLONE_NEWCGROUP, 0, 0, V_NOTIFY },
        { "unshare(CLONE_NEWUSER)", X86_64, __NR_unshare, CLONE_NEWUSER, 0, 0, V_NOTIFY },
        { "unshare(CLONE_NEWTIME)", X86_64, __NR_unshare, 0x80, 0, 0, V_NOTIFY },
        { "unshare(CLONE_FILES)", X86_64, __NR_unshare, CLONE_FILES, 0, 0, V_ALLOW },
        { "setns", X86_64, __NR_setns, 3, 0, 0, V_NOTIFY },
        /* seccomp(): stacking a filter yes, a second notification listener no */
        { "seccomp(SET_MODE_FILTER, 0)", X86_64, __NR_seccomp, SECCOMP_SET_MODE_FILTER, 0, 0,
          V_ALLOW },
        { "seccomp(SET_MODE_FILTER, TSYNC)", X86_64, __NR_seccomp, SECCOMP_SET_MODE_FILTER,
          SECCOMP_FILTER_FLAG_TSYNC, 0, V_ALLOW },
        { "seccomp(SET_MODE_FILTER, NEW_LISTENER)", X86_64, __NR_seccomp,
          SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, 0, V_NOTIFY },
        { "seccomp(SET_MODE_FILTER, NEW_LISTENER|TSYNC_ESRCH)", X86_64, __NR_seccomp,
          SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER | 16, 0, V_NOTIFY },
        { "seccomp(SET_MODE_FILTER|HI, NEW_LISTENER|HI)", X86_64, __NR_seccomp,
          SECCOMP_SET_MODE_FILTER | HI, SECCOMP_FILTER_FLAG_NEW_LISTENER | HI, 0, V_NOTIFY },
        { "seccomp(GET_ACTION_AVAIL)", X86_64, __NR_seccomp, SECCOMP_GET_ACTION_AVAIL, 8, 0,
          V_ALLOW },
        { "seccomp(GET_NOTIF_SIZES)", X86_64, __NR_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, 0,
          V_ALLOW },
        /* personality */
        { "personality(PER_LINUX)", X86_64, __NR_personality, 0, 0, 0, V_ALLOW },
        { "personality(query)", X86_64, __NR_personality, 0xffffffff, 0, 0, V_ALLOW },
        { "personality(READ_IMPLIES_EXEC)", X86_64, __NR_personality, READ_IMPLIES_EXEC, 0, 0,
          V_NOTIFY },
        { "personality(ADDR_NO_RANDOMIZE)", X86_64, __NR_personality, ADDR_NO_RANDOMIZE, 0, 0,
          V_NOTIFY },
        { "personality(0xfffffffe)", X86_64, __NR_personality, 0xfffffffe, 0, 0, V_NOTIFY },
        /* the section 9 deny set */
        { "mount", X86_64, __NR_mount, 0, 0, 0, V_NOTIFY },
        { "umount2", X86_64, __NR_umount2, 0, 0, 0, V_NOTIFY },
        { "pivot_root", X86_64, __NR_pivot_root, 0, 0, 0, V_NOTIFY },
        { "chroot", X86_64, __NR_chroot, 0, 0, 0, V_NOTIFY },
        { "open_tree", X86_64, __NR_open_tree, 0, 0, 0, V_NOTIFY },
        { "move_mount", X86_64, __NR_move_mount, 0, 0, 0, V_NOTIFY },
        { "fsopen", X86_64, __NR_fsopen, 0, 0, 0, V_NOTIFY },
        { "mount_setattr", X86_64, __NR_mount_setattr, 0, 0, 0, V_NOTIFY },
        { "ptrace", X86_64, __NR_ptrace, 0, 0, 0, V_NOTIFY },
        { "process_vm_readv", X86_64, __NR_process_vm_readv, 0, 0, 0, V_NOTIFY },
        { "process_vm_writev", X86_64, __NR_process_vm_writev, 0, 0, 0, V_NOTIFY },
        { "keyctl", X86_64, __NR_keyctl, 0, 0, 0, V_NOTIFY },
        { "add_key", X86_64, __NR_add_key, 0, 0, 0, V_NOTIFY },
        { "request_key", X86_64, __NR_request_key, 0, 0, 0, V_NOTIFY },
        { "bpf", X86_64, __NR_bpf, 0, 0, 0, V_NOTIFY },
        { "perf_event_open", X86_64, __NR_perf_event_open, 0, 0, 0, V_NOTIFY },
        { "userfaultfd", X86_64, __NR_userfaultfd, 0, 0, 0, V_NOTIFY },
        { "io_uring_setup", X86_64, __NR_io_uring_setup, 0, 0, 0, V_NOTIFY },
        { "io_uring_enter", X86_64, __NR_io_uring_enter, 0, 0, 0, V_NOTIFY },
        { "io_uring_register", X86_64, __NR_io_uring_register, 0, 0, 0, V_NOTIFY },
        { "kexec_load", X86_64, __NR_kexec_load, 0, 0, 0, V_NOTIFY },
        { "init_module", X86_64, __NR_init_module, 0, 0, 0, V_NOTIFY },
        { "finit_module", X86_64, __NR_finit_module, 0, 0, 0, V_NOTIFY },
        { "delete_module", X86_64, __NR_delete_module, 0, 0, 0, V_NOTIFY },
        { "reboot", X86_64, __NR_reboot, 0, 0, 0, V_NOTIFY },
        { "swapon", X86_64, __NR_swapon, 0, 0, 0, V_NOTIFY },
        { "syslog", X86_64, __NR_syslog, 0, 0, 0, V_NOTIFY },
        { "acct", X86_64, __NR_acct, 0, 0, 0, V_NOTIFY },
        { "quotactl", X86_64, __NR_quotactl, 0, 0, 0, V_NOTIFY },
        { "iopl", X86_64, __NR_iopl, 0, 0, 0, V_NOTIFY },
        { "ioperm", X86_64, __NR_ioperm, 0, 0, 0, V_NOTIFY },
        { "settimeofday", X86_64, __NR_settimeofday, 0, 0, 0, V_NOTIFY },
        { "clock_settime", X86_64, __NR_clock_settime, 0, 0, 0, V_NOTIFY },
        { "adjtimex", X86_64, __NR_adjtimex, 0, 0, 0, V_NOTIFY },
        { "modify_ldt", X86_64, __NR_modify_ldt, 0, 0, 0, V_NOTIFY },
        { "uselib", X86_64, __NR_uselib, 0, 0, 0, V_NOTIFY },
        { "name_to_handle_at", X86_64, __NR_name_to_handle_at, 0, 0, 0, V_NOTIFY },
        { "open_by_handle_at", X86_64, __NR_open_by_handle_at, 0, 0, 0, V_NOTIFY },
        { "move_pages", X86_64, __NR_move_pages, 0, 0, 0, V_NOTIFY },
        { "mbind", X86_64, __NR_mbind, 0, 0, 0, V_NOTIFY },
        { "migrate_pages", X86_64, __NR_migrate_pages, 0, 0, 0, V_NOTIFY },
        { "set_mempolicy", X86_64, __NR_set_mempolicy, 0, 0, 0, V_NOTIFY },
        /* non-native ABIs */
        { "i386 getpid", I386, 20, 0, 0, 0, V_KILL },
        { "i386 read", I386, 3, 0, 0, 0, V_KILL },
        { "x32 getpid", X86_64, X32_BIT | 39, 0, 0, 0, V_KILL },
        { "x32 read", X86_64, X32_BIT | 0, 0, 0, 0, V_KILL },
        { "aarch64 read", AUDIT_ARCH_AARCH64, 63, 0, 0, 0, V_KILL },
};

static int verdict_of(const struct sock_filter *prog, size_t n, uint32_t arch, int nr, uint64_t a0,
                      uint64_t a1, uint64_t a2)
{
        struct sdata d = { .nr = nr, .arch = arch, .args = { a0, a1, a2 } };
        uint32_t ret = bpf_run(prog, n, &d);
        if (ret == 0xdeadbeef)
                return -1;
        return (int)seccomp_verdict_from_ret(ret);
}

static void check_table(const struct sock_filter *prog, size_t n)
{
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                const struct case_ *c = &cases[i];
                int v = verdict_of(prog, n, c->arch, c->nr, c->a0, c->a1, c->a2);
                if (v != c->expect)
                        fprintf(stderr, "case \"%s\": got %s, want %s\n", c->label,
                                v < 0 ? "bpf error" : seccomp_verdict_to_string(v),
                                seccomp_verdict_to_string(c->expect));
                CHECK(v == c->expect);
        }
}

static void test_default_table(void)
{
        scmp_filter_ctx ctx = NULL;
        CHECK(seccomp_policy_build(NULL, &ctx) == 0);
        if (!ctx)
                return;
        void *buf = NULL;
        size_t n = 0;
        CHECK(seccomp_policy_export_bpf(ctx, &buf, &n) == 0);
        CHECK(n > 10);
        printf("# default filter: %zu BPF instructions\n", n);
        if (buf)
                check_table(buf, n);

        /* the interpreter itself must notice a broken program (so "allow" means something) */
        if (buf && n > 0) {
                struct sock_filter bad = { .code = BPF_RET | BPF_K, .k = SECCOMP_RET_ALLOW };
                CHECK(bpf_run(&bad, 1, &(struct sdata){ .nr = __NR_mount,
                                                        .arch = X86_64 }) == SECCOMP_RET_ALLOW);
        }
        free(buf);
        seccomp_release(ctx);
}

static char *deny_items[] = { "getcwd", "socket", "clone", NULL };
static char *allow_items[] = { "ptrace", "personality", "getpid", NULL };

static void test_profile_lists(void)
{
        struct profile p = { 0 };
        p.seccomp_deny = (struct strv){ .items = deny_items, .n = 3 };
        p.seccomp_allow = (struct strv){ .items = allow_items, .n = 3 };

        scmp_filter_ctx ctx = NULL;
        CHECK(seccomp_policy_build(&p, &ctx) == 0);
        if (!ctx)
                return;
        void *buf = NULL;
        size_t n = 0;
        CHECK(seccomp_policy_export_bpf(ctx, &buf, &n) == 0);
        if (buf) {
                struct sock_filter *f = buf;
                CHECK(verdict_of(f, n, X86_64, __NR_getcwd, 0, 0, 0) == V_NOTIFY);
                CHECK(verdict_of(f, n, X86_64, __NR_socket, AF_INET, SOCK_STREAM, 0) == V_NOTIFY);
                CHECK(verdict_of(f, n, X86_64, __NR_socket, AF_UNIX, SOCK_STREAM, 0) == V_NOTIFY);
                CHECK(verdict_of(f, n, X86_64, __NR_clone, SIGCHLD, 0, 0) == V_NOTIFY);
                CHECK(verdict_of(f, n, X86_64, __NR_ptrace, 0, 0, 0) == V_ALLOW);
                CHECK(verdict_of(f, n, X86_64, __NR_personality, READ_IMPLIES_EXEC, 0, 0) ==
                      V_ALLOW);
                CHECK(verdict_of(f, n, X86_64, __NR_getpid, 0, 0, 0) == V_ALLOW);
                CHECK(verdict_of(f, n, X86_64, __NR_read, 0, 0, 0) == V_ALLOW);
                CHECK(verdict_of(f, n, X86_64, __NR_mount, 0, 0, 0) == V_NOTIFY);
                CHECK(verdict_of(f, n, X86_64, __NR_unshare, CLONE_NEWUSER, 0, 0) == V_NOTIFY);
                CHECK(verdict_of(f, n, I386, 20, 0, 0, 0) == V_KILL);
        }
        free(buf);
        seccomp_release(ctx);

        /* deny wins over allow */
        static char *both[] = { "ptrace", NULL };
        p.seccomp_deny = (struct strv){ .items = both, .n = 1 };
        p.seccomp_allow = (struct strv){ .items = both, .n = 1 };
        ctx = NULL;
        CHECK(seccomp_policy_build(&p, &ctx) == 0);
        if (ctx && seccomp_policy_export_bpf(ctx, &buf, &n) == 0) {
                CHECK(verdict_of(buf, n, X86_64, __NR_ptrace, 0, 0, 0) == V_NOTIFY);
                free(buf);
        }
        seccomp_release(ctx);

        /* what can never be lifted, and unknown names */
        static const struct {
                const char *name;
                int build;
        } lifts[] = {
                { "mount", -EPERM },   { "unshare", -EPERM },  { "clone3", -EPERM },
                { "bpf", -EPERM },     { "io_uring_setup", -EPERM }, { "keyctl", -EPERM },
                { "socket", -EPERM },  { "ioctl", -EPERM },    { "no_such_call", -EINVAL },
                { "read", 0 },         { "perf_event_open", 0 },
        };
        for (size_t i = 0; i < ELEMENTSOF(lifts); i++) {
                char *item[] = { (char *)lifts[i].name, NULL };
                p.seccomp_deny = (struct strv){ 0 };
                p.seccomp_allow = (struct strv){ .items = item, .n = 1 };
                ctx = NULL;
                int r = seccomp_policy_build(&p, &ctx);
                if (r != lifts[i].build)
                        fprintf(stderr, "allow \"%s\": got %d want %d\n", lifts[i].name, r,
                                lifts[i].build);
                CHECK(r == lifts[i].build);
                CHECK((r == 0) == (ctx != NULL));
                seccomp_release(ctx);
        }
        char *unknown[] = { "no_such_call", NULL };
        p.seccomp_allow = (struct strv){ 0 };
        p.seccomp_deny = (struct strv){ .items = unknown, .n = 1 };
        ctx = NULL;
        CHECK(seccomp_policy_build(&p, &ctx) == -EINVAL);
        CHECK(ctx == NULL);
}

/* whether a profile's deny list names syscall nr (then it is not a constant allow) */
static bool strv_has_name(const struct profile *p, int nr)
{
        for (size_t i = 0; p && i < p->seccomp_deny.n; i++)
                if (seccomp_syscall_resolve_name(p->seccomp_deny.items[i]) == nr)
                        return true;
        return false;
}

/* ---- seccomp_policy_compile (what qclaw-run loads) against libseccomp's program ---- */

static size_t compare_programs(const struct profile *p, const char *label)
{
        scmp_filter_ctx ctx = NULL;
        void *ref = NULL, *got = NULL;
        size_t n_ref = 0, n_got = 0, diffs = 0, checked = 0;

        CHECK(seccomp_policy_build(p, &ctx) == 0);
        CHECK(ctx && seccomp_policy_export_bpf(ctx, &ref, &n_ref) == 0);
        CHECK(seccomp_policy_compile(p, &got, &n_got) == 0);
        seccomp_release(ctx);
        if (!ref || !got) {
                free(ref);
                free(got);
                return 0;
        }
        printf("# %s: libseccomp %zu instructions, direct %zu\n", label, n_ref, n_got);
        CHECK(n_got < n_ref); /* and it loads: the live tests below use it */

        /* argument values: the interesting ones, with and without high bits set */
        static const uint64_t base[] = {
                0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 15, 16, 17, 18, 38, 40, 44, 58, 0x80,
                0x800, 0x80801, 0x5412, 0x541C, 0x5413, 0x5401, 0x541B, 0x80045430,
                0x10000000, 0x20000000, 0x40000000, 0x02000000, 0x04000000, 0x08000000,
                0x00020000, 0x00000100, 0x00000200, 0x00000400, 0x80000000, 0x7fffffff,
                0xfffffffe, 0xffffffff, 0x00400000, 0x00200000, 0x00100000, 0x01200011,
                SOCK_STREAM | SOCK_CLOEXEC, SOCK_DGRAM | SOCK_NONBLOCK, SOCK_RAW | SOCK_CLOEXEC,
        };
        uint64_t vals[ELEMENTSOF(base) * 3];
        size_t nv = 0;
        for (size_t i = 0; i < ELEMENTSOF(base); i++) {
                vals[nv++] = base[i];
                vals[nv++] = base[i] | UINT64_C(0x100000000);
                vals[nv++] = base[i] | UINT64_C(0xffffffff00000000);
        }
        /* protocols (third argument) */
        static const uint64_t protos[] = { 0, 1, 2, 6, 15, 16, 17, 58, 255,
                                           UINT64_C(0x100000011), UINT64_C(0x100000006),
                                           UINT64_C(0xffffffff00000000) };
        static const uint32_t arches[] = { X86_64, I386, AUDIT_ARCH_AARCH64, 0 };
        static const uint32_t odd_nrs[] = { 0x3fffffff, 0x40000000, 0x40000001, 0x4000002a,
                                            0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff };
        const int arg_nrs[] = { __NR_socket, __NR_socketpair, __NR_ioctl, __NR_personality,
                                __NR_clone, __NR_unshare, __NR_seccomp };

        for (size_t a = 0; a < ELEMENTSOF(arches); a++)
                for (int k = 0; k < 1100 + (int)ELEMENTSOF(odd_nrs); k++) {
                        uint32_t nr = k < 1100 ? (uint32_t)k : odd_nrs[k - 1100];
                        bool args = false;
                        for (size_t j = 0; j < ELEMENTSOF(arg_nrs); j++)
                                args = args || (int)nr == arg_nrs[j];
                        size_t n0 = args ? nv : 1, n1 = args ? nv : 1,
                               n2 = args ? ELEMENTSOF(protos) : 1;
                        for (size_t i0 = 0; i0 < n0; i0++)
                                for (size_t i1 = 0; i1 < n1; i1++)
                                        for (size_t i2 = 0; i2 < n2; i2++) {
                                                struct sdata d = {
                                                        .nr = (int32_t)nr, .arch = arches[a],
                                                        .args = { vals[i0], vals[i1],
                                                                  protos[i2] },
                                                };
                                                uint32_t x = bpf_run(ref, n_ref, &d);
                                                uint32_t y = bpf_run(got, n_got, &d);
                                                checked++;
                                                if (x == y)
                                                        continue;
                                                if (diffs++ < 5)
                                                        fprintf(stderr,
                                                                "%s: arch %#x nr %#x args %#llx "
                                                                "%#llx %#llx: libseccomp %#x, "
                                                                "direct %#x\n",
                                                                label, arches[a], nr,
                                                                (unsigned long long)d.args[0],
                                                                (unsigned long long)d.args[1],
                                                                (unsigned long long)d.args[2], x,
                                                                y);
                                        }
                }
        CHECK(diffs == 0);
        CHECK(checked > 100000);

        /* constant verdicts are reachable from arch and nr alone (the kernel's action cache):
         * walk the program as the kernel's seccomp_is_const_allow() does */
        static const int heavy[] = { __NR_read, __NR_write, __NR_openat, __NR_close,
                                     __NR_newfstatat, __NR_statx, __NR_getdents64, __NR_futex,
                                     __NR_mmap, __NR_lseek, __NR_fstat, __NR_lstat };
        const struct sock_filter *f = got;
        for (size_t i = 0; i < ELEMENTSOF(heavy); i++) {
                uint32_t A = 0;
                bool constant = false;
                for (size_t pc = 0; pc < n_got; pc++) {
                        uint16_t c = f[pc].code;
                        if (c == (BPF_LD | BPF_W | BPF_ABS) && f[pc].k == 0)
                                A = (uint32_t)heavy[i];
                        else if (c == (BPF_LD | BPF_W | BPF_ABS) && f[pc].k == 4)
                                A = X86_64;
                        else if (c == (BPF_RET | BPF_K)) {
                                constant = f[pc].k == SECCOMP_RET_ALLOW;
                                break;
                        } else if (c == (BPF_JMP | BPF_JA))
                                pc += f[pc].k;
                        else if (c == (BPF_JMP | BPF_JEQ | BPF_K))
                                pc += A == f[pc].k ? f[pc].jt : f[pc].jf;
                        else if (c == (BPF_JMP | BPF_JGE | BPF_K))
                                pc += A >= f[pc].k ? f[pc].jt : f[pc].jf;
                        else
                                break; /* an argument load: not constant */
                }
                if (!constant && !strv_has_name(p, heavy[i]))
                        fprintf(stderr, "%s: syscall %d is not a constant allow\n", label,
                                heavy[i]);
                CHECK(constant || strv_has_name(p, heavy[i]));
        }
        free(ref);
        free(got);
        return checked;
}

static void test_direct_compiler(void)
{
        compare_programs(NULL, "default");
        struct profile p = { 0 };
        p.seccomp_deny = (struct strv){ .items = deny_items, .n = 3 };
        p.seccomp_allow = (struct strv){ .items = allow_items, .n = 3 };
        compare_programs(&p, "deny getcwd,socket,clone; allow ptrace,personality,getpid");
        static char *deny2[] = { "ioctl", "socketpair", "unshare", "clone3", "read", "mount",
                                 "futex_wait", "personality", NULL };
        static char *allow2[] = { "process_vm_readv", "mbind", NULL };
        p.seccomp_deny = (struct strv){ .items = deny2, .n = 8 };
        p.seccomp_allow = (struct strv){ .items = allow2, .n = 2 };
        compare_programs(&p, "deny ioctl,socketpair,unshare,clone3,read,...");

        /* the same refusals as seccomp_policy_build */
        char *bad[] = { "mount", NULL };
        void *buf = NULL;
        size_t n = 0;
        p.seccomp_deny = (struct strv){ 0 };
        p.seccomp_allow = (struct strv){ .items = bad, .n = 1 };
        CHECK(seccomp_policy_compile(&p, &buf, &n) == -EPERM);
        char *unknown[] = { "no_such_call", NULL };
        p.seccomp_allow = (struct strv){ 0 };
        p.seccomp_deny = (struct strv){ .items = unknown, .n = 1 };
        CHECK(seccomp_policy_compile(&p, &buf, &n) == -EINVAL);
        CHECK(buf == NULL);

        /* the fixed table holds for the direct program too */
        CHECK(seccomp_policy_compile(NULL, &buf, &n) == 0);
        if (buf)
                check_table(buf, n);
        free(buf);
}

static void test_ratelimit_and_json(void)
{
        struct seccomp_ratelimit rl = SECCOMP_RATELIMIT_INIT(1000000, 3);
        int ok = 0;
        for (int i = 0; i < 10; i++)
                ok += seccomp_ratelimit_ok(&rl, 5000000 + i);
        CHECK(ok == 3);
        CHECK(rl.suppressed == 7);
        CHECK(seccomp_ratelimit_ok(&rl, 6000001)); /* a new interval */

        struct seccomp_violation v = { .pid = 42, .nr = __NR_unshare, .name = "unshare",
                                       .args = { CLONE_NEWUSER } };
        json_t *o = seccomp_violation_to_json(&v, 7);
        CHECK(o != NULL);
        if (o) {
                CHECK_STREQ(json_string_value(json_object_get(o, "event")), "violation");
                CHECK_STREQ(json_string_value(json_object_get(o, "syscall")), "unshare");
                CHECK(json_integer_value(json_object_get(o, "nr")) == __NR_unshare);
                CHECK(json_integer_value(json_object_get(o, "pid")) == 42);
                CHECK(json_integer_value(json_object_get(o, "suppressed")) == 7);
                CHECK_STREQ(json_string_value(json_array_get(json_object_get(o, "args"), 0)),
                            "0x10000000");
                json_decref(o);
        }
}

int test_seccomp_live(void);

int main(void)
{
        test_default_table();
        test_profile_lists();
        test_direct_compiler();
        test_ratelimit_and_json();
        test_seccomp_live();
        return TEST_DONE();
}

/* ---- live ---- */

#include <sys/uio.h>

static int send_fd(int sock, int fd)
{
        char c = 'F';
        struct iovec iov = { .iov_base = &c, .iov_len = 1 };
        union {
                struct cmsghdr h;
                char buf[CMSG_SPACE(sizeof(int))];
        } u = { 0 };
        struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
                            .msg_controllen = sizeof(u.buf) };
        struct cmsghdr *h = CMSG_FIRSTHDR(&m);
        h->cmsg_level = SOL_SOCKET;
        h->cmsg_type = SCM_RIGHTS;
        h->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(h), &fd, sizeof(int));
        return sendmsg(sock, &m, 0) == 1 ? 0 : -1;
}

static int recv_fd(int sock)
{
        char c;
        struct iovec iov = { .iov_base = &c, .iov_len = 1 };
        union {
                struct cmsghdr h;
                char buf[CMSG_SPACE(sizeof(int))];
        } u = { 0 };
        struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
                            .msg_controllen = sizeof(u.buf) };
        if (recvmsg(sock, &m, MSG_CMSG_CLOEXEC) != 1)
                return -1;
        struct cmsghdr *h = CMSG_FIRSTHDR(&m);
        if (!h || h->cmsg_type != SCM_RIGHTS)
                return -1;
        int fd;
        memcpy(&fd, CMSG_DATA(h), sizeof(int));
        return fd;
}

/* In the filtered child: expect `ret` to be -1 with errno `want` (0: success expected). */
static int child_fails;
#define EXPECT_ERRNO(label, expr, want)                                                            \
        do {                                                                                       \
                errno = 0;                                                                         \
                long _r = (long)(expr);                                                            \
                int _e = _r < 0 ? errno : 0;                                                       \
                if ((want) == 0 ? _r < 0 : (_r >= 0 || _e != (want))) {                            \
                        fprintf(stderr, "live: %s: ret %ld errno %d (%s), want errno %d\n",        \
                                label, _r, _e, strerror(_e), (want));                              \
                        child_fails++;                                                             \
                }                                                                                  \
        } while (0)

static _noreturn_ void live_child(int sock)
{
        scmp_filter_ctx ctx = NULL;
        if (seccomp_policy_build(NULL, &ctx) < 0)
                _exit(100);
        int nfd = -1;
        if (seccomp_install(ctx, &nfd) < 0 || nfd < 0)
                _exit(101);
        if (send_fd(sock, nfd) < 0)
                _exit(102);
        close(nfd);

        EXPECT_ERRNO("getpid", syscall(SYS_getpid), 0);
        EXPECT_ERRNO("unshare(CLONE_NEWUSER)", unshare(CLONE_NEWUSER), EPERM);
        EXPECT_ERRNO("socket(AF_PACKET)", socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0), EPERM);
        EXPECT_ERRNO("syscall(999)", syscall(999), ENOSYS);
        EXPECT_ERRNO("ioctl(TIOCSTI|1<<32)",
                     syscall(SYS_ioctl, 0, (unsigned long)HI | TIOCSTI, "x"), EPERM);
        EXPECT_ERRNO("clone3", syscall(SYS_clone3, NULL, 0), ENOSYS);
        EXPECT_ERRNO("keyctl", syscall(SYS_keyctl, 0, 0, 0, 0, 0), EPERM);
        int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        EXPECT_ERRNO("socket(AF_INET, STREAM)", s, 0);
        if (s >= 0)
                close(s);
        pid_t pid = fork();
        EXPECT_ERRNO("fork", pid, 0);
        if (pid == 0)
                _exit(7);
        if (pid > 0) {
                int st = 0;
                EXPECT_ERRNO("waitpid", waitpid(pid, &st, 0), 0);
                if (!WIFEXITED(st) || WEXITSTATUS(st) != 7)
                        child_fails++;
        }
        /* _exit: no atexit handlers (a leak checker would ptrace, which is denied) */
        _exit(child_fails);
}

static void test_live_notify(void)
{
        int sv[2];
        CHECK(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == 0);
        pid_t pid = fork();
        CHECK(pid >= 0);
        if (pid == 0) {
                close(sv[0]);
                live_child(sv[1]);
        }
        close(sv[1]);
        int nfd = recv_fd(sv[0]);
        close(sv[0]);
        CHECK(nfd >= 0);

        bool seen_unshare = false, seen_socket = false, seen_ioctl = false, seen_keyctl = false;
        int n_viol = 0, status = 0;
        for (int rounds = 0; nfd >= 0 && rounds < 600; rounds++) {
                struct pollfd pfd = { .fd = nfd, .events = POLLIN };
                int r = poll(&pfd, 1, 100);
                if (r > 0 && (pfd.revents & POLLIN)) {
                        struct seccomp_violation v;
                        r = seccomp_notify_handle(nfd, &v);
                        if (r == 0) {
                                n_viol++;
                                CHECK(v.pid == pid);
                                seen_unshare |= strcmp(v.name, "unshare") == 0 &&
                                                v.args[0] == CLONE_NEWUSER;
                                seen_socket |= strcmp(v.name, "socket") == 0 &&
                                               v.args[0] == AF_PACKET;
                                seen_ioctl |= strcmp(v.name, "ioctl") == 0 &&
                                              v.args[1] == (HI | TIOCSTI);
                                seen_keyctl |= strcmp(v.name, "keyctl") == 0;
                        }
                        continue;
                }
                if (waitpid(pid, &status, WNOHANG) == pid) {
                        pid = -1;
                        break;
                }
        }
        if (pid > 0)
                waitpid(pid, &status, 0);
        CHECK(WIFEXITED(status));
        if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
                fprintf(stderr, "live child: exit %d\n", WEXITSTATUS(status));
        CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        CHECK(seen_unshare);
        CHECK(seen_socket);
        CHECK(seen_ioctl);
        CHECK(seen_keyctl);
        CHECK(n_viol == 4);
        if (nfd >= 0)
                close(nfd);
}

/* Without a listener notified syscalls still fail (ENOSYS): enforcement never needs us. */
static void test_live_no_listener(void)
{
        pid_t pid = fork();
        CHECK(pid >= 0);
        if (pid == 0) {
                scmp_filter_ctx ctx = NULL;
                if (seccomp_policy_build(NULL, &ctx) < 0 || seccomp_install(ctx, NULL) < 0)
                        _exit(100);
                EXPECT_ERRNO("unshare without listener", unshare(CLONE_NEWUSER), ENOSYS);
                EXPECT_ERRNO("mount without listener", syscall(SYS_mount, "x", "/", "tmpfs", 0, 0),
                             ENOSYS);
                _exit(child_fails);
        }
        int st = 0;
        waitpid(pid, &st, 0);
        CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

static int run_killed(int which)
{
        pid_t pid = fork();
        if (pid == 0) {
                scmp_filter_ctx ctx = NULL;
                if (seccomp_policy_build(NULL, &ctx) < 0 || seccomp_install(ctx, NULL) < 0)
                        _exit(100);
                if (which == 0) {
                        long ret = 20; /* i386 getpid */
                        __asm__ volatile("int $0x80" : "+a"(ret) : : "memory");
                } else {
                        syscall(X32_BIT | 39); /* x32 getpid */
                }
                _exit(0);
        }
        int st = 0;
        waitpid(pid, &st, 0);
        return WIFSIGNALED(st) ? WTERMSIG(st) : -WEXITSTATUS(st);
}

static void test_live_abi(void)
{
        int sig = run_killed(0);
        if (sig == SIGSEGV)
                printf("# i386 emulation absent: int 0x80 faults before seccomp\n");
        else
                CHECK(sig == SIGSYS);
        CHECK(run_killed(1) == SIGSYS);
}

int test_seccomp_live(void)
{
        test_live_notify();
        test_live_no_listener();
        test_live_abi();
        return 0;
}
