/* Loading the seccomp program in the sandboxed child, and handling its user notifications in the
 * supervisor. Notifications are reports, never trusted for enforcement: every notified syscall
 * is answered with -EPERM (never CONTINUE), and with no listener the kernel answers ENOSYS. */
#pragma once

#include <jansson.h>
/* libseccomp's <seccomp.h>. Inside supervisor/ this file shadows it (meson puts the target's
 * source directory first on the include path), so fetch the next one in the search order. */
#include_next <seccomp.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* Child, the last step before execve (after PR_SET_NO_NEW_PRIVS, which this also sets): load
 * ctx into the kernel. *ret_notify_fd gets the notification listener fd (O_CLOEXEC) for the
 * supervisor: send it to the parent and close it before execve — a process must never hold the
 * listener of its own filter. ret_notify_fd may be NULL (the listener is then closed: notified
 * syscalls fail with ENOSYS). 0 or -errno. Does not release ctx. */
int seccomp_install(scmp_filter_ctx ctx, int *ret_notify_fd);
/* The same for a compiled program (seccomp_policy_compile(): n struct sock_filter), loaded with
 * the seccomp() syscall and SECCOMP_FILTER_FLAG_NEW_LISTENER: no libseccomp work in the child. */
int seccomp_install_program(const void *prog, size_t n, int *ret_notify_fd);

struct seccomp_violation {
        pid_t pid;        /* the calling thread, as the supervisor's pid namespace sees it */
        int nr;           /* syscall number (native arch) */
        const char *name; /* syscall name ("unshare"), static storage; "?" if unknown */
        uint64_t args[6];
        uint32_t arch;    /* AUDIT_ARCH_* of the call */
};

/* Parent: receive one notification from notify_fd, answer it with -EPERM and fill *ret.
 * The notification id is validated (SECCOMP_IOCTL_NOTIF_ID_VALID) before answering; a caller
 * that died in between gives -ENOENT. Blocks unless notify_fd is non-blocking and used with
 * poll (POLLIN); -EAGAIN/-EINTR pass through. Other failures: -errno. */
int seccomp_notify_handle(int notify_fd, struct seccomp_violation *ret);

/* Rate limit for `violation` audit records: at most `burst` records per `interval_usec`, the
 * rest counted in `suppressed` (report it in the next record written). */
struct seccomp_ratelimit {
        uint64_t interval_usec; /* e.g. 1 s */
        unsigned burst;         /* e.g. 20 */
        uint64_t begin_usec;
        unsigned n;
        uint64_t suppressed;
};
#define SECCOMP_RATELIMIT_INIT(i, b) { .interval_usec = (i), .burst = (b) }
/* true: write this record (and then reset rl->suppressed after reporting it). */
bool seccomp_ratelimit_ok(struct seccomp_ratelimit *rl, uint64_t now_usec);

/* The audit fields of a violation record: {"event":"violation","syscall":NAME,"nr":N,
 * "args":["0x..",...],"pid":PID} (plus "suppressed":N when suppressed > 0) — the caller adds
 * session/profile and appends it with audit_log_append(). NULL on ENOMEM. */
json_t *seccomp_violation_to_json(const struct seccomp_violation *v, uint64_t suppressed);
