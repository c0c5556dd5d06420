/* qclaw-run: run one agent command in a sandbox built from its profile, in the order of
 * DESIGN.md "Sandbox recipe". The supervisor stays outside: it attaches the session to the
 * proxy, writes the audit records, relays publish ports, answers seccomp notifications, forwards
 * signals and propagates the exit status. Trust level: root (sudo / systemd) or the invoking
 * user; nothing from inside the sandbox is trusted beyond fixed-size messages. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/control.h"
#include "common/fd-util.h"
#include "common/log.h"
#include "policy/audit.h"
#include "policy/profile.h"
#include "supervisor/caps.h"
#include "supervisor/cgroup.h"
#include "supervisor/env.h"
#include "supervisor/forward.h"
#include "supervisor/options.h"
#include "supervisor/session.h"
#include "supervisor/spawn.h"
#include "supervisor/userns.h"

#if QCLAW_HAVE_SANDBOX_FILTERS
#include "policy/seccomp-policy.h"
#include "supervisor/seccomp.h"
#endif

#define EXIT_FAILED 125
#define ATTACH_TIMEOUT_MS 10000

struct identity {
        uid_t uid;
        gid_t gid;
        bool userns;
        bool via_sudo; /* root through sudo: the caller is SUDO_UID, and names paths as that user */
        char user[64];
        char home[PATH_MAX];
};

/* Everything that must be undone when qclaw-run fails after the sandbox exists. */
static struct {
        struct session session;
        struct cgroup_session *cgroup;
        pid_t pid;
        int pidfd;
} S = { .session = { .control_fd = -1 }, .pidfd = -1 };

/* The one line for a failure of qclaw-run itself: "qclaw-run: STEP: WHY", exit 125. */
_noreturn_ _printf_(1, 2) static void fail(const char *fmt, ...)
{
        char msg[1024];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        fprintf(stderr, "qclaw-run: %s\n", msg);
        if (S.pidfd >= 0) {
                siginfo_t si;
                (void)pidfd_send_signal(S.pidfd, SIGKILL, NULL, 0);
                (void)waitid(P_PIDFD, (id_t)S.pidfd, &si, WEXITED);
        }
        if (S.session.started)
                (void)session_log_end(&S.session, "failed", EXIT_FAILED, 0);
        cgroup_session_free(S.cgroup);
        _exit(EXIT_FAILED);
}

static void ensure_stdio(void)
{
        for (int fd = 0; fd < 3; fd++)
                if (fcntl(fd, F_GETFD) < 0) {
                        int n = open("/dev/null", O_RDWR); /* takes the lowest free fd */
                        if (n < 0)
                                _exit(EXIT_FAILED);
                }
}

static void resolve_identity(const struct run_options *o, struct identity *id)
{
        struct passwd *pw = NULL;

        if (geteuid() == 0) {
                const char *sudo_uid = getenv("SUDO_UID"), *sudo_gid = getenv("SUDO_GID");
                unsigned long long v;

                if (o->user) {
                        pw = getpwnam(o->user);
                        if (!pw && parse_u64(o->user, &v) == 0 && v < UINT_MAX)
                                pw = getpwuid((uid_t)v);
                        if (!pw)
                                fail("identity: --user %s: no such user", o->user);
                        /* sudo lends root to run one's own agent, not someone else's */
                        if (sudo_uid && (parse_u64(sudo_uid, &v) < 0 || v != pw->pw_uid))
                                fail("identity: --user %s through sudo: only the invoking user "
                                     "(SUDO_UID=%s) may be named", o->user, sudo_uid);
                        id->uid = pw->pw_uid;
                        id->gid = pw->pw_gid;
                        id->via_sudo = sudo_uid != NULL;
                } else if (sudo_uid) {
                        id->via_sudo = true;
                        if (parse_u64(sudo_uid, &v) < 0 || v >= UINT_MAX)
                                fail("identity: SUDO_UID=%s: not a uid", sudo_uid);
                        id->uid = (uid_t)v;
                        pw = getpwuid(id->uid);
                        if (sudo_gid && parse_u64(sudo_gid, &v) == 0 && v < UINT_MAX)
                                id->gid = (gid_t)v;
                        else if (pw)
                                id->gid = pw->pw_gid;
                        else
                                fail("identity: SUDO_UID=%s has no group (set SUDO_GID)",
                                     sudo_uid);
                } else {
                        fail("identity: refusing to run the agent as root (run qclaw-run "
                             "through sudo, or pass --user USER)");
                }
                if (id->uid == 0 || id->gid == 0)
                        fail("identity: the agent never runs as root (uid/gid 0 requested)");
                id->userns = false;
        } else {
                id->uid = getuid();
                id->gid = getgid();
                if (o->user) {
                        pw = getpwnam(o->user);
                        if (!pw || pw->pw_uid != id->uid)
                                fail("identity: --user needs root (qclaw-run runs as uid %u)",
                                     (unsigned)id->uid);
                }
                pw = getpwuid(id->uid);
                id->userns = true;
        }
        if (pw) {
                snprintf(id->user, sizeof(id->user), "%s", pw->pw_name);
                snprintf(id->home, sizeof(id->home), "%s",
                         pw->pw_dir && pw->pw_dir[0] == '/' ? pw->pw_dir : "/");
        } else {
                snprintf(id->user, sizeof(id->user), "%u", (unsigned)id->uid);
                snprintf(id->home, sizeof(id->home), "/");
        }
        /* "/home/u/" -> "/home/u": profile paths are normalised. */
        size_t l = strlen(id->home);
        while (l > 1 && id->home[l - 1] == '/')
                id->home[--l] = '\0';
}

/* The workspace is bound read-write: never the host's root (it would bring back every host
 * socket: /run/user/UID/bus, the proxy's control socket) nor anything under the trees the
 * sandbox builds afresh or keeps out. `ws` is canonical (realpath). */
static bool workspace_allowed(const char *ws)
{
        static const char *const kept_out[] = { "/run", "/proc", "/sys", "/dev" };

        if (strcmp(ws, "/") == 0)
                return false;
        for (size_t i = 0; i < ELEMENTSOF(kept_out); i++) {
                size_t l = strlen(kept_out[i]);
                if (strncmp(ws, kept_out[i], l) == 0 && (ws[l] == '\0' || ws[l] == '/'))
                        return false;
        }
        return true;
}

/* Through sudo, what the caller names (workspace, profile file, --audit-log, --proxy-socket) is
 * opened with the caller's own reach: sudo lends root to build a sandbox, not to read, append
 * to or connect to whatever root could. */
static void as_caller_begin(const struct identity *id, struct caps_fsid *saved)
{
        int r;

        *saved = (struct caps_fsid){};
        if (id->via_sudo && (r = caps_fsid_enter(id->uid, id->gid, saved)) < 0)
                fail("identity: act as uid %u on the filesystem: %s", (unsigned)id->uid,
                     strerror(-r));
}

static int request_socket(uint16_t port, void *userdata)
{
        return sbx_send(*(int *)userdata, SBX_SOCKET_REQ, port, NULL, -1);
}

/* A send to init failed: it is gone. Its own reason, when it sent one, is still queued. */
_noreturn_ static void fail_init_gone(int sock, const char *when)
{
        struct sbx_msg m;
        int fd;

        for (;;) {
                struct pollfd p = { .fd = sock, .events = POLLIN };

                if (poll(&p, 1, 0) <= 0 || sbx_recv(sock, &m, &fd) < 0)
                        break;
                safe_close(fd);
                if (m.type == SBX_FAIL)
                        fail("%s", m.text);
        }
        fail("sandbox setup: the sandbox's init died %s", when);
}

/* Wait for the next setup message from the sandbox (or its death). */
static void setup_recv(int sock, struct sbx_msg *m, int *fd)
{
        int r = sbx_recv(sock, m, fd);

        if (r < 0)
                fail("sandbox setup: the sandbox's init died before it was ready (%s)",
                     strerror(-r));
        if (m->type == SBX_FAIL) {
                safe_close(*fd);
                fail("%s", m->text);
        }
}

struct outcome {
        bool have_exit;  /* the agent's wait status came from init */
        int wstatus;
        bool failed;     /* qclaw-run failure reported from inside */
        char fail_text[SBX_TEXT_MAX];
};

static void handle_sandbox_msg(int sock, struct forward *fwd, int *notify_fd, struct outcome *out,
                               bool *sock_open)
{
        struct sbx_msg m;
        int fd, r;

        r = sbx_recv(sock, &m, &fd);
        if (r == -EAGAIN)
                return;
        if (r < 0) {
                *sock_open = false;
                return;
        }
        switch (m.type) {
        case SBX_EXIT:
                out->have_exit = true;
                out->wstatus = m.value;
                break;
        case SBX_FAIL:
                out->failed = true;
                snprintf(out->fail_text, sizeof(out->fail_text), "%s", m.text);
                break;
        case SBX_READY:
                /* From the agent just before its execve: the sandbox is complete. */
                if (m.value == -EOPNOTSUPP)
                        log_info("landlock: not available in this kernel; seccomp and namespaces "
                                 "only");
                else if (m.value > 0)
                        log_debug("landlock: ABI %d applied", m.value);
                if (*notify_fd < 0 && fd >= 0) {
                        *notify_fd = TAKE_FD(fd);
                        (void)fd_set_nonblock(*notify_fd, true);
                }
                break;
        case SBX_SOCKET:
                forward_socket_arrived(fwd, (uint16_t)m.value, TAKE_FD(fd));
                break;
        default:
                break;
        }
        safe_close(fd);
}

static void handle_notification(int *notify_fd)
{
#if QCLAW_HAVE_SANDBOX_FILTERS
        struct seccomp_violation v;
        int r = seccomp_notify_handle(*notify_fd, &v);

        if (r >= 0)
                session_log_violation(&S.session, &v);
        else if (r != -EAGAIN && r != -EINTR && r != -ENOENT) {
                log_warn("seccomp: notifications stopped: %s", strerror(-r));
                *notify_fd = safe_close(*notify_fd);
        }
#else
        *notify_fd = safe_close(*notify_fd);
#endif
}

/* 9. Stay outside until the sandbox's init is gone. Returns its wait status. */
static int supervise(int sock, int sfd, struct forward *fwd, struct outcome *out)
{
        struct pollfd p[5 + FORWARD_MAX_CONNS * 2 + 16];
        int notify_fd = -1;
        bool sock_open = true, control_open = S.session.control_fd >= 0;
        siginfo_t si = {};

        (void)fd_set_nonblock(sock, true);
        for (;;) {
                size_t n = 0;
                int i_sock = -1, i_ctl = -1, i_notify = -1;

                p[n++] = (struct pollfd){ .fd = sfd, .events = POLLIN };
                p[n++] = (struct pollfd){ .fd = S.pidfd, .events = POLLIN };
                if (sock_open) {
                        i_sock = (int)n;
                        p[n++] = (struct pollfd){ .fd = sock, .events = POLLIN };
                }
                if (control_open) {
                        i_ctl = (int)n;
                        p[n++] = (struct pollfd){ .fd = S.session.control_fd, .events = POLLIN };
                }
                if (notify_fd >= 0) {
                        i_notify = (int)n;
                        p[n++] = (struct pollfd){ .fd = notify_fd, .events = POLLIN };
                }
                size_t nf = forward_pollfds(fwd, p + n, ELEMENTSOF(p) - n);

                if (poll(p, n + nf, -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        fail("supervise: poll: %s", strerror(errno));
                }
                if (p[0].revents & POLLIN) {
                        struct signalfd_siginfo ss;

                        if (read(sfd, &ss, sizeof(ss)) == sizeof(ss) && ss.ssi_signo != SIGCHLD)
                                (void)pidfd_send_signal(S.pidfd, (int)ss.ssi_signo, NULL, 0);
                }
                if (i_notify >= 0 && (p[i_notify].revents & POLLIN))
                        handle_notification(&notify_fd);
                else if (i_notify >= 0 && p[i_notify].revents & (POLLHUP | POLLERR))
                        notify_fd = safe_close(notify_fd);
                if (i_sock >= 0 && p[i_sock].revents) {
                        handle_sandbox_msg(sock, fwd, &notify_fd, out, &sock_open);
                        if (out->have_exit && control_open && !S.session.relay) {
                                /* The agent is gone and init is taking the rest with it: end
                                 * the proxy session now (nothing in here gets LLM access
                                 * again), so the proxy's detach work overlaps init's exit. */
                                S.session.control_fd = safe_close(S.session.control_fd);
                                control_open = false;
                        }
                }
                if (i_ctl >= 0 && control_open && p[i_ctl].revents) {
                        /* The proxy has nothing to say during a session: any event is its end. */
                        log_warn("the proxy closed the session's control connection; the agent "
                                 "has no LLM access from now on");
                        control_open = false;
                }
                forward_dispatch(fwd, p + n, nf, request_socket, &sock);

                if (p[1].revents & POLLIN) {
                        if (waitid(P_PIDFD, (id_t)S.pidfd, &si, WEXITED) < 0)
                                fail("supervise: waitid: %s", strerror(errno));
                        /* Messages sent just before init exited are still queued. */
                        while (sock_open) {
                                struct pollfd q = { .fd = sock, .events = POLLIN };
                                if (poll(&q, 1, 0) <= 0)
                                        break;
                                handle_sandbox_msg(sock, fwd, &notify_fd, out, &sock_open);
                        }
                        safe_close(notify_fd);
                        break;
                }
        }
        if (si.si_code == CLD_EXITED)
                return W_EXITCODE(si.si_status, 0);
        return si.si_status & 0x7f; /* as a wait status: killed by that signal */
}

int main(int argc, char **argv)
{
        struct run_options o;
        struct identity id = {};
        struct profile *profile = NULL;
        char err[POLICY_ERR_MAX], workspace[PATH_MAX], note[CGROUP_NOTE_MAX], cgname[64];
        _cleanup_free_ char *profile_path = NULL;
        struct forward *fwd = NULL;
        _cleanup_free_ void *seccomp_prog = NULL;
        size_t seccomp_len = 0;
        char **envp = NULL;
        sigset_t mask;
        int r, sock, sfd, lfd, wstatus, code;
        struct sbx_msg m;
        struct outcome out = {};

        ensure_stdio();
        log_init("qclaw-run");
        r = options_parse(argc, argv, &o, err, sizeof(err));
        if (r > 0)
                return 0;
        if (r < 0)
                fail("options: %s", err);
        if (o.verbose)
                log_set_level(LOG_LVL_DEBUG);

        /* 1. Who runs, where, under which profile; the seccomp program built up front. */
        resolve_identity(&o, &id);
        {
                const char *dir = getenv("QCLAW_PROFILES_DIR");
                struct profile_vars vars = { .workspace = workspace, .home = id.home };
                struct caps_fsid caller;

                as_caller_begin(&id, &caller);
                if (!realpath(o.workspace ? o.workspace : ".", workspace))
                        fail("workspace: %s: %s", o.workspace ? o.workspace : ".",
                             strerror(errno));
                if (!workspace_allowed(workspace))
                        fail("workspace: %s: refusing to bind it read-write (the host's root, "
                             "or under /run, /proc, /sys or /dev: sockets and kernel "
                             "interfaces the sandbox keeps out)", workspace);
                r = profile_resolve_path(dir && *dir ? dir : QCLAW_DEFAULT_PROFILES_DIR,
                                         o.profile, &profile_path);
                if (r < 0)
                        fail("profile: %s: %s", o.profile, strerror(-r));
                r = profile_load(profile_path, &vars, &profile, err);
                if (r < 0)
                        fail("profile: %s", err);
                caps_fsid_leave(&caller);
        }
        S.session.profile = profile;
#if QCLAW_HAVE_SANDBOX_FILTERS
        {
                /* Compiled directly (no libseccomp compiler: ~15 ms saved); init's agent child
                 * only loads it. */
                r = seccomp_policy_compile(profile, &seccomp_prog, &seccomp_len);
                if (r < 0)
                        fail("seccomp: build the filter for profile %s: %s", profile->name,
                             strerror(-r));
                S.session.rate = (struct seccomp_ratelimit)SECCOMP_RATELIMIT_INIT(
                        1000000, SESSION_VIOLATIONS_PER_SEC);
        }
#endif

        {
                uint16_t bad = 0;

                r = forward_new(profile->publish, profile->n_publish, &fwd, &bad);
                if (r < 0)
                        fail("publish: 127.0.0.1:%u: %s", bad, strerror(-r));
        }
        r = session_new_id(S.session.id);
        if (r < 0)
                fail("session id: %s", strerror(-r));
        snprintf(cgname, sizeof(cgname), "qclaw-%s", S.session.id);
        /* v2 before clone (init is born in it); v1 while init builds (below). */
        r = cgroup_prepare_v2(cgname, profile->memory_max, profile->pids_max, &S.cgroup);
        if (r < 0)
                fail("cgroup: %s", strerror(-r));
        {
                struct env_identity ei = { .home = id.home, .user = id.user,
                                           .proxy = profile->network == PROFILE_NETWORK_PROXY };
                extern char **environ;

                r = env_build(profile, environ, &ei, &envp);
                if (r < 0)
                        fail("environment: %s", strerror(-r));
        }

        /* Signals for the agent are read from a signalfd and forwarded; SIGCHLD via pidfd. */
        sandbox_forward_sigset(&mask);
        sigaddset(&mask, SIGCHLD);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
                fail("signals: %s", strerror(errno));
        sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
        if (sfd < 0)
                fail("signals: signalfd: %s", strerror(errno));
        signal(SIGPIPE, SIG_IGN);

        /* 2. clone into the namespaces (steps 3-8 run inside, see spawn.c). */
        struct sandbox_config cfg = {
                .profile = profile,
                .uid = id.uid,
                .gid = id.gid,
                .userns = id.userns,
                .proxy = profile->network == PROFILE_NETWORK_PROXY,
                .workspace = workspace,
                .argv = o.argv,
                .envp = envp,
                .seccomp_prog = seccomp_prog,
                .seccomp_len = seccomp_len,
                .cgroup_fd = S.cgroup->v2_fd,
        };
        r = sandbox_spawn(&cfg, &S.pid, &S.pidfd, &sock);
        if (r < 0)
                fail("namespaces: clone%s: %s",
                     id.userns ? " (user namespaces need kernel.unprivileged_userns_clone=1)" : "",
                     strerror(-r));
        if (id.userns) {
                r = userns_write_maps(S.pid, id.uid, id.gid);
                if (r < 0)
                        fail("user namespace: write uid/gid maps: %s", strerror(-r));
                if (sbx_send(sock, SBX_GO, 0, NULL, -1) < 0)
                        fail_init_gone(sock, "at start");
        }

        /* The outside resources the session needs, made while init builds the network and
         * filesystem: the proxy's control connection, the audit log, v1 cgroups (whose `tasks`
         * files init joins itself in step 5). */
        if (profile->network == PROFILE_NETWORK_PROXY) {
                struct caps_fsid caller = {};

                if (strcmp(o.proxy_socket, QCLAW_DEFAULT_CONTROL_SOCKET) != 0)
                        as_caller_begin(&id, &caller);
                S.session.control_fd = control_connect(o.proxy_socket);
                caps_fsid_leave(&caller);
                if (S.session.control_fd < 0)
                        fail("attach to proxy failed: %s: %s (is qclaw-proxy running? start it "
                             "with: systemctl start qclaw-proxy)",
                             o.proxy_socket, strerror(-S.session.control_fd));
        }
        {
                struct audit_options ao = { .fsync = AUDIT_SYNC_CALLER };
                struct caps_fsid caller = {};

                if (o.audit_log_given)
                        as_caller_begin(&id, &caller);
                r = audit_log_open(o.audit_log, &ao, &S.session.audit);
                caps_fsid_leave(&caller);
                if (r < 0) {
                        if (o.audit_log_given || !id.userns)
                                fail("audit log: %s: %s", o.audit_log, strerror(-r));
                        /* An ordinary user cannot write the shared log: the proxy, when
                         * there is one, writes the session's records for it. */
                        S.session.relay = S.session.control_fd >= 0;
                        log_info("audit log %s: %s; session records %s", o.audit_log,
                                 strerror(-r), S.session.relay ? "go to qclaw-proxy's log"
                                                               : "off (pass --audit-log)");
                }
        }
        r = cgroup_prepare_v1(S.cgroup, cgname, profile->memory_max, profile->pids_max, note,
                              sizeof(note));
        if (r < 0)
                fail("cgroup: %s", strerror(-r));
        if (note[0]) {
                if (id.userns)
                        log_info("cgroup: %s; pids_max held by RLIMIT_NPROC, tmpfs sized by "
                                 "memory_max, no memory limit beyond that", note);
                else
                        log_warn("cgroup: %s; tmpfs sized by memory_max, no memory or pids "
                                 "limit beyond that", note);
        }
        {
                int fds[ELEMENTSOF(S.cgroup->v1_tasks_fd)], n = 0;

                for (size_t i = 0; i < ELEMENTSOF(fds); i++)
                        if (S.cgroup->v1_tasks_fd[i] >= 0)
                                fds[n++] = S.cgroup->v1_tasks_fd[i];
                for (int i = 0; i == 0 || i < n; i++)
                        if (sbx_send(sock, SBX_CGROUP, n > 0 ? n - i - 1 : 0, NULL,
                                     n > 0 ? fds[i] : -1) < 0)
                                fail_init_gone(sock, "during setup");
        }
        /* 3. The session listener, made inside, goes to the proxy. */
        if (cfg.proxy) {
                setup_recv(sock, &m, &lfd);
                if (m.type != SBX_LISTENER || lfd < 0)
                        fail("attach to proxy failed: no listener from the sandbox");
                r = session_attach_send(&S.session, lfd, S.pid, err, sizeof(err));
                lfd = safe_close(lfd); /* the proxy serves it; we keep no socket of the sandbox's */
                if (r >= 0)
                        r = session_attach_wait(&S.session, ATTACH_TIMEOUT_MS, err, sizeof(err));
                if (r < 0)
                        fail("attach to proxy failed: %s: %s", o.proxy_socket, err);
        }
        /* 5. cgroups: init joined them itself (v1) or was born in it (v2). */

        /* The session is recorded before the agent runs, and init is told to start it when it
         * is ready: both while init still builds (it reads SBX_EXEC only after its last step,
         * and a failure there is recorded as session_end "failed"). */
        r = session_log_start(&S.session, o.argv, id.user, id.uid, workspace, id.userns);
        if (r < 0)
                fail("audit log: write session_start: %s", strerror(-r));
        if (sbx_send(sock, SBX_EXEC, 0, NULL, -1) < 0)
                fail_init_gone(sock, "before the agent started");

        /* 9. Stay outside. */
        wstatus = supervise(sock, sfd, fwd, &out);
        if (out.failed)
                fail("%s", out.fail_text);
        if (out.have_exit)
                wstatus = out.wstatus;
        code = sandbox_exit_code(wstatus);
        if (WIFSIGNALED(wstatus))
                r = session_log_end(&S.session, "signaled", code, WTERMSIG(wstatus));
        else
                r = session_log_end(&S.session, "exited", code, 0);
        if (r < 0)
                log_warn("audit log: session_end not written: %s", strerror(-r));

        S.session.control_fd = safe_close(S.session.control_fd); /* ends the proxy session */
        cgroup_session_free(S.cgroup);
        forward_free(fwd);
        audit_log_close(S.session.audit);
        env_free(envp);
        profile_free(profile);
        return code;
}
