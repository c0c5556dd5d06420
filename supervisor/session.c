/* The session's outside face: the attach handshake on the proxy's control socket and the
 * session_start / violation / session_end audit records. Trust level: supervisor parent; the
 * proxy's reply is parsed by common/control.c (bounded, validated). */
#include "supervisor/session.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include "common/control.h"
#include "common/json-util.h"
#include "common/log.h"
#include "common/time-util.h"
#include "policy/audit.h"
#include "policy/profile.h"

int session_new_id(char id[SESSION_ID_LEN + 1])
{
        uint8_t b[4];

        if (getrandom(b, sizeof(b), 0) != sizeof(b))
                return NEG_ERRNO();
        snprintf(id, SESSION_ID_LEN + 1, "s-%02x%02x%02x%02x", b[0], b[1], b[2], b[3]);
        return 0;
}

int session_attach_send(struct session *s, int listener_fd, pid_t pid, char *err,
                        unsigned errlen)
{
        _cleanup_json_ json_t *req = NULL;
        int r;

        req = json_pack("{s:s, s:s, s:s, s:I}", "op", "attach", "session", s->id, "profile",
                        s->profile->name, "pid", (json_int_t)pid);
        if (!req) {
                snprintf(err, errlen, "%s", strerror(ENOMEM));
                return -ENOMEM;
        }
        r = control_send(s->control_fd, req, &listener_fd, 1);
        if (r < 0)
                snprintf(err, errlen, "%s", strerror(-r));
        return r < 0 ? r : 0;
}

int session_attach_wait(struct session *s, int timeout_ms, char *err, unsigned errlen)
{
        _cleanup_json_ json_t *reply = NULL;
        int fds[CONTROL_FDS_MAX];
        size_t n_fds = 0;
        struct pollfd pfd = { .fd = s->control_fd, .events = POLLIN };
        int r;

        do
                r = poll(&pfd, 1, timeout_ms);
        while (r < 0 && errno == EINTR);
        if (r == 0) {
                snprintf(err, errlen, "no reply from the proxy within %d ms", timeout_ms);
                return -ETIMEDOUT;
        }
        r = control_recv(s->control_fd, &reply, fds, &n_fds);
        for (size_t i = 0; r >= 0 && i < n_fds; i++)
                safe_close(fds[i]); /* the proxy sends none; never keep strays */
        if (r < 0) {
                snprintf(err, errlen, "%s", r == -ECONNRESET ? "the proxy closed the connection"
                                                             : strerror(-r));
                return r;
        }
        if (!json_is_true(json_object_get(reply, "ok"))) {
                snprintf(err, errlen, "the proxy refused: %s",
                         json_get_str(reply, "error", "(no reason given)"));
                return -EPROTO;
        }
        return 0;
}

int session_attach(struct session *s, int listener_fd, pid_t pid, int timeout_ms, char *err,
                   unsigned errlen)
{
        int r = session_attach_send(s, listener_fd, pid, err, errlen);

        return r < 0 ? r : session_attach_wait(s, timeout_ms, err, errlen);
}

static int append(struct session *s, json_t *fields)
{
        _cleanup_json_ json_t *f = fields;

        if (!f)
                return -ENOMEM;
        if (s->audit)
                return audit_log_append(s->audit, f, false, NULL);
        if (!s->relay || s->control_fd < 0)
                return 0;
        _cleanup_json_ json_t *msg = json_pack("{s:s, s:O}", "op", "record", "record", f);
        return msg ? control_send(s->control_fd, msg, NULL, 0) : -ENOMEM;
}

int session_log_start(struct session *s, char *const *argv, const char *user, uid_t uid,
                      const char *workspace, bool userns)
{
        json_t *cmd = json_array();
        int r;

        if (!cmd)
                return -ENOMEM;
        for (char *const *a = argv; *a; a++)
                json_array_append_new(cmd, json_string(*a)); /* non-UTF-8 args become null */
        s->start_usec = now_usec();
        r = append(s, json_pack("{s:s, s:s, s:s, s:s, s:o, s:s, s:I, s:s, s:s, s:s}", "event",
                                "session_start", "session", s->id, "profile", s->profile->name,
                                "policy_hash", s->profile->hash, "command", cmd, "user", user,
                                "uid", (json_int_t)uid, "workspace", workspace, "network",
                                s->profile->network == PROFILE_NETWORK_PROXY ? "proxy" : "none",
                                "mode", userns ? "userns" : "root"));
        if (r >= 0)
                s->started = true;
        return r;
}

#if QCLAW_HAVE_SANDBOX_FILTERS
void session_log_violation(struct session *s, const struct seccomp_violation *v)
{
        json_t *f;

        s->violations++;
        if (!seccomp_ratelimit_ok(&s->rate, now_usec()))
                return;
        s->violations_logged++;
        f = seccomp_violation_to_json(v, s->rate.suppressed);
        s->rate.suppressed = 0;
        if (f) {
                json_object_set_new(f, "session", json_string(s->id));
                json_object_set_new(f, "profile", json_string(s->profile->name));
        }
        if (append(s, f) < 0)
                log_warn("audit: violation record not written");
}
#endif

int session_log_end(struct session *s, const char *status, int code, int signo)
{
        uint64_t dur = s->start_usec ? (now_usec() - s->start_usec) / 1000 : 0;
        json_t *f;

        f = json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:I}", "event", "session_end", "session",
                      s->id, "profile", s->profile->name, "status", status, "duration_ms",
                      (json_int_t)dur, "violations", (json_int_t)s->violations,
                      "violations_dropped", (json_int_t)(s->violations - s->violations_logged));
        if (f && signo > 0)
                json_object_set_new(f, "signal", json_integer(signo));
        else if (f)
                json_object_set_new(f, "exit_code", json_integer(code));
        return append(s, f);
}
