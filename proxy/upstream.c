/* libcurl multi driven by the proxy's epoll loop (CURLMOPT_SOCKETFUNCTION/TIMERFUNCTION).
 * Trust level: talks to the configured providers; the bytes they return are untrusted and are
 * handled by proxy/relay.c. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/log.h"
#include "common/macro.h"
#include "common/time-util.h"
#include "proxy/proxy.h"
#include "proxy/relay.h"
#include "proxy/upstream.h"

/* One socket curl gave us to watch. Sockets curl opens through open_socket() (its connections)
 * stay in the epoll set between transfers: curl says CURL_POLL_REMOVE when a transfer ends even
 * though the connection stays in its cache for the next one, and deleting and re-adding the fd
 * each time cost two epoll_ctl per request. Such a socket leaves the set only when it closes
 * (close_socket()) or when something arrives while curl is not watching it (the provider closed
 * an idle connection: curl notices when it next checks the connection before reuse). Other fds
 * curl may ask about (a resolver's socketpair) are added and removed as curl says. */
struct curl_sock {
        struct loop_source src; /* first */
        uint32_t registered;    /* events in the epoll set; 0: not in it */
        bool in_set;
        bool watched;           /* curl wants events now */
        bool managed;           /* opened by open_socket(): closed through close_socket() */
};
/* Managed sockets by fd (fds are small and dense). */
static struct curl_sock **by_fd;
static size_t n_by_fd;

static CURLM *multi;
/* curl's single timer is kept as a deadline the loop folds into its epoll_wait timeout: no
 * timerfd syscalls per request, and "timeout 0" runs right after the current loop pass. */
static int64_t deadline_us = -1;
/* Reused easy handles: created with the transport options every request shares (below), never
 * curl_easy_reset (that clears and rebuilds several KiB per request); the per-request options
 * are all set again for every transfer (proxy/relay.c). */
#define EASY_POOL_MAX 128
static CURL *easy_pool[EASY_POOL_MAX];
static size_t n_easy_pool;

static void check_done(void)
{
        CURLMsg *m;
        int left;
        while ((m = curl_multi_info_read(multi, &left))) {
                if (m->msg != CURLMSG_DONE)
                        continue;
                CURL *e = m->easy_handle;
                CURLcode res = m->data.result;
                struct request *req = NULL;
                curl_easy_getinfo(e, CURLINFO_PRIVATE, (char **)&req);
                curl_multi_remove_handle(multi, e);
                relay_upstream_done(req, res);
        }
}

static void sock_unregister(struct curl_sock *cs)
{
        if (cs->in_set)
                loop_del(&cs->src);
        cs->in_set = false;
        cs->registered = 0;
}

static void on_sock(struct loop_source *s, uint32_t events)
{
        struct curl_sock *cs = (struct curl_sock *)s;
        if (!cs->watched) { /* idle cached connection: peer closed or sent junk */
                sock_unregister(cs);
                return;
        }
        int mask = 0, running;
        if (events & EPOLLIN)
                mask |= CURL_CSELECT_IN;
        if (events & EPOLLOUT)
                mask |= CURL_CSELECT_OUT;
        if (events & (EPOLLERR | EPOLLHUP))
                mask |= CURL_CSELECT_ERR;
        curl_multi_socket_action(multi, s->fd, mask, &running);
        check_done();
}

void upstream_run_timers(void)
{
        if (deadline_us < 0 || (int64_t)now_usec() < deadline_us)
                return;
        deadline_us = -1;
        int running;
        curl_multi_socket_action(multi, CURL_SOCKET_TIMEOUT, 0, &running);
        check_done();
}

int upstream_timeout_ms(void)
{
        if (deadline_us < 0)
                return -1;
        int64_t left = deadline_us - (int64_t)now_usec();
        return left <= 0 ? 0 : (int)((left + 999) / 1000);
}

static struct curl_sock *sock_lookup(curl_socket_t fd)
{
        return fd >= 0 && (size_t)fd < n_by_fd ? by_fd[fd] : NULL;
}

static struct curl_sock *sock_new(curl_socket_t fd, bool managed)
{
        if (managed && (size_t)fd >= n_by_fd) {
                size_t n = MAX((size_t)fd + 1, n_by_fd * 2);
                n = MAX(n, (size_t)64);
                struct curl_sock **nb = realloc(by_fd, n * sizeof(*nb));
                if (!nb)
                        return NULL;
                memset(nb + n_by_fd, 0, (n - n_by_fd) * sizeof(*nb));
                by_fd = nb;
                n_by_fd = n;
        }
        struct curl_sock *cs = calloc(1, sizeof(*cs));
        if (!cs)
                return NULL;
        cs->src.fd = fd;
        cs->src.handler = on_sock;
        cs->managed = managed;
        if (managed)
                by_fd[fd] = cs;
        return cs;
}

static void sock_free(struct curl_sock *cs)
{
        sock_unregister(cs);
        if (cs->managed && by_fd[cs->src.fd] == cs)
                by_fd[cs->src.fd] = NULL;
        loop_free_source(cs);
}

static curl_socket_t open_socket(void *userp, curlsocktype purpose, struct curl_sockaddr *a)
{
        int fd = socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
        if (fd < 0)
                return CURL_SOCKET_BAD;
        struct curl_sock *stale = sock_lookup(fd);
        if (stale) { /* closed without close_socket(): the kernel dropped it from the set */
                stale->in_set = false;
                sock_free(stale);
        }
        if (!sock_new(fd, true)) {
                close(fd);
                return CURL_SOCKET_BAD;
        }
        return fd;
}

static int close_socket(void *userp, curl_socket_t fd)
{
        struct curl_sock *cs = sock_lookup(fd);
        if (cs) {
                curl_multi_assign(multi, fd, NULL);
                sock_free(cs);
        }
        return close(fd);
}

static int sock_cb(CURL *e, curl_socket_t fd, int what, void *userp, void *socketp)
{
        struct curl_sock *cs = socketp ? socketp : sock_lookup(fd);
        if (what == CURL_POLL_REMOVE) {
                if (!cs)
                        return 0;
                curl_multi_assign(multi, fd, NULL);
                if (cs->managed)
                        cs->watched = false; /* stays in the set until it closes or stirs */
                else
                        sock_free(cs);
                return 0;
        }
        uint32_t ev = (what & CURL_POLL_IN ? EPOLLIN : 0) | (what & CURL_POLL_OUT ? EPOLLOUT : 0);
        if (!cs && !(cs = sock_new(fd, false)))
                return -1;
        if (!socketp)
                curl_multi_assign(multi, fd, cs);
        cs->watched = true;
        if (cs->in_set && cs->registered == ev)
                return 0;
        int r = cs->in_set ? loop_mod(&cs->src, ev) : loop_add(&cs->src, ev);
        if (r < 0)
                return -1;
        cs->in_set = true;
        cs->registered = ev;
        return 0;
}

CURL *upstream_easy_get(void)
{
        if (n_easy_pool > 0)
                return easy_pool[--n_easy_pool];
        CURL *h = curl_easy_init();
        if (!h)
                return NULL;
        curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
        curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
        curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
        curl_easy_setopt(h, CURLOPT_BUFFERSIZE, 16384L);
        curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, NULL);
        /* Never through a proxy named by the environment (http_proxy & co. would see the API
         * key); also spares curl reading those variables on every request. */
        curl_easy_setopt(h, CURLOPT_PROXY, "");
        curl_easy_setopt(h, CURLOPT_POST, 1L);
        curl_easy_setopt(h, CURLOPT_OPENSOCKETFUNCTION, open_socket);
        curl_easy_setopt(h, CURLOPT_CLOSESOCKETFUNCTION, close_socket);
        return h;
}

void upstream_easy_put(CURL *e)
{
        if (!e)
                return;
        if (n_easy_pool < EASY_POOL_MAX)
                easy_pool[n_easy_pool++] = e;
        else
                curl_easy_cleanup(e);
}

static int timer_cb(CURLM *m, long timeout_ms, void *userp)
{
        deadline_us = timeout_ms < 0 ? -1 : (int64_t)now_usec() + (int64_t)timeout_ms * 1000;
        return 0;
}

int upstream_init(void)
{
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
                return -EIO;
        multi = curl_multi_init();
        if (!multi)
                return -ENOMEM;
        curl_multi_setopt(multi, CURLMOPT_SOCKETFUNCTION, sock_cb);
        curl_multi_setopt(multi, CURLMOPT_TIMERFUNCTION, timer_cb);
        /* Idle keep-alive connections kept per host: enough for bursts of parallel requests. */
        curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, 256L);
        return 0;
}

void upstream_free(void)
{
        if (multi)
                curl_multi_cleanup(multi);
        multi = NULL;
        while (n_easy_pool > 0)
                curl_easy_cleanup(easy_pool[--n_easy_pool]);
        curl_global_cleanup();
        free(by_fd);
        by_fd = NULL;
        n_by_fd = 0;
}

int upstream_start(CURL *easy)
{
        CURLMcode mc = curl_multi_add_handle(multi, easy);
        if (mc != CURLM_OK) {
                log_error("upstream: curl_multi_add_handle: %s", curl_multi_strerror(mc));
                return -EIO;
        }
        return 0;
}

void upstream_cancel(CURL *easy)
{
        curl_multi_remove_handle(multi, easy);
}
