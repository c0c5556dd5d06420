/* Network namespace setup for the sandbox: loopback up (SIOCSIFFLAGS) and loopback TCP
 * listeners. Trust level: the sandbox's init before privileges are dropped, or (root mode) a
 * helper thread of the supervisor. */
#pragma once

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#define NETNS_PROXY_PORT 32125

/* Bring "lo" up in the current network namespace. 0 or -errno. */
int netns_loopback_up(void);

/* TCP socket bound to 127.0.0.1:port and listening (SOCK_CLOEXEC). fd or -errno. */
int netns_listen_loopback(uint16_t port, int backlog);

/* Root mode: the sandbox's network namespace built by a helper thread of the supervisor while
 * the supervisor and init do everything else (creating a network namespace costs about a
 * millisecond of kernel time: sysctl tables, the loopback device, IPv6 setup). The thread
 * unshare()s its own network namespace (the supervisor's other threads stay in the host's),
 * brings lo up and, with `listener`, makes the session listener on 127.0.0.1:32125 there; init
 * joins the namespace with setns() before any untrusted code runs. The netns is owned by the
 * initial user namespace exactly as one made by clone(CLONE_NEWNET) as root would be. */
struct netns_prepared {
        pthread_t thread;
        bool listener;   /* in: make the session listener */
        int netns_fd;    /* out: /proc/thread-self/ns/net of the new namespace */
        int listener_fd; /* out: the listener, or -1 */
        int error;       /* out: 0 or -errno */
        const char *step;/* out: what failed */
};

/* Start the thread. 0 or -errno (nothing to finish then). */
int netns_prepare_start(struct netns_prepared *p, bool listener);
/* Wait for it. 0 with netns_fd (and listener_fd) set, or -errno with p->step naming the failed
 * step; fds are closed on failure. */
int netns_prepare_finish(struct netns_prepared *p);

/* An unconnected TCP socket in the current network namespace (SOCK_CLOEXEC|SOCK_NONBLOCK),
 * for the publish forwarder outside to connect to a port inside. fd or -errno. */
int netns_socket_tcp(void);
