/* The supervisor <-> proxy control socket (DESIGN.md): SOCK_SEQPACKET, peers checked with
 * SO_PEERCRED (root or a uid/gid from control_users/control_groups; the groups are matched
 * against the peer's primary and supplementary groups). "attach" hands over a
 * session's listener fd; the session lasts as long as the control connection. "status" reports
 * counters for qclaw.Status. Trust level: local peers; every message is untrusted input. */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "common/control.h"
#include "common/json-util.h"
#include "common/log.h"
#include "common/macro.h"
#include "common/time-util.h"
#include "proxy/proxy.h"

struct ctl_conn {
        struct loop_source src; /* first */
        struct session *session; /* attached session (ref), NULL before attach */
        uid_t uid;
        pid_t peer_pid;
        bool denied; /* peer not allowed: its first message gets "permission denied", then EOF */
        unsigned records; /* op "record" messages received (bounded) */
};

static struct loop_source ctl_listen = { .fd = -1 };
static char *ctl_path;

struct session *session_ref(struct session *s)
{
        if (s)
                s->ref++;
        return s;
}

struct session *session_unref(struct session *s)
{
        if (s && --s->ref == 0)
                free(s);
        return NULL;
}

static void session_end(struct session *s)
{
        s->ended = true;
        listener_close_session(s);
        for (struct session **p = &P.sessions; *p; p = &(*p)->next)
                if (*p == s) {
                        *p = s->next;
                        session_unref(s);
                        break;
                }
        log_info("session %s (profile %s, pid %d) ended", s->id, s->profile, (int)s->pid);
        /* The proxy's own end of the session, written whatever happened to the supervisor (a
         * supervisor killed with SIGKILL writes no session_end): from here on the session's
         * listener is closed and nothing more can leave under its name. */
        json_t *j = json_pack("{s:s, s:s, s:s, s:i, s:I, s:I}", "event", "session_detach",
                              "session", s->id, "profile", s->profile, "pid", (int)s->pid,
                              "requests", (json_int_t)s->requests, "duration_ms",
                              (json_int_t)((now_realtime_usec() - s->started_rt) / 1000));
        if (!j || paudit_queue(j, NULL) < 0)
                log_error("session %s: cannot queue its session_detach audit record", s->id);
}

static void ctl_conn_free(struct ctl_conn *c)
{
        if (c->session) {
                session_end(c->session);
                c->session = session_unref(c->session);
        }
        loop_del(&c->src);
        close(c->src.fd);
        loop_free_source(c);
}

static int reply(struct ctl_conn *c, bool ok, const char *error)
{
        _cleanup_json_ json_t *j = ok ? json_pack("{s:b}", "ok", 1)
                                      : json_pack("{s:b, s:s}", "ok", 0, "error", error);
        return j ? control_send(c->src.fd, j, NULL, 0) : -ENOMEM;
}

static bool session_id_valid(const char *s)
{
        size_t n = strlen(s);
        if (n == 0 || n > SESSION_ID_MAX)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!(s[i] >= 'a' && s[i] <= 'z') && !(s[i] >= 'A' && s[i] <= 'Z') &&
                    !(s[i] >= '0' && s[i] <= '9') && !strchr("._-", s[i]))
                        return false;
        return true;
}

static int op_attach(struct ctl_conn *c, json_t *msg, int *fds, size_t n_fds)
{
        const char *sid = json_get_str(msg, "session", NULL);
        const char *prof = json_get_str(msg, "profile", NULL);
        json_t *jpid = json_object_get(msg, "pid");

        if (c->session)
                return reply(c, false, "this control connection already has a session");
        if (n_fds != 1)
                return reply(c, false, "attach needs exactly one listening socket (SCM_RIGHTS)");
        if (!sid || !session_id_valid(sid))
                return reply(c, false, "session: 1-64 characters of [A-Za-z0-9._-]");
        if (!prof || strlen(prof) > PROFILE_NAME_MAX || !profile_set_find(P.snap->profiles, prof))
                return reply(c, false, "unknown profile (not in the proxy's profiles_dir)");
        if (!json_is_integer(jpid) || json_integer_value(jpid) <= 0 ||
            json_integer_value(jpid) > INT32_MAX)
                return reply(c, false, "pid: a positive integer");
        for (struct session *s = P.sessions; s; s = s->next)
                if (strcmp(s->id, sid) == 0)
                        return reply(c, false, "a session with this id is already attached");
        if (P.draining)
                return reply(c, false, "proxy is shutting down");

        struct session *s = calloc(1, sizeof(*s));
        if (!s)
                return reply(c, false, "out of memory");
        s->ref = 1;
        snprintf(s->id, sizeof(s->id), "%s", sid);
        snprintf(s->profile, sizeof(s->profile), "%s", prof);
        s->pid = (pid_t)json_integer_value(jpid);
        s->started_rt = now_realtime_usec();
        int fd = fds[0];
        fds[0] = -1;
        int r = listener_add_session(fd, s);
        if (r < 0) {
                session_unref(s);
                return reply(c, false, r == -EINVAL || r == -ENOTSOCK
                                               ? "the fd is not a listening stream socket"
                                               : "cannot watch the listener");
        }
        s->next = P.sessions;
        P.sessions = session_ref(s);
        c->session = s; /* takes the initial ref */
        log_info("session %s attached (profile %s, pid %d, peer uid %u)", s->id, s->profile,
                 (int)s->pid, (unsigned)c->uid);
        return reply(c, true, NULL);
}

json_t *ctl_status_json(void)
{
        json_t *sessions = json_array();
        for (struct session *s = P.sessions; s; s = s->next) {
                char ts[40];
                format_iso8601_ms(s->started_rt, ts, sizeof(ts));
                json_array_append_new(sessions,
                                      json_pack("{s:s, s:s, s:I, s:s, s:I, s:I}", "session",
                                                s->id, "profile", s->profile, "pid",
                                                (json_int_t)s->pid, "started", ts, "requests",
                                                (json_int_t)s->requests, "active",
                                                (json_int_t)s->active));
        }
        char ts[40];
        format_iso8601_ms(P.started_rt, ts, sizeof(ts));
        return json_pack("{s:s, s:s, s:s, s:s, s:I, s:s, s:o, s:I, s:I, s:I, s:I}", "version",
                         QCLAW_VERSION, "config_hash", P.snap->config->hash, "profiles_hash",
                         P.snap->profiles->hash, "started", ts, "uptime_s",
                         (json_int_t)((now_usec() - P.started_mono) / 1000000), "audit_log",
                         P.audit_path, "sessions", sessions, "requests_total",
                         (json_int_t)P.requests_total, "egress_total", (json_int_t)P.egress_total,
                         "denied_total", (json_int_t)P.denied_total, "active",
                         (json_int_t)P.active_requests);
}

static int op_status(struct ctl_conn *c)
{
        _cleanup_json_ json_t *j = json_pack("{s:b, s:o}", "ok", 1, "status", ctl_status_json());
        return j ? control_send(c->src.fd, j, NULL, 0) : -ENOMEM;
}

/* A supervisor without an audit log of its own (qclaw-run as an ordinary user cannot write the
 * shared one) hands its session records to the proxy on the session's control connection:
 * {"op":"record","record":{"event":"session_start"|"violation"|"session_end",...}}, no reply.
 * The proxy writes them into the chain as that supervisor's account: under the attached
 * session's own id and profile (whatever the record says), stamped with the peer's uid and
 * pid, at most CTL_RECORDS_MAX per session. Other events are refused. */
#define CTL_RECORDS_MAX 4096

static int op_record(struct ctl_conn *c, json_t *msg)
{
        static const char *const events[] = { "session_start", "violation", "session_end" };
        json_t *rec = json_object_get(msg, "record");
        const char *ev = json_get_str(rec, "event", "");
        bool known = false;

        for (size_t i = 0; i < ELEMENTSOF(events); i++)
                known = known || strcmp(ev, events[i]) == 0;
        if (!c->session || !json_is_object(rec) || !known) {
                log_warn("control connection (pid %d): record refused (%s)", (int)c->peer_pid,
                         !c->session ? "no session attached" : "not a session record");
                return -EINVAL; /* the connection is closed: a confused or hostile peer */
        }
        if (c->records >= CTL_RECORDS_MAX) {
                if (c->records++ == CTL_RECORDS_MAX)
                        log_warn("session %s: more than %d supervisor records; dropping the "
                                 "rest", c->session->id, CTL_RECORDS_MAX);
                return 0;
        }
        c->records++;
        json_t *j = json_deep_copy(rec);
        if (!j)
                return -ENOMEM;
        /* seq, ts, prev and hash are the log's; the session is the one attached here */
        static const char *const reserved[] = { "seq", "ts", "prev", "hash" };
        for (size_t i = 0; i < ELEMENTSOF(reserved); i++)
                json_object_del(j, reserved[i]);
        json_object_set_new(j, "session", json_string(c->session->id));
        json_object_set_new(j, "profile", json_string(c->session->profile));
        json_object_set_new(j, "reported_by", json_string("supervisor"));
        json_object_set_new(j, "peer_uid", json_integer((json_int_t)c->uid));
        json_object_set_new(j, "peer_pid", json_integer((json_int_t)c->peer_pid));
        if (paudit_queue(j, NULL) < 0)
                log_error("session %s: cannot queue a supervisor record", c->session->id);
        return 0;
}

static void ctl_conn_on_ready(struct loop_source *src, uint32_t events)
{
        struct ctl_conn *c = (struct ctl_conn *)src;
        _cleanup_json_ json_t *msg = NULL;
        int fds[CONTROL_FDS_MAX];
        size_t n_fds = 0;
        int r = control_recv(c->src.fd, &msg, fds, &n_fds);
        if (r == -EAGAIN)
                return;
        if (r < 0) {
                if (r != -ECONNRESET)
                        log_warn("control connection (pid %d): %s; closing it", (int)c->peer_pid,
                                 strerror(-r));
                ctl_conn_free(c);
                return;
        }
        const char *op = json_get_str(msg, "op", "");
        if (c->denied) {
                /* Answer after reading the request, so the peer sees the reply, not a reset. */
                for (size_t i = 0; i < n_fds; i++)
                        close(fds[i]);
                (void)reply(c, false, "permission denied");
                ctl_conn_free(c);
                return;
        }
        if (strcmp(op, "attach") == 0)
                r = op_attach(c, msg, fds, n_fds);
        else if (strcmp(op, "record") == 0)
                r = op_record(c, msg);
        else {
                r = strcmp(op, "status") == 0 ? op_status(c) : reply(c, false, "unknown op");
        }
        for (size_t i = 0; i < n_fds; i++)
                if (fds[i] >= 0)
                        close(fds[i]);
        if (r < 0 && r != -EAGAIN)
                ctl_conn_free(c);
}

#define PEER_GROUPS_MAX 256

/* The peer's supplementary groups: SO_PEERGROUPS (what the connecting process held at connect(),
 * attested by the kernel, as the socket file's own permission check sees it); on kernels
 * without it, the groups the user database gives the peer's uid (getgrouplist). Count or
 * -errno. */
static int peer_groups(int fd, uid_t uid, gid_t gid, gid_t groups[PEER_GROUPS_MAX])
{
        socklen_t l = PEER_GROUPS_MAX * sizeof(gid_t);
        if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &l) == 0)
                return (int)(l / sizeof(gid_t));
        if (errno != ENOPROTOOPT)
                return NEG_ERRNO(); /* ERANGE: more than we look at */
        char buf[4096];
        struct passwd pw, *pwp = NULL;
        if (getpwuid_r(uid, &pw, buf, sizeof(buf), &pwp) != 0 || !pwp)
                return -ENOENT;
        int n = PEER_GROUPS_MAX;
        if (getgrouplist(pw.pw_name, gid, groups, &n) < 0)
                return -ERANGE;
        return n;
}

static bool peer_allowed(int fd, const struct ucred *cr, const struct proxy_config *cfg)
{
        if (cr->uid == 0)
                return true;
        for (size_t i = 0; i < cfg->n_control_uids; i++)
                if (cfg->control_uids[i] == cr->uid)
                        return true;
        if (cfg->n_control_gids == 0)
                return false;
        for (size_t i = 0; i < cfg->n_control_gids; i++)
                if (cfg->control_gids[i] == cr->gid)
                        return true;
        gid_t groups[PEER_GROUPS_MAX];
        int n = peer_groups(fd, cr->uid, cr->gid, groups);
        for (int k = 0; k < n; k++)
                for (size_t i = 0; i < cfg->n_control_gids; i++)
                        if (cfg->control_gids[i] == groups[k])
                                return true;
        return false;
}

static void ctl_on_accept(struct loop_source *src, uint32_t events)
{
        for (;;) {
                _cleanup_close_ int fd = accept4(src->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
                if (fd < 0) {
                        if (errno == EINTR || errno == ECONNABORTED)
                                continue;
                        return;
                }
                struct ucred cr;
                socklen_t l = sizeof(cr);
                if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &l) < 0)
                        continue;
                struct ctl_conn *c = calloc(1, sizeof(*c));
                if (!c)
                        continue;
                if (!peer_allowed(fd, &cr, P.snap->config)) {
                        log_warn("control socket: refused peer uid %u gid %u pid %d",
                                 (unsigned)cr.uid, (unsigned)cr.gid, (int)cr.pid);
                        c->denied = true;
                }
                c->src.fd = TAKE_FD(fd);
                c->src.handler = ctl_conn_on_ready;
                c->uid = cr.uid;
                c->peer_pid = cr.pid;
                if (loop_add(&c->src, EPOLLIN) < 0) {
                        close(c->src.fd);
                        free(c);
                }
        }
}

int ctl_open(const char *path, const struct proxy_config *cfg)
{
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        if (strlen(path) >= sizeof(sa.sun_path)) {
                log_error("control_socket %s: path too long", path);
                return -ENAMETOOLONG;
        }
        memcpy(sa.sun_path, path, strlen(path));

        /* Parent directory: created 0755 root-owned if missing (not writable by others). */
        _cleanup_free_ char *dir = strdup(path);
        if (!dir)
                return -ENOMEM;
        char *slash = strrchr(dir, '/');
        if (slash && slash != dir) {
                *slash = 0;
                if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
                        int r = NEG_ERRNO();
                        log_error("control socket directory %s: %s", dir, strerror(-r));
                        return r;
                }
        }
        struct stat st;
        if (lstat(path, &st) == 0) {
                if (!S_ISSOCK(st.st_mode)) {
                        log_error("control_socket %s exists and is not a socket; remove it", path);
                        return -EEXIST;
                }
                (void)unlink(path);
        }
        _cleanup_close_ int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return NEG_ERRNO();
        mode_t old = umask(0117);
        int r = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
        umask(old);
        if (r < 0) {
                r = NEG_ERRNO();
                log_error("control socket %s: bind: %s", path, strerror(-r));
                return r;
        }
        gid_t g = cfg->n_control_gids > 0 ? cfg->control_gids[0] : 0;
        if (chown(path, 0, g) < 0 && geteuid() == 0)
                log_warn("control socket %s: chown: %m", path);
        (void)chmod(path, 0660);
        if (listen(fd, 64) < 0)
                return NEG_ERRNO();
        ctl_listen.fd = TAKE_FD(fd);
        ctl_listen.handler = ctl_on_accept;
        r = loop_add(&ctl_listen, EPOLLIN);
        if (r < 0)
                return r;
        ctl_path = strdup(path);
        return 0;
}

void ctl_close(void)
{
        if (ctl_listen.fd >= 0) {
                loop_del(&ctl_listen);
                close(ctl_listen.fd);
                ctl_listen.fd = -1;
        }
        if (ctl_path) {
                (void)unlink(ctl_path);
                free(ctl_path);
                ctl_path = NULL;
        }
}
