/* libcurl multi driven by the proxy's epoll loop (CURLMOPT_SOCKETFUNCTION/TIMERFUNCTION).
 * Trust level: talks to the configured providers; the bytes they return are untrusted and are
 * handled by proxy/relay.c. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>

#include "common/log.h"
#include "common/macro.h"
#include "proxy/proxy.h"
#include "proxy/relay.h"
#include "proxy/upstream.h"

struct curl_sock {
        struct loop_source src; /* first */
};

static CURLM *multi;
static struct loop_source timer_src = { .fd = -1 };

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

static void on_sock(struct loop_source *s, uint32_t events)
{
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

static void on_timer(struct loop_source *s, uint32_t events)
{
        uint64_t n;
        (void)!read(s->fd, &n, sizeof(n));
        int running;
        curl_multi_socket_action(multi, CURL_SOCKET_TIMEOUT, 0, &running);
        check_done();
}

static int sock_cb(CURL *e, curl_socket_t fd, int what, void *userp, void *socketp)
{
        struct curl_sock *cs = socketp;
        if (what == CURL_POLL_REMOVE) {
                if (cs) {
                        loop_del(&cs->src);
                        curl_multi_assign(multi, fd, NULL);
                        loop_free_source(cs);
                }
                return 0;
        }
        uint32_t ev = (what & CURL_POLL_IN ? EPOLLIN : 0) | (what & CURL_POLL_OUT ? EPOLLOUT : 0);
        if (!cs) {
                cs = calloc(1, sizeof(*cs));
                if (!cs)
                        return -1;
                cs->src.fd = fd;
                cs->src.handler = on_sock;
                if (loop_add(&cs->src, ev) < 0) {
                        free(cs);
                        return -1;
                }
                curl_multi_assign(multi, fd, cs);
        } else if (loop_mod(&cs->src, ev) < 0)
                return -1;
        return 0;
}

static int timer_cb(CURLM *m, long timeout_ms, void *userp)
{
        struct itimerspec its = { 0 };
        if (timeout_ms >= 0) {
                if (timeout_ms == 0)
                        its.it_value.tv_nsec = 1; /* as soon as possible, from the loop */
                else {
                        its.it_value.tv_sec = timeout_ms / 1000;
                        its.it_value.tv_nsec = (timeout_ms % 1000) * 1000000L;
                }
        }
        return timerfd_settime(timer_src.fd, 0, &its, NULL) < 0 ? -1 : 0;
}

int upstream_init(void)
{
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
                return -EIO;
        multi = curl_multi_init();
        if (!multi)
                return -ENOMEM;
        timer_src.fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
        if (timer_src.fd < 0)
                return NEG_ERRNO();
        timer_src.handler = on_timer;
        int r = loop_add(&timer_src, EPOLLIN);
        if (r < 0)
                return r;
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
        if (timer_src.fd >= 0) {
                loop_del(&timer_src);
                close(timer_src.fd);
                timer_src.fd = -1;
        }
        curl_global_cleanup();
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
