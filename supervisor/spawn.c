/* The sandbox's life: clone3 into fresh namespaces; the sandbox init (pid 1 inside) builds the
 * sandbox in the recipe's order (network, filesystem, resources, identity, Landlock), forks the
 * agent (which installs seccomp last and execs), then reaps, forwards signals and reports the
 * agent's status. When the supervisor dies, PR_SET_PDEATHSIG kills init and with it the whole
 * pid namespace. Trust level: sandbox_spawn runs in the supervisor; everything after clone in
 * the child is inside the sandbox and holds nothing of the supervisor's (fds closed). */
#include "supervisor/spawn.h"

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/macro.h"
#include "policy/profile.h"
#include "supervisor/caps.h"
#include "supervisor/cgroup.h"
#include "supervisor/mount.h"
#include "supervisor/netns.h"

#if QCLAW_HAVE_SANDBOX_FILTERS
#include "supervisor/landlock.h"
#include "supervisor/seccomp.h"
#endif

extern char **environ;

int sbx_send(int sock, enum sbx_msg_type type, int32_t value, const char *text, int fd)
{
        struct sbx_msg m = { .type = type, .value = value };
        union {
                struct cmsghdr h;
                char buf[CMSG_SPACE(sizeof(int))];
        } u;
        struct iovec iov = { .iov_base = &m, .iov_len = sizeof(m) };
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

        if (text)
                snprintf(m.text, sizeof(m.text), "%s", text);
        if (fd >= 0) {
                memset(&u, 0, sizeof(u));
                mh.msg_control = u.buf;
                mh.msg_controllen = sizeof(u.buf);
                struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
                c->cmsg_level = SOL_SOCKET;
                c->cmsg_type = SCM_RIGHTS;
                c->cmsg_len = CMSG_LEN(sizeof(int));
                memcpy(CMSG_DATA(c), &fd, sizeof(int));
        }
        for (;;) {
                if (sendmsg(sock, &mh, MSG_NOSIGNAL) == (ssize_t)sizeof(m))
                        return 0;
                if (errno != EINTR)
                        return NEG_ERRNO();
        }
}

int sbx_recv(int sock, struct sbx_msg *ret, int *ret_fd)
{
        union {
                struct cmsghdr h;
                char buf[CMSG_SPACE(sizeof(int) * 4)];
        } u;
        struct iovec iov = { .iov_base = ret, .iov_len = sizeof(*ret) };
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
                             .msg_controllen = sizeof(u.buf) };
        ssize_t n;
        int fd = -1;

        *ret_fd = -1;
        do
                n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return NEG_ERRNO();
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
                if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
                        continue;
                size_t nfds = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
                for (size_t i = 0; i < nfds; i++) {
                        int f;
                        memcpy(&f, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
                        if (fd < 0)
                                fd = f;
                        else
                                close(f); /* at most one fd per message */
                }
        }
        if (n == 0) {
                safe_close(fd);
                return -ECONNRESET;
        }
        if (n != (ssize_t)sizeof(*ret) || (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC))) {
                safe_close(fd);
                return -EBADMSG;
        }
        ret->text[SBX_TEXT_MAX - 1] = '\0';
        *ret_fd = fd;
        return 0;
}

void sandbox_forward_sigset(sigset_t *ret)
{
        static const int sigs[] = { SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2, SIGWINCH };

        sigemptyset(ret);
        for (size_t i = 0; i < ELEMENTSOF(sigs); i++)
                sigaddset(ret, sigs[i]);
}

int sandbox_exit_code(int wstatus)
{
        if (WIFEXITED(wstatus))
                return WEXITSTATUS(wstatus);
        if (WIFSIGNALED(wstatus))
                return 128 + WTERMSIG(wstatus);
        return 125;
}

/* ---- inside the sandbox ---- */

/* Report "STEP: why" to the supervisor (which prints it and exits 125) and die. Also called by
 * agent_exec() on its own stack, hence not instrumented by ASan. */
_noreturn_ _printf_(3, 4) _no_sanitize_address_ static void child_fail(int sock, int r, const char *fmt, ...)
{
        char text[SBX_TEXT_MAX];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(text, sizeof(text), fmt, ap);
        va_end(ap);
        (void)sbx_send(sock, SBX_FAIL, r, text, -1);
        _exit(125);
}

static int expect(int sock, enum sbx_msg_type type)
{
        struct sbx_msg m;
        int fd, r;

        r = sbx_recv(sock, &m, &fd);
        safe_close(fd);
        if (r < 0)
                return r;
        return m.type == type ? 0 : -EBADMSG;
}

static int set_rlimits(const struct profile *p, bool userns)
{
        struct rlimit core = { 0, 0 };

        if (setrlimit(RLIMIT_CORE, &core) < 0)
                return NEG_ERRNO();
        /* In a user namespace RLIMIT_NPROC counts the agent's uid in that namespace: the
         * sandbox's own processes, so pids_max holds without a cgroup (an unprivileged user
         * rarely has one to give). In root mode it would count the user's processes on the
         * whole host: there the cgroup does it. */
        if (userns && p->pids_max) {
                struct rlimit np = { p->pids_max, p->pids_max };
                if (setrlimit(RLIMIT_NPROC, &np) < 0)
                        return NEG_ERRNO();
        }
        if (p->nofile) {
                struct rlimit nf = { p->nofile, p->nofile };
                if (setrlimit(RLIMIT_NOFILE, &nf) < 0)
                        return NEG_ERRNO();
        }
        return 0;
}

struct agent_args {
        const struct sandbox_config *c;
        int sock;
        int landlock; /* landlock_apply's result, for SBX_READY */
};

/* The agent's process until execve. It shares init's memory (CLONE_VM|CLONE_VFORK, init waits
 * until the execve), so it writes nothing of init's but its own stack: no malloc, no globals
 * (environ was set by init), and leaves only by execve or _exit. Its stack is one ASan never
 * saw, so ASan does not instrument it (a build with ASan would warn, and write that warning
 * to a log path the sandbox cannot reach, on the exec-failure path). */
_noreturn_ _no_sanitize_address_ static int agent_exec(void *userdata)
{
        const struct agent_args *a = userdata;
        const struct sandbox_config *c = a->c;
        int sock = a->sock, nfd = -1, r, e;
        sigset_t none;

        /* A clean process for the agent: default dispositions, nothing blocked. */
        for (int s = 1; s < NSIG; s++)
                if (s != SIGKILL && s != SIGSTOP)
                        signal(s, SIG_DFL);
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        (void)setpgid(0, 0);
        if (!c->workspace || chdir(c->workspace) < 0)
                (void)chdir("/");

#if QCLAW_HAVE_SANDBOX_FILTERS
        if (c->seccomp_prog) {
                /* Last step before execve. The notification fd goes to the supervisor; this
                 * process (and the agent after it) never holds it. */
                r = seccomp_install_program(c->seccomp_prog, c->seccomp_len, &nfd);
                if (r < 0)
                        child_fail(sock, r, "seccomp: install filter: %s", strerror(-(r)));
        }
#endif
        /* The sandbox is complete: one message tells the supervisor so (with the Landlock
         * result) and hands over the notification fd. */
        r = sbx_send(sock, SBX_READY, a->landlock, NULL, nfd);
        safe_close(nfd);
        if (r < 0)
                child_fail(sock, r, "seccomp: hand over notification fd: %s", strerror(-(r)));
        safe_close(sock);
        execvp(c->argv[0], c->argv);
        e = errno;
        /* As env(1) does: 127 not found, 126 found but not executable. */
        dprintf(STDERR_FILENO, "qclaw-run: %s: %s\n", c->argv[0], strerror(e));
        _exit(e == ENOENT || e == ENOTDIR ? 127 : 126);
}

_noreturn_ static void reaper_loop(int sock, int sfd, pid_t agent)
{
        struct pollfd p[2] = { { .fd = sfd, .events = POLLIN }, { .fd = sock, .events = POLLIN } };

        for (;;) {
                if (poll(p, 2, -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        _exit(125);
                }
                if (p[0].revents & POLLIN) {
                        struct signalfd_siginfo si;

                        if (read(sfd, &si, sizeof(si)) != sizeof(si))
                                continue;
                        if (si.ssi_signo != SIGCHLD) {
                                if (kill(-agent, (int)si.ssi_signo) < 0)
                                        (void)kill(agent, (int)si.ssi_signo);
                                continue;
                        }
                        for (;;) {
                                int st;
                                pid_t pid = waitpid(-1, &st, WNOHANG);

                                if (pid <= 0)
                                        break;
                                if (pid == agent) {
                                        /* The agent is done: report, and leaving as pid 1
                                         * takes every other process in here with us. */
                                        (void)sbx_send(sock, SBX_EXIT, st, NULL, -1);
                                        _exit(sandbox_exit_code(st));
                                }
                        }
                }
                if (p[1].revents & POLLIN) {
                        struct sbx_msg m;
                        int fd, r = sbx_recv(sock, &m, &fd);

                        safe_close(fd);
                        if (r == -ECONNRESET)
                                _exit(125); /* supervisor gone (PDEATHSIG is on its way) */
                        if (r == 0 && m.type == SBX_SOCKET_REQ) {
                                int s = netns_socket_tcp();

                                (void)sbx_send(sock, s >= 0 ? SBX_SOCKET : SBX_FAIL,
                                               s >= 0 ? m.value : s, NULL, s);
                                safe_close(s);
                        }
                } else if (p[1].revents & (POLLHUP | POLLERR)) {
                        _exit(125);
                }
        }
}

_noreturn_ static void sandbox_init_main(const struct sandbox_config *c, int sock)
{
        char err[SBX_TEXT_MAX - 32];
        sigset_t fwd;
        pid_t agent;
        int r, sfd;


        /* Keep stdio and the channel to the supervisor, nothing else: no control socket, no
         * audit log, no listener of the supervisor's leaks in. */
        if (sock != 3) {
                if (dup3(sock, 3, O_CLOEXEC) < 0)
                        _exit(125);
                sock = 3;
        }
        if (close_range(4, ~0U, 0) < 0)
                _exit(125);
        /* If the supervisor dies from here on, so do we (and the whole pid namespace). */
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
                _exit(125);
        /* User namespace mode: wait until the supervisor has written our uid/gid maps. */
        if (c->userns && expect(sock, SBX_GO) < 0)
                _exit(125);

        (void)sethostname("qclaw", 5);

        /* 3. Network: our own namespace, made at clone. */
        r = netns_loopback_up();
        if (r < 0)
                child_fail(sock, r, "network: bring up loopback: %s", strerror(-(r)));
        if (c->proxy) {
                int lfd = netns_listen_loopback(NETNS_PROXY_PORT, 128);

                if (lfd < 0)
                        child_fail(sock, lfd, "network: listen on 127.0.0.1:32125: %s", strerror(-(lfd)));
                r = sbx_send(sock, SBX_LISTENER, 0, NULL, lfd);
                safe_close(lfd); /* the proxy serves it; nobody in here keeps it */
                if (r < 0)
                        _exit(125);
        }

        /* 4. Filesystem: built over /tmp, then pivoted into; the host's tree detached. */
        r = mount_setup_root(c->profile, c->uid, c->gid, c->userns, err, sizeof(err));
        if (r >= 0)
                r = mount_pivot(err, sizeof(err));
        if (r < 0)
                child_fail(sock, r, "filesystem: %s", err);

        /* 5. Resources. The supervisor made the session's v1 cgroups while we built the
         * network and filesystem and sends their `tasks` files: we join them ourselves, still the only
         * thread (cgroup_join_fd: no global lock, no RCU grace period); a v2 cgroup was joined
         * at clone. The cgroup namespace is then rooted there. */
        for (;;) {
                struct sbx_msg m;
                int fd;

                r = sbx_recv(sock, &m, &fd);
                if (r < 0 || m.type != SBX_CGROUP) {
                        safe_close(fd);
                        _exit(125);
                }
                r = fd >= 0 ? cgroup_join_fd(fd) : 0;
                safe_close(fd);
                if (r < 0)
                        child_fail(sock, r, "cgroup: join: %s", strerror(-(r)));
                if (m.value == 0)
                        break;
        }
        if (unshare(CLONE_NEWCGROUP) < 0)
                child_fail(sock, -errno, "cgroup namespace: %s", strerror(errno));
        r = set_rlimits(c->profile, c->userns);
        if (r < 0)
                child_fail(sock, r, "rlimits: %s", strerror(-(r)));

        /* 6. Identity: the invoking user, no capabilities anywhere, no_new_privs, own
         * session (no controlling terminal: TIOCSTI cannot reach the user's shell). */
        r = caps_drop_all(c->uid, c->gid, c->userns);
        if (r < 0)
                child_fail(sock, r, "identity: drop to the agent's user and clear capabilities: %s", strerror(-(r)));
        if (setsid() < 0)
                child_fail(sock, -errno, "identity: setsid: %s", strerror(errno));
        /* Credential changes reset the parent-death signal: set it again, and make init
         * undumpable so the agent (same uid) cannot ptrace it or read its memory. */
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || prctl(PR_SET_DUMPABLE, 0) < 0)
                child_fail(sock, -errno, "identity: prctl: %s", strerror(errno));

        /* 7. Landlock (filters the agent and this init alike). */
        r = 0;
#if QCLAW_HAVE_SANDBOX_FILTERS
        {
                struct landlock_params lp = {
                        .proxy_port = c->proxy ? NETNS_PROXY_PORT : 0,
                        .bind_ports = c->profile->publish,
                        .n_bind_ports = c->profile->n_publish,
                };
                r = landlock_apply(c->profile, &lp);
                if (r < 0 && r != -EOPNOTSUPP)
                        child_fail(sock, r, "landlock: %s", strerror(-(r)));
        }
#else
        r = -EOPNOTSUPP;
#endif
        /* The supervisor has recorded session_start (usually long before we get here). */
        if (expect(sock, SBX_EXEC) < 0)
                _exit(125);

        /* Signals for the agent arrive here (blocked since the supervisor, read from a
         * signalfd) and SIGCHLD tells us to reap. */
        sandbox_forward_sigset(&fwd);
        sigaddset(&fwd, SIGCHLD);
        sigprocmask(SIG_BLOCK, &fwd, NULL);
        sfd = signalfd(-1, &fwd, SFD_CLOEXEC);
        if (sfd < 0)
                child_fail(sock, -errno, "signalfd: %s", strerror(errno));

        /* The agent: a vfork-style child on its own stack, so no copy of init's address space
         * is made (and torn down again by execve). Its fd table is its own copy: it closes the
         * signalfd by O_CLOEXEC at execve. */
        environ = c->envp; /* execvp searches the sandbox's PATH; init needs no environment */
        {
                struct agent_args a = { .c = c, .sock = sock, .landlock = r };
                size_t stack_size = 256 * 1024;
                void *stack = mmap(NULL, stack_size, PROT_READ | PROT_WRITE,
                                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);

                if (stack == MAP_FAILED)
                        child_fail(sock, -errno, "fork the agent: %s", strerror(errno));
                agent = clone(agent_exec, (char *)stack + stack_size,
                              CLONE_VM | CLONE_VFORK | SIGCHLD, &a);
                if (agent < 0)
                        child_fail(sock, -errno, "fork the agent: %s", strerror(errno));
                (void)munmap(stack, stack_size);
        }
        reaper_loop(sock, sfd, agent);
}

int sandbox_spawn(const struct sandbox_config *c, pid_t *ret_pid, int *ret_pidfd, int *ret_sock)
{
        int sv[2], pidfd = -1;
        struct clone_args ca = {
                .flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_PIDFD |
                         CLONE_NEWNET | (c->userns ? CLONE_NEWUSER : 0),
                .exit_signal = SIGCHLD,
        };
        long pid;

        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
                return NEG_ERRNO();
        ca.pidfd = (uint64_t)(uintptr_t)&pidfd;
        if (c->cgroup_fd >= 0) {
                /* Born in its cgroup: no migration (and its RCU grace period) afterwards. */
                ca.flags |= CLONE_INTO_CGROUP;
                ca.cgroup = (uint64_t)c->cgroup_fd;
        }
        pid = syscall(SYS_clone3, &ca, sizeof(ca));
        if (pid < 0) {
                int r = NEG_ERRNO();
                close(sv[0]);
                close(sv[1]);
                return r;
        }
        if (pid == 0) {
                close(sv[0]);
                sandbox_init_main(c, sv[1]);
        }
        close(sv[1]);
        *ret_pid = (pid_t)pid;
        *ret_pidfd = pidfd;
        *ret_sock = sv[0];
        return 0;
}
