/* Network namespace concerns inside the sandbox: bring up loopback with libnl-route-3, create
 * the proxy session listener and sockets for publish forwarding. Trust level: sandbox init,
 * before privileges are dropped (CAP_NET_ADMIN over the new namespace only). */
#include "supervisor/netns.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netlink/netlink.h>
#include <netlink/route/link.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/macro.h"

/* libnl error codes -> -errno, at the edge. */
static int nl_to_errno(int nlerr)
{
        switch (-nlerr) {
        case NLE_NOMEM:
                return -ENOMEM;
        case NLE_PERM:
                return -EPERM;
        case NLE_NODEV:
        case NLE_OBJ_NOTFOUND:
                return -ENODEV;
        case NLE_AGAIN:
                return -EAGAIN;
        default:
                return -EIO;
        }
}

int netns_loopback_up(void)
{
        struct nl_sock *sk = nl_socket_alloc();
        struct rtnl_link *link = NULL, *change = NULL;
        int r;

        if (!sk)
                return -ENOMEM;
        r = nl_connect(sk, NETLINK_ROUTE);
        if (r < 0)
                goto out;
        r = rtnl_link_get_kernel(sk, 0, "lo", &link);
        if (r < 0)
                goto out;
        change = rtnl_link_alloc();
        if (!change) {
                r = -NLE_NOMEM;
                goto out;
        }
        rtnl_link_set_flags(change, IFF_UP);
        r = rtnl_link_change(sk, link, change, 0);
out:
        rtnl_link_put(change);
        rtnl_link_put(link);
        nl_socket_free(sk);
        return r < 0 ? nl_to_errno(r) : 0;
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
