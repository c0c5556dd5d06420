/* Network namespace concerns inside the sandbox: bring up loopback (SIOCSIFFLAGS), create the
 * proxy session listener and sockets for publish forwarding. Trust level: sandbox init, before
 * privileges are dropped (CAP_NET_ADMIN over the new namespace only). */
#include "supervisor/netns.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
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
