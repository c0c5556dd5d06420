/* The proxy's single epoll loop: every fd (listeners, MHD, curl sockets, control socket, signals,
 * tick) is a loop_source dispatched from one thread. Trust level: plumbing, no parsing. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/epoll.h>

#include "common/macro.h"
#include "proxy/proxy.h"

#define LOOP_EVENTS_MAX 256

static int epfd = -1;
/* Sources removed while a batch is being dispatched are freed after the batch, so a later event
 * in the same batch never touches freed memory (it sees fd == -1 and is skipped). */
static void *graveyard[LOOP_EVENTS_MAX * 4];
static size_t n_graveyard;
static bool dispatching;

int loop_init(void)
{
        epfd = epoll_create1(EPOLL_CLOEXEC);
        return epfd < 0 ? NEG_ERRNO() : 0;
}

int loop_add(struct loop_source *s, uint32_t events)
{
        struct epoll_event ev = { .events = events, .data.ptr = s };
        return epoll_ctl(epfd, EPOLL_CTL_ADD, s->fd, &ev) < 0 ? NEG_ERRNO() : 0;
}

int loop_mod(struct loop_source *s, uint32_t events)
{
        struct epoll_event ev = { .events = events, .data.ptr = s };
        return epoll_ctl(epfd, EPOLL_CTL_MOD, s->fd, &ev) < 0 ? NEG_ERRNO() : 0;
}

void loop_del(struct loop_source *s)
{
        if (s->fd >= 0)
                (void)epoll_ctl(epfd, EPOLL_CTL_DEL, s->fd, NULL);
}

void loop_free_source(void *s)
{
        if (!s)
                return;
        ((struct loop_source *)s)->fd = -1;
        if (dispatching && n_graveyard < ELEMENTSOF(graveyard)) {
                graveyard[n_graveyard++] = s;
                return;
        }
        free(s);
}

int loop_run_once(int timeout_ms)
{
        struct epoll_event evs[LOOP_EVENTS_MAX];
        int n = epoll_wait(epfd, evs, LOOP_EVENTS_MAX, timeout_ms);
        if (n < 0)
                return errno == EINTR ? 0 : NEG_ERRNO();
        dispatching = true;
        for (int i = 0; i < n; i++) {
                struct loop_source *s = evs[i].data.ptr;
                if (s->fd >= 0)
                        s->handler(s, evs[i].events);
        }
        dispatching = false;
        for (size_t i = 0; i < n_graveyard; i++)
                free(graveyard[i]);
        n_graveyard = 0;
        return n;
}
