/* What the two compilers of the seccomp policy share: the policy as a table with one entry per
 * syscall number (built here from a profile by policy/seccomp-policy.c), compiled by libseccomp
 * there (the reference) and directly to classic BPF by policy/seccomp-bpf.c (what qclaw-run
 * loads). Not a public interface. */
#pragma once

#include <sched.h>
#include <stdint.h>

struct profile;

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif
#ifndef TIOCLINUX
#define TIOCLINUX 0x541C
#endif

#define LO32 UINT64_C(0xffffffff)
#define SOCK_TYPE_MASK_ 0xf
/* Namespace flags that clone() understands (CLONE_NEWTIME's bit is part of CSIGNAL there). */
#define CLONE_NS_FLAGS                                                                             \
        (CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER |             \
         CLONE_NEWPID | CLONE_NEWNET)
#define UNSHARE_NS_FLAGS (CLONE_NS_FLAGS | CLONE_NEWTIME)

enum {
        E_DEFAULT = 0, /* not listed: ENOSYS */
        E_ALLOW,
        E_NOTIFY,
        E_SOCKET, /* argument-filtered: rules_socket() / emit_socket() */
        E_SOCKETPAIR,
        E_IOCTL,
        E_PERSONALITY,
        E_CLONE,
        E_UNSHARE,
        E_SECCOMP,
};

#define POLICY_NR_MAX 1024 /* x86_64 numbers end near 470; x32 ones are a bad arch */

struct policy_table {
        uint8_t e[POLICY_NR_MAX];
};

/* The table for a validated profile (NULL: the default policy). 0, -EINVAL (a name libseccomp
 * does not know), -EPERM (an allow entry that may not be lifted), -ERANGE. */
int seccomp_policy_table_build(const struct profile *p, struct policy_table *t);
