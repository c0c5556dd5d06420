/* The seccomp policy compiled directly to classic BPF, what qclaw-run loads (libseccomp's
 * program, policy/seccomp-policy.c, is the reference the tests compare it with, syscall by
 * syscall and argument by argument). Trust level: runs in the supervisor before fork; input is
 * the policy table of a validated profile. */
#include "policy/seccomp-policy.h"

#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/netlink.h>
#include <linux/seccomp.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include "common/macro.h"
#include "policy/seccomp-internal.h"

/* ---- compiler 2: direct classic BPF, what qclaw-run loads ----
 * Layout: arch check (else KILL_PROCESS), nr >= __X32_SYSCALL_BIT (except -1) KILL_PROCESS,
 * then a binary search over runs of syscall numbers with the same entry; a constant entry is a
 * plain `ret`, so the kernel's action cache (5.11+) sees every plain-allowed syscall as
 * constant ALLOW. Only argument-filtered leaves load arguments (their low 32 bits: the kernel
 * reads these arguments as int / unsigned int, as libseccomp's masks above do). */

#define RET_ALLOW SECCOMP_RET_ALLOW
#define RET_NOTIFY SECCOMP_RET_USER_NOTIF
#define RET_ENOSYS (SECCOMP_RET_ERRNO | ENOSYS)
#define ARG_LO(i) ((uint32_t)(offsetof(struct seccomp_data, args) + 8 * (i)))
#define X32_BIT 0x40000000u

struct bpf_buf {
        struct sock_filter *f;
        size_t n, cap;
};

static int put(struct bpf_buf *b, uint16_t code, uint8_t jt, uint8_t jf, uint32_t k)
{
        if (b->n >= BPF_MAXINSNS)
                return -E2BIG;
        if (b->n == b->cap) {
                size_t cap = b->cap ? b->cap * 2 : 256;
                struct sock_filter *f = realloc(b->f, cap * sizeof(*f));
                if (!f)
                        return -ENOMEM;
                b->f = f;
                b->cap = cap;
        }
        b->f[b->n++] = (struct sock_filter){ .code = code, .jt = jt, .jf = jf, .k = k };
        return 0;
}

/* A leaf as a small program: `op` rows, jumps by label. Labels >= 0 are row indexes in the
 * leaf; T_* are the shared return rows appended after it. */
enum { T_ALLOW = -1, T_NOTIFY = -2, T_ENOSYS = -3 };
struct lrow {
        uint16_t code;
        uint32_t k;
        int jt, jf; /* labels, for jumps */
};
#define LD(off) { BPF_LD | BPF_W | BPF_ABS, (off), 0, 0 }
#define AND(v) { BPF_ALU | BPF_AND | BPF_K, (v), 0, 0 }
#define JEQ(v, t, f) { BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)(v), (t), (f) }
#define JSET(v, t, f) { BPF_JMP | BPF_JSET | BPF_K, (uint32_t)(v), (t), (f) }
#define GOTO(t) JEQ(0, (t), (t)) /* unconditional, resolved like any jump */

static int emit_leaf(struct bpf_buf *b, const struct lrow *rows, size_t n)
{
        /* rows, then ret ALLOW / NOTIFY / ENOSYS; each row jumps forward */
        for (size_t i = 0; i < n; i++) {
                uint8_t off[2] = { 0, 0 };
                int lab[2] = { rows[i].jt, rows[i].jf };
                if (BPF_CLASS(rows[i].code) == BPF_JMP)
                        for (int j = 0; j < 2; j++) {
                                size_t to = lab[j] >= 0 ? (size_t)lab[j] : n + (size_t)(-lab[j] - 1);
                                if (to <= i || to - i - 1 > 255)
                                        return -EINVAL;
                                off[j] = (uint8_t)(to - i - 1);
                        }
                int r = put(b, rows[i].code, off[0], off[1], rows[i].k);
                if (r < 0)
                        return r;
        }
        static const uint32_t rets[] = { RET_ALLOW, RET_NOTIFY, RET_ENOSYS };
        for (size_t i = 0; i < ELEMENTSOF(rets); i++) {
                int r = put(b, BPF_RET | BPF_K, 0, 0, rets[i]);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int emit_entry(struct bpf_buf *b, uint8_t e)
{
        switch (e) {
        case E_DEFAULT:
                return put(b, BPF_RET | BPF_K, 0, 0, RET_ENOSYS);
        case E_ALLOW:
                return put(b, BPF_RET | BPF_K, 0, 0, RET_ALLOW);
        case E_NOTIFY:
                return put(b, BPF_RET | BPF_K, 0, 0, RET_NOTIFY);
        case E_SOCKET: {
                /* 0 family; 6 netlink; 8 inet: type; 14 stream: proto; 17 dgram: proto */
                static const struct lrow rows[] = {
                        LD(ARG_LO(0)),
                        JEQ(AF_UNIX, T_ALLOW, 2),
                        JEQ(AF_NETLINK, 6, 3),
                        JEQ(AF_INET, 8, 4),
                        JEQ(AF_INET6, 8, 5),
                        GOTO(T_NOTIFY),
                        LD(ARG_LO(2)), /* 6 */
                        JEQ(NETLINK_ROUTE, T_ALLOW, T_NOTIFY),
                        LD(ARG_LO(1)), /* 8 */
                        AND(SOCK_TYPE_MASK_),
                        JEQ(SOCK_STREAM, 14, 11),
                        JEQ(SOCK_DGRAM, 17, 12),
                        JEQ(SOCK_RAW, T_NOTIFY, 13),
                        JEQ(SOCK_PACKET, T_NOTIFY, T_ENOSYS),
                        LD(ARG_LO(2)), /* 14 */
                        JEQ(0, T_ALLOW, 16),
                        JEQ(IPPROTO_TCP, T_ALLOW, T_ENOSYS),
                        LD(ARG_LO(2)), /* 17 */
                        JEQ(0, T_ALLOW, 19),
                        JEQ(IPPROTO_UDP, T_ALLOW, 20),
                        JEQ(IPPROTO_ICMP, T_NOTIFY, 21),
                        JEQ(IPPROTO_ICMPV6, T_NOTIFY, T_ENOSYS),
                };
                return emit_leaf(b, rows, ELEMENTSOF(rows));
        }
        case E_SOCKETPAIR: {
                static const struct lrow rows[] = {
                        LD(ARG_LO(0)),
                        JEQ(AF_UNIX, 2, T_NOTIFY),
                        LD(ARG_LO(1)),
                        AND(SOCK_TYPE_MASK_),
                        JEQ(SOCK_STREAM, T_ALLOW, 5),
                        JEQ(SOCK_SEQPACKET, T_ALLOW, 6),
                        JEQ(SOCK_DGRAM, T_NOTIFY, T_ENOSYS),
                };
                return emit_leaf(b, rows, ELEMENTSOF(rows));
        }
        case E_IOCTL: {
                static const struct lrow rows[] = {
                        LD(ARG_LO(1)),
                        JEQ(TIOCSTI, T_NOTIFY, 2),
                        JEQ(TIOCLINUX, T_NOTIFY, T_ALLOW),
                };
                return emit_leaf(b, rows, ELEMENTSOF(rows));
        }
        case E_PERSONALITY: {
                static const struct lrow rows[] = {
                        LD(ARG_LO(0)),
                        JEQ(0, T_ALLOW, 2),
                        JEQ(0xffffffff, T_ALLOW, T_NOTIFY),
                };
                return emit_leaf(b, rows, ELEMENTSOF(rows));
        }
        case E_SECCOMP: {
                static const struct lrow rows[] = {
                        LD(ARG_LO(0)),
                        JEQ(SECCOMP_SET_MODE_FILTER, 2, T_ALLOW),
                        LD(ARG_LO(1)),
                        JSET(SECCOMP_FILTER_FLAG_NEW_LISTENER, T_NOTIFY, T_ALLOW),
                };
                return emit_leaf(b, rows, ELEMENTSOF(rows));
        }
        case E_CLONE:
        case E_UNSHARE: {
                const struct lrow rows[] = {
                        LD(ARG_LO(0)),
                        JSET(e == E_CLONE ? CLONE_NS_FLAGS : UNSHARE_NS_FLAGS, T_NOTIFY, T_ALLOW),
                };
                return emit_leaf(b, rows, ELEMENTSOF(rows));
        }
        default:
                return -EINVAL;
        }
}

struct run {
        uint32_t start; /* first syscall number of the run */
        uint8_t e;
};

/* Runs [lo, hi): A holds the syscall number. Inner node: "jge start(mid)" falls through to a
 * JA over the left half (BPF conditional offsets are 8 bits, JA's are 32). */
static int emit_tree(struct bpf_buf *b, const struct run *runs, size_t lo, size_t hi)
{
        int r;

        if (hi - lo == 1)
                return emit_entry(b, runs[lo].e);
        size_t mid = lo + (hi - lo) / 2;
        if ((r = put(b, BPF_JMP | BPF_JGE | BPF_K, 0, 1, runs[mid].start)) < 0)
                return r;
        size_t ja = b->n;
        if ((r = put(b, BPF_JMP | BPF_JA, 0, 0, 0)) < 0)
                return r;
        if ((r = emit_tree(b, runs, lo, mid)) < 0)
                return r;
        b->f[ja].k = (uint32_t)(b->n - ja - 1);
        return emit_tree(b, runs, mid, hi);
}

int seccomp_policy_compile(const struct profile *p, void **ret, size_t *ret_n)
{
        struct policy_table t;
        struct run runs[POLICY_NR_MAX + 1];
        struct bpf_buf b = { 0 };
        size_t n_runs = 0;
        int r;

        if (!ret || !ret_n)
                return -EINVAL;
        r = seccomp_policy_table_build(p, &t);
        if (r < 0)
                return r;
        for (uint32_t nr = 0; nr < POLICY_NR_MAX; nr++) {
                bool filtered = t.e[nr] > E_NOTIFY; /* its own leaf, never merged */
                if (n_runs == 0 || filtered || runs[n_runs - 1].e != t.e[nr] ||
                    runs[n_runs - 1].e > E_NOTIFY)
                        runs[n_runs++] = (struct run){ nr, t.e[nr] };
        }
        if (runs[n_runs - 1].e != E_DEFAULT)
                runs[n_runs++] = (struct run){ POLICY_NR_MAX, E_DEFAULT };

        /* As libseccomp: another arch is killed; so is an x32 number, but -1 (a tracer's
         * skipped syscall) goes on to the table and gets the default action. */
        static const struct sock_filter head[] = {
                BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
                BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 0, 3),
                BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
                BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, X32_BIT, 0, 2),
                BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0xffffffff, 1, 0),
                BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
        };
        for (size_t i = 0; i < ELEMENTSOF(head) && r >= 0; i++)
                r = put(&b, head[i].code, head[i].jt, head[i].jf, head[i].k);
        if (r >= 0)
                r = emit_tree(&b, runs, 0, n_runs);
        if (r < 0) {
                free(b.f);
                return r;
        }
        *ret = b.f;
        *ret_n = b.n;
        return 0;
}
