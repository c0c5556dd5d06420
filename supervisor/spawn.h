/* Starting the sandbox: clone into the namespaces, the sandbox's init (pid 1 inside: builds the
 * sandbox, forks the agent, reaps, forwards signals, makes sockets for publish forwarding), the
 * parent <-> init message channel and exit-status mapping. Trust level: the parent is the
 * supervisor (root or the invoking user); init and the agent run inside the sandbox. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct profile;

/* Parent <-> sandbox init messages (SOCK_SEQPACKET socketpair, at most one fd each). */
enum sbx_msg_type {
        SBX_GO = 1,     /* parent -> init (user namespace mode): ids mapped: start building */
        SBX_CGROUP,     /* parent -> init: + a v1 `tasks` fd to join, or none; value = how
                         * many SBX_CGROUP follow (awaited before step 5) */
        SBX_LISTENER,   /* init -> parent: + fd, the session listener 127.0.0.1:32125 inside */
        SBX_READY,      /* agent (before execve) -> parent: sandbox complete; value = Landlock
                         * ABI or -errno; + fd, the seccomp notification fd (if any) */
        SBX_EXEC,       /* parent -> init: session recorded and attached: start the agent once
                         * the sandbox is built (usually queued long before) */
        SBX_SOCKET_REQ, /* parent -> init: value = port; make a TCP socket in the netns */
        SBX_SOCKET,     /* init -> parent: + fd, value = port */
        SBX_EXIT,       /* init -> parent: value = the agent's wait status */
        SBX_FAIL,       /* init/agent -> parent: value = -errno, text = "step: why" */
};

#define SBX_TEXT_MAX 240

struct sbx_msg {
        uint32_t type;
        int32_t value;
        char text[SBX_TEXT_MAX];
};

int sbx_send(int sock, enum sbx_msg_type type, int32_t value, const char *text, int fd);
/* One message; *ret_fd gets a passed fd (O_CLOEXEC) or -1. 0, -ECONNRESET at EOF, -errno. */
int sbx_recv(int sock, struct sbx_msg *ret, int *ret_fd);

struct sandbox_config {
        const struct profile *profile;
        uid_t uid;            /* the agent's identity (never 0) */
        gid_t gid;
        bool userns;          /* unprivileged mode: new user namespace mapping uid/gid */
        bool proxy;           /* network "proxy": create the session listener */
        const char *workspace;
        char **argv;
        char **envp;
        const void *seccomp_prog; /* seccomp_policy_compile() output, or NULL */
        size_t seccomp_len;       /* its instruction count */
        int cgroup_fd;        /* cgroup v2 directory to clone into, or -1 */
};

/* Forwarded to the agent (through init): SIGHUP INT QUIT TERM USR1 USR2 WINCH. The parent
 * blocks these and SIGCHLD before sandbox_spawn and reads them from a signalfd. */
void sandbox_forward_sigset(sigset_t *ret);

/* clone3 into new mount, pid, net, ipc, uts (and user) namespaces. The child becomes the
 * sandbox's init and never returns. Parent: 0 with the init's pid, a pidfd and its end of the
 * message socket. */
int sandbox_spawn(const struct sandbox_config *c, pid_t *ret_pid, int *ret_pidfd, int *ret_sock);

/* Wait status -> qclaw-run exit code: the code, or 128+N for signal N. */
int sandbox_exit_code(int wstatus);
