/* The seccomp program of a sandbox (DESIGN.md "Sandbox recipe" step 8), compiled from a profile.
 * Allowlist stance: syscalls not listed fail with ENOSYS (they look absent); the dangerous set of
 * reference/sandbox-threats.md section 9 goes to SCMP_ACT_NOTIFY (the supervisor answers EPERM and
 * writes a `violation` record; with no listener the kernel answers ENOSYS, still a denial);
 * non-native ABIs (i386, x32) kill the process. Pure construction: nothing is loaded here. */
#pragma once

#include <seccomp.h>
#include <stddef.h>
#include <stdint.h>

#include "policy/profile.h"

/* Build the filter for a profile (p may be NULL: the default policy). profile.seccomp_deny adds
 * syscalls to the notified (denied) set; profile.seccomp_allow lifts a syscall out of the default
 * deny set only where that is safe (see seccomp_policy_allow_liftable); anything else there is
 * -EPERM with nothing built. Returns 0 and a filter owned by the caller (seccomp_release()), or
 * -errno: -EINVAL for an unknown syscall name, -EPERM for an allow entry that may not be lifted. */
int seccomp_policy_build(const struct profile *p, scmp_filter_ctx *ret);

/* Whether a profile's seccomp.allow may lift NAME: 1 for the debugging/NUMA items of the denied
 * set (ptrace, process_vm_readv/writev, perf_event_open, personality, the NUMA calls) and for
 * names already allowed (a no-op), 0 for everything else (namespaces, mount, keyrings, bpf,
 * io_uring, modules, clone3, argument-filtered calls, ...), -EINVAL for an unknown name. */
int seccomp_policy_allow_liftable(const char *name);

/* The compiled classic-BPF program, for inspection and tests: *ret is malloc'd sock_filter
 * instructions (struct sock_filter, 8 bytes each), *ret_n the count. 0 or -errno. */
int seccomp_policy_export_bpf(scmp_filter_ctx ctx, void **ret, size_t *ret_n);

/* The same program as seccomp_policy_build() + seccomp_policy_export_bpf(), generated directly
 * (tens of microseconds instead of libseccomp's ~15 ms): what qclaw-run loads. The tests compare
 * its verdicts with libseccomp's for every syscall number and a grid of arguments. Constant
 * verdicts are plain returns reached from the number alone, so the kernel's action cache skips
 * the filter for every plain-allowed syscall. *ret is malloc'd struct sock_filter instructions,
 * *ret_n their count. 0, or -errno as seccomp_policy_build(). */
int seccomp_policy_compile(const struct profile *p, void **ret, size_t *ret_n);

/* What the filter decides, as values the tests and the supervisor compare against. */
enum seccomp_verdict {
        SECCOMP_VERDICT_ALLOW,
        SECCOMP_VERDICT_ENOSYS,  /* not on the allowlist: looks absent */
        SECCOMP_VERDICT_EPERM,   /* denied without a report */
        SECCOMP_VERDICT_NOTIFY,  /* denied and reported: the supervisor answers EPERM */
        SECCOMP_VERDICT_KILL,    /* non-native ABI: the process is killed */
        SECCOMP_VERDICT_OTHER,
};
const char *seccomp_verdict_to_string(enum seccomp_verdict v);
/* Map a raw SECCOMP_RET_* value (as a BPF program returns it) to a verdict. */
enum seccomp_verdict seccomp_verdict_from_ret(uint32_t ret);
