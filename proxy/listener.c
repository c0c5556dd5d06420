/* Listeners: the configured TCP ones (callers identify with a bearer token) and the per-session
 * ones qclaw-run hands over on the control socket (the listener IS the identity). Accepted
 * sockets go to MHD with that identity attached; identity never comes from request headers on a
 * session listener. Trust level: accepts untrusted agent connections. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include "common/fd-util.h"
#include "common/log.h"
#include "common/macro.h"
#include "proxy/proxy.h"

struct listener {
        struct loop_source src; /* first: freed through loop_free_source */
        struct session *session; /* ref; NULL: configured TCP listener */
        struct listener *next;
};

static void listener_on_ready(struct loop_source *s, uint32_t events)
{
        struct listener *l = (struct listener *)s;
        for (int i = 0; i < 64; i++) {
                struct sockaddr_storage ss;
                socklen_t sl = sizeof(ss);
                int fd = accept4(l->src.fd, (struct sockaddr *)&ss, &sl,
                                 SOCK_NONBLOCK | SOCK_CLOEXEC);
                if (fd < 0) {
                        if (errno == EINTR || errno == ECONNABORTED)
                                continue;
                        if (errno != EAGAIN && errno != EWOULDBLOCK)
                                log_warn("accept: %m");
                        return;
                }
                if (P.draining) {
                        close(fd);
                        continue;
                }
                (void)server_add_connection(fd, (struct sockaddr *)&ss, sl,
                                            session_ref(l->session), !l->session);
        }
}

static int listener_add(int fd, struct session *s)
{
        struct listener *l = calloc(1, sizeof(*l));
        if (!l) {
                close(fd);
                return -ENOMEM;
        }
        l->src.fd = fd;
        l->src.handler = listener_on_ready;
        l->session = session_ref(s);
        int r = fd_set_nonblock(fd, true);
        if (r >= 0)
                r = loop_add(&l->src, EPOLLIN);
        if (r < 0) {
                session_unref(l->session);
                close(fd);
                free(l);
                return r;
        }
        l->next = P.listeners;
        P.listeners = l;
        return 0;
}

/* "127.0.0.1:32125" or "[::1]:32125" */
static int parse_addr(const char *addr, struct sockaddr_storage *ss, socklen_t *len)
{
        char host[64];
        const char *colon = strrchr(addr, ':');
        if (!colon)
                return -EINVAL;
        size_t hl = (size_t)(colon - addr);
        if (hl >= sizeof(host))
                return -EINVAL;
        memcpy(host, addr, hl);
        host[hl] = 0;
        unsigned long long port;
        if (parse_u64(colon + 1, &port) < 0 || port > 65535)
                return -EINVAL;
        memset(ss, 0, sizeof(*ss));
        if (host[0] == '[') {
                if (hl < 2 || host[hl - 1] != ']')
                        return -EINVAL;
                host[hl - 1] = 0;
                struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
                s6->sin6_family = AF_INET6;
                s6->sin6_port = htons((uint16_t)port);
                if (inet_pton(AF_INET6, host + 1, &s6->sin6_addr) != 1)
                        return -EINVAL;
                *len = sizeof(*s6);
        } else {
                struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
                s4->sin_family = AF_INET;
                s4->sin_port = htons((uint16_t)port);
                if (inet_pton(AF_INET, host, &s4->sin_addr) != 1)
                        return -EINVAL;
                *len = sizeof(*s4);
        }
        return 0;
}

int listener_open_tcp(const char *addr)
{
        struct sockaddr_storage ss;
        socklen_t sl;
        int r = parse_addr(addr, &ss, &sl);
        if (r < 0) {
                log_error("listen address \"%s\": expected IPV4:PORT or [IPV6]:PORT", addr);
                return r;
        }
        _cleanup_close_ int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
                                        0);
        if (fd < 0)
                return NEG_ERRNO();
        int one = 1;
        (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (ss.ss_family == AF_INET6)
                (void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
        if (bind(fd, (struct sockaddr *)&ss, sl) < 0) {
                r = NEG_ERRNO();
                log_error("listen %s: bind: %s (is another proxy running on that port?)", addr,
                          strerror(-r));
                return r;
        }
        if (listen(fd, 4096) < 0)
                return NEG_ERRNO();
        return listener_add(TAKE_FD(fd), NULL);
}

int listener_add_session(int fd, struct session *s)
{
        int type = 0, acc = 0;
        socklen_t l = sizeof(type);
        if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &l) < 0 || type != SOCK_STREAM) {
                close(fd);
                return -ENOTSOCK;
        }
        l = sizeof(acc);
        if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &l) < 0 || !acc) {
                close(fd);
                return -EINVAL;
        }
        return listener_add(fd, s);
}

static void listener_free(struct listener *l)
{
        loop_del(&l->src);
        close(l->src.fd);
        session_unref(l->session);
        loop_free_source(l);
}

void listener_close_session(struct session *s)
{
        for (struct listener **p = &P.listeners; *p;) {
                struct listener *l = *p;
                if (l->session == s) {
                        *p = l->next;
                        listener_free(l);
                } else
                        p = &l->next;
        }
}

void listener_close_all(void)
{
        while (P.listeners) {
                struct listener *l = P.listeners;
                P.listeners = l->next;
                listener_free(l);
        }
}
