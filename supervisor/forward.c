/* publish forwarding: accept on the host's loopback, connect a socket that was created inside
 * the sandbox's network namespace to the same port there, and relay bytes both ways with a
 * small poll loop (bounded buffers, bounded connection count). Trust level: supervisor parent;
 * both ends are untrusted byte streams, never parsed. */
#include "supervisor/forward.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/fd-util.h"
#include "common/macro.h"
#include "supervisor/netns.h"

struct conn {
        int fd[2];           /* 0: host side (accepted), 1: sandbox side */
        uint16_t port;
        bool waiting_socket; /* fd[1] not there yet */
        bool connecting;
        bool eof[2];         /* read side of fd[i] done */
        bool shut[2];        /* shutdown(SHUT_WR) sent on fd[i] */
        size_t len[2], off[2];
        char *buf[2];        /* buf[i]: read from fd[i], to be written to fd[1 - i] */
        int pidx[2];         /* index in the pollfd array, -1 if not polled */
};

struct forward {
        int *lfd;
        uint16_t *ports;
        size_t n;
        int lidx0;           /* pollfd index of the first listener */
        struct conn *conns[FORWARD_MAX_CONNS];
};

int forward_new(const uint16_t *ports, size_t n, struct forward **ret, uint16_t *ret_bad_port)
{
        struct forward *f = calloc(1, sizeof(*f));

        if (!f)
                return -ENOMEM;
        f->lfd = calloc(n ? n : 1, sizeof(int));
        f->ports = calloc(n ? n : 1, sizeof(uint16_t));
        if (!f->lfd || !f->ports) {
                forward_free(f);
                return -ENOMEM;
        }
        for (size_t i = 0; i < n; i++) {
                int fd = netns_listen_loopback(ports[i], 64);

                if (fd < 0) {
                        *ret_bad_port = ports[i];
                        forward_free(f);
                        return fd;
                }
                (void)fd_set_nonblock(fd, true);
                f->lfd[f->n] = fd;
                f->ports[f->n++] = ports[i];
        }
        *ret = f;
        return 0;
}

static void conn_free(struct conn *c)
{
        if (!c)
                return;
        safe_close(c->fd[0]);
        safe_close(c->fd[1]);
        free(c->buf[0]);
        free(c->buf[1]);
        free(c);
}

struct forward *forward_free(struct forward *f)
{
        if (!f)
                return NULL;
        for (size_t i = 0; i < f->n; i++)
                safe_close(f->lfd[i]);
        for (size_t i = 0; i < FORWARD_MAX_CONNS; i++)
                conn_free(f->conns[i]);
        free(f->lfd);
        free(f->ports);
        free(f);
        return NULL;
}

size_t forward_pollfds(struct forward *f, struct pollfd *pfds, size_t max)
{
        size_t k = 0;

        f->lidx0 = -1;
        if (!f)
                return 0;
        for (size_t i = 0; i < f->n && k < max; i++) {
                if (i == 0)
                        f->lidx0 = (int)k;
                pfds[k++] = (struct pollfd){ .fd = f->lfd[i], .events = POLLIN };
        }
        for (size_t i = 0; i < FORWARD_MAX_CONNS; i++) {
                struct conn *c = f->conns[i];

                if (!c)
                        continue;
                for (int s = 0; s < 2; s++) {
                        short ev = 0;

                        c->pidx[s] = -1;
                        if (c->fd[s] < 0 || k >= max)
                                continue;
                        if (s == 1 && c->connecting)
                                ev = POLLOUT;
                        else if (!c->connecting && !c->waiting_socket) {
                                if (!c->eof[s] && c->len[s] == 0)
                                        ev |= POLLIN;
                                if (c->len[1 - s] > c->off[1 - s])
                                        ev |= POLLOUT;
                        }
                        if (!ev)
                                continue;
                        c->pidx[s] = (int)k;
                        pfds[k++] = (struct pollfd){ .fd = c->fd[s], .events = ev };
                }
        }
        return k;
}

static bool conn_step(struct conn *c, const struct pollfd *pfds)
{
        /* Returns false when the connection is finished or broken. */
        if (c->connecting) {
                int err = 0;
                socklen_t l = sizeof(err);

                if (c->pidx[1] < 0 || !pfds[c->pidx[1]].revents)
                        return true;
                if (getsockopt(c->fd[1], SOL_SOCKET, SO_ERROR, &err, &l) < 0 || err)
                        return false;
                c->connecting = false;
                return true;
        }
        for (int s = 0; s < 2; s++) {
                short re = c->pidx[s] >= 0 ? pfds[c->pidx[s]].revents : 0;

                if (re & (POLLIN | POLLHUP | POLLERR)) {
                        if (c->len[s] == 0 && !c->eof[s]) {
                                ssize_t n = read(c->fd[s], c->buf[s], FORWARD_BUF);

                                if (n > 0) {
                                        c->len[s] = (size_t)n;
                                        c->off[s] = 0;
                                } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
                                        if (n < 0 && errno != ECONNRESET)
                                                return false;
                                        c->eof[s] = true;
                                }
                        }
                }
                if ((re & POLLOUT) || c->len[1 - s] > c->off[1 - s]) {
                        if (c->len[1 - s] > c->off[1 - s]) {
                                ssize_t n = send(c->fd[s], c->buf[1 - s] + c->off[1 - s],
                                                 c->len[1 - s] - c->off[1 - s],
                                                 MSG_NOSIGNAL | MSG_DONTWAIT);

                                if (n < 0 && errno != EAGAIN && errno != EINTR)
                                        return false;
                                if (n > 0)
                                        c->off[1 - s] += (size_t)n;
                                if (c->off[1 - s] == c->len[1 - s])
                                        c->len[1 - s] = c->off[1 - s] = 0;
                        }
                }
        }
        for (int s = 0; s < 2; s++)
                if (c->eof[s] && c->len[s] == 0 && !c->shut[1 - s]) {
                        (void)shutdown(c->fd[1 - s], SHUT_WR);
                        c->shut[1 - s] = true;
                }
        return !(c->shut[0] && c->shut[1]);
}

void forward_dispatch(struct forward *f, const struct pollfd *pfds, size_t n,
                      int (*request_socket)(uint16_t port, void *userdata), void *userdata)
{
        if (!f)
                return;
        for (size_t i = 0; i < FORWARD_MAX_CONNS; i++) {
                struct conn *c = f->conns[i];

                if (!c || c->waiting_socket)
                        continue;
                if (!conn_step(c, pfds)) {
                        conn_free(c);
                        f->conns[i] = NULL;
                }
        }
        for (size_t l = 0; f->lidx0 >= 0 && l < f->n; l++) {
                size_t idx = (size_t)f->lidx0 + l;
                int fd;

                if (idx >= n || !(pfds[idx].revents & POLLIN))
                        continue;
                fd = accept4(f->lfd[l], NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
                if (fd < 0)
                        continue;
                size_t slot = FORWARD_MAX_CONNS;
                for (size_t i = 0; i < FORWARD_MAX_CONNS; i++)
                        if (!f->conns[i]) {
                                slot = i;
                                break;
                        }
                struct conn *c = slot < FORWARD_MAX_CONNS ? calloc(1, sizeof(*c)) : NULL;
                if (c) {
                        c->buf[0] = malloc(FORWARD_BUF);
                        c->buf[1] = malloc(FORWARD_BUF);
                }
                if (!c || !c->buf[0] || !c->buf[1] || request_socket(f->ports[l], userdata) < 0) {
                        if (c)
                                c->fd[0] = c->fd[1] = -1;
                        conn_free(c);
                        close(fd);
                        continue;
                }
                c->fd[0] = fd;
                c->fd[1] = -1;
                c->port = f->ports[l];
                c->waiting_socket = true;
                c->pidx[0] = c->pidx[1] = -1;
                f->conns[slot] = c;
        }
}

void forward_socket_arrived(struct forward *f, uint16_t port, int fd)
{
        struct sockaddr_in sa = {
                .sin_family = AF_INET,
                .sin_port = htons(port),
                .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
        };

        if (!f) {
                safe_close(fd);
                return;
        }
        /* The oldest connection waiting for this port gets it (requests are answered in
         * order). */
        for (size_t i = 0; i < FORWARD_MAX_CONNS; i++) {
                struct conn *c = f->conns[i];

                if (!c || !c->waiting_socket || c->port != port)
                        continue;
                c->waiting_socket = false;
                if (fd < 0) {
                        conn_free(c);
                        f->conns[i] = NULL;
                        return;
                }
                c->fd[1] = fd;
                (void)fd_set_nonblock(fd, true);
                if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
                        if (errno != EINPROGRESS) {
                                conn_free(c);
                                f->conns[i] = NULL;
                                return;
                        }
                        c->connecting = true;
                }
                return;
        }
        safe_close(fd);
}
