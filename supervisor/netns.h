/* Network namespace setup for the sandbox: loopback up (SIOCSIFFLAGS) and loopback TCP
 * listeners. Trust level: runs in the sandbox's init before privileges are dropped. */
#pragma once

#include <stdint.h>

#define NETNS_PROXY_PORT 32125

/* Bring "lo" up in the current network namespace. 0 or -errno. */
int netns_loopback_up(void);

/* TCP socket bound to 127.0.0.1:port and listening (SOCK_CLOEXEC). fd or -errno. */
int netns_listen_loopback(uint16_t port, int backlog);

/* An unconnected TCP socket in the current network namespace (SOCK_CLOEXEC|SOCK_NONBLOCK),
 * for the publish forwarder outside to connect to a port inside. fd or -errno. */
int netns_socket_tcp(void);
