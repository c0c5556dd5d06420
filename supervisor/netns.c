/* Network namespace concerns of the sandbox: bring up loopback (SIOCSIFFLAGS), create the
 * proxy session listener and sockets for publish forwarding. Trust level: sandbox init, before
 * privileges are dropped (CAP_NET_ADMIN over the new namespace only), or in root mode a helper
 * thread of the supervisor that builds the namespace (netns_prepare_*). */
#include "supervisor/netns.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/macro.h"

int netns_loopback_up(void)
{
        struct ifreq ifr = { .ifr_name = "lo" };
        _cleanup_close_ int fd = -1;

        /* SIOCSIFFLAGS: three system calls and no allocation; libnl needed a dozen and
         * several mallocs. */
        fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return NEG_ERRNO();
        if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
                return NEG_ERRNO();
        if (ifr.ifr_flags & IFF_UP)
                return 0;
        ifr.ifr_flags |= IFF_UP;
        if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
                return NEG_ERRNO();
        return 0;
}

int netns_listen_loopback(uint16_t port, int backlog)
{
        struct sockaddr_in sa = {
                .sin_family = AF_INET,
                .sin_port = htons(port),
                .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
        };
        _cleanup_close_ int fd = -1;
        int one = 1;

        fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return NEG_ERRNO();
        if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0)
                return NEG_ERRNO();
        if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
                return NEG_ERRNO();
        if (listen(fd, backlog) < 0)
                return NEG_ERRNO();
        return TAKE_FD(fd);
}

int netns_socket_tcp(void)
{
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

        return fd < 0 ? NEG_ERRNO() : fd;
}

/* Runs concurrently with the supervisor's main thread, which reports its results (no logging
 * here). Started only after init was clone3()d: a raw clone of a multi-threaded process would
 * copy glibc's locks and thread list as this thread left them. System calls only anyway. */
static void *prepare_thread(void *userdata)
{
        struct netns_prepared *p = userdata;
        int r;

        p->netns_fd = p->listener_fd = -1;
        p->step = "create the network namespace";
        if (unshare(CLONE_NEWNET) < 0) {
                p->error = NEG_ERRNO();
                return NULL;
        }
        p->netns_fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
        if (p->netns_fd < 0) {
                p->error = NEG_ERRNO();
                return NULL;
        }
        p->step = "bring up loopback";
        r = netns_loopback_up();
        if (r < 0) {
                p->error = r;
                return NULL;
        }
        if (p->listener) {
                p->step = "listen on 127.0.0.1:32125";
                r = netns_listen_loopback(NETNS_PROXY_PORT, 128);
                if (r < 0) {
                        p->error = r;
                        return NULL;
                }
                p->listener_fd = r;
        }
        p->step = NULL;
        return NULL;
}

int netns_prepare_start(struct netns_prepared *p, bool listener)
{
        int r;

        pthread_attr_t attr;
        sigset_t all, old;

        *p = (struct netns_prepared){ .listener = listener, .netns_fd = -1, .listener_fd = -1 };
        /* A few system calls need no 8 MiB stack. */
        if ((r = pthread_attr_init(&attr)) > 0)
                return -r;
        (void)pthread_attr_setstacksize(&attr, 64 * 1024);
        /* Every signal blocked in the thread: signals for qclaw-run go to the main thread,
         * which forwards them to the agent. */
        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &old);
        r = pthread_create(&p->thread, &attr, prepare_thread, p);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        pthread_attr_destroy(&attr);
        return r > 0 ? -r : 0;
}

int netns_prepare_finish(struct netns_prepared *p)
{
        int r = pthread_join(p->thread, NULL);

        if (r > 0) {
                p->error = -r;
                p->step = "wait for the network namespace";
        }
        if (p->error < 0) {
                p->netns_fd = safe_close(p->netns_fd);
                p->listener_fd = safe_close(p->listener_fd);
        }
        return p->error;
}
