/* One sandbox session as the outside world sees it: the control connection to qclaw-proxy
 * (attach the session listener) and the audit records. Trust level: supervisor parent. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "supervisor/seccomp.h"

struct audit_log;
struct profile;

#define SESSION_ID_LEN 10 /* "s-" + 8 hex */
#define SESSION_VIOLATIONS_PER_SEC 20

struct session {
        char id[SESSION_ID_LEN + 1];
        const struct profile *profile;
        struct audit_log *audit; /* NULL: audit disabled (unprivileged, default path unwritable) */
        int control_fd;          /* -1 when network is "none" */
        uint64_t start_usec;
        bool relay;              /* no audit log: records go to the proxy (op "record") */
        bool started;            /* session_start written */
        uint64_t violations;     /* total seen */
        uint64_t violations_logged;
        struct seccomp_ratelimit rate;
};

/* "s-" + 8 lowercase hex from getrandom. 0 or -errno. */
int session_new_id(char id[SESSION_ID_LEN + 1]);

/* Send {"op":"attach",...} with the listener fd and wait for the reply (at most timeout_ms).
 * 0; -EPROTO with the proxy's error text in err; or -errno. */
int session_attach(struct session *s, int listener_fd, pid_t pid, int timeout_ms, char *err,
                   unsigned errlen);
/* The same in two halves, so the supervisor works on while the proxy answers: the request
 * (0 or -errno, err set), then the reply (as session_attach). */
int session_attach_send(struct session *s, int listener_fd, pid_t pid, char *err,
                        unsigned errlen);
int session_attach_wait(struct session *s, int timeout_ms, char *err, unsigned errlen);

/* Records are appended to s->audit; without one (relay set, after the attach) they are handed
 * to the proxy on the control connection, which writes them into its chain. */
/* session_start: profile, policy hash, command, user, uid, workspace, mode. 0 or -errno. */
int session_log_start(struct session *s, char *const *argv, const char *user, uid_t uid,
                      const char *workspace, bool userns);
/* One seccomp violation: counted always, recorded at most SESSION_VIOLATIONS_PER_SEC times a
 * second (the next record carries the number suppressed). */
void session_log_violation(struct session *s, const struct seccomp_violation *v);
/* session_end: status ("exited"/"signaled"/"failed"), exit code or signal, duration, violation
 * count (and the number of violation records dropped by the rate limit). */
int session_log_end(struct session *s, const char *status, int code, int signo);
