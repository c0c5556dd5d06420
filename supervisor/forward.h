/* publish: the host's 127.0.0.1:PORT forwarded into the sandbox's 127.0.0.1:PORT. The
 * supervisor accepts on the host side; sockets for the inside are made by the sandbox's init
 * (a socket belongs to the netns it was created in) and connected here. Trust level:
 * supervisor parent; bytes are relayed, never parsed. */
#pragma once

#include <poll.h>
#include <stddef.h>
#include <stdint.h>

#define FORWARD_MAX_CONNS 64
#define FORWARD_BUF 16384

struct forward;

/* Listen on 127.0.0.1:port for each port. 0, or -errno with the failing port in *ret_bad_port. */
int forward_new(const uint16_t *ports, size_t n, struct forward **ret, uint16_t *ret_bad_port);
struct forward *forward_free(struct forward *f);

/* Fill pfds (at most max) with what to poll; returns the count used. */
size_t forward_pollfds(struct forward *f, struct pollfd *pfds, size_t max);

/* Handle the events of the pfds filled by forward_pollfds. For every accepted connection,
 * request_socket(port, userdata) is called: answer later with forward_socket_arrived. */
void forward_dispatch(struct forward *f, const struct pollfd *pfds, size_t n,
                      int (*request_socket)(uint16_t port, void *userdata), void *userdata);

/* A socket made inside the sandbox for `port` (ownership taken; fd < 0: the request failed). */
void forward_socket_arrived(struct forward *f, uint16_t port, int fd);
