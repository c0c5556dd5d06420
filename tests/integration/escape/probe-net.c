/* escape-probe, network and Unix-socket categories: egress (TCP/UDP/raw/packet/vsock/netlink),
 * cloud metadata, host loopback, the proxy endpoint (must work), DNS, Unix sockets.
 * Trust level: test program, runs as the untrusted agent. A connect to a non-loopback address is
 * only tried when no route leaves the network namespace (otherwise nothing is sent). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "probe.h"

/* Is there a route that leaves through something other than lo? */
static bool route_leaves(int family, char *ifname, size_t len)
{
        FILE *f = fopen(family == AF_INET ? "/proc/net/route" : "/proc/net/ipv6_route", "re");
        if (!f)
                return false; /* no /proc/net: nothing to route with either */
        char line[512];
        bool leaves = false;
        while (!leaves && fgets(line, sizeof(line), f)) {
                char dev[64] = "";
                if (family == AF_INET) {
                        if (strncmp(line, "Iface", 5) == 0 || sscanf(line, "%63s", dev) != 1)
                                continue;
                } else {
                        /* 10 fields; the device is the last */
                        char *last = strrchr(line, ' ');
                        if (!last || sscanf(last, "%63s", dev) != 1)
                                continue;
                }
                if (strcmp(dev, "lo") != 0) {
                        leaves = true;
                        snprintf(ifname, len, "%s", dev);
                }
        }
        fclose(f);
        return leaves;
}

/* Connect with a timeout; 0 on success, else an errno. */
static int connect_timeout(int fd, const struct sockaddr *sa, socklen_t len, int ms)
{
        int fl = fcntl(fd, F_GETFL);
        fcntl(fd, F_SETFL, fl | O_NONBLOCK);
        if (connect(fd, sa, len) == 0)
                return 0;
        if (errno != EINPROGRESS)
                return errno;
        struct pollfd p = { .fd = fd, .events = POLLOUT };
        int r = poll(&p, 1, ms);
        if (r == 0)
                return ETIMEDOUT;
        int err = 0;
        socklen_t l = sizeof(err);
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &l);
        fcntl(fd, F_SETFL, fl);
        return err;
}

static bool is_loopback(const struct sockaddr *sa)
{
        if (sa->sa_family == AF_INET)
                return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) >> 24) == 127;
        const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
        if (IN6_IS_ADDR_LOOPBACK(a))
                return true;
        return IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127;
}

static int make_addr(const char *host, int port, struct sockaddr_storage *ss, socklen_t *len)
{
        memset(ss, 0, sizeof(*ss));
        struct sockaddr_in *in = (struct sockaddr_in *)ss;
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
        if (inet_pton(AF_INET, host, &in->sin_addr) == 1) {
                in->sin_family = AF_INET;
                in->sin_port = htons(port);
                *len = sizeof(*in);
                return AF_INET;
        }
        if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
                in6->sin6_family = AF_INET6;
                in6->sin6_port = htons(port);
                *len = sizeof(*in6);
                return AF_INET6;
        }
        return -1;
}

/* TCP (or UDP with a probe datagram) to host:port; "ESCAPED" when it connects or a route out
 * exists. */
static void net_attempt(const char *name, const char *host, int port, int type)
{
        struct sockaddr_storage ss;
        socklen_t len;
        int fam = make_addr(host, port, &ss, &len);
        char dev[64];
        if (fam < 0) {
                attempt(name, false, "bad address");
                return;
        }
        bool v4mapped = fam == AF_INET6 &&
                        IN6_IS_ADDR_V4MAPPED(&((struct sockaddr_in6 *)&ss)->sin6_addr);
        if (!is_loopback((struct sockaddr *)&ss) &&
            (route_leaves(fam, dev, sizeof(dev)) ||
             (v4mapped && route_leaves(AF_INET, dev, sizeof(dev))))) {
                attempt(name, true, "a route leaves the namespace via %s; nothing sent", dev);
                return;
        }
        int fd = socket(fam, type | SOCK_CLOEXEC, 0);
        if (fd < 0) {
                attempt(name, false, "socket: %s", errname(errno));
                return;
        }
        int e = connect_timeout(fd, (struct sockaddr *)&ss, len, 1000);
        if (e == 0 && type == SOCK_DGRAM) {
                /* a connected UDP socket: send a byte and wait for an answer or an ICMP error */
                if (send(fd, "q", 1, 0) < 0) {
                        e = errno;
                } else {
                        struct pollfd p = { .fd = fd, .events = POLLIN };
                        char b[64];
                        if (poll(&p, 1, 1000) <= 0)
                                e = ETIMEDOUT;
                        else if (recv(fd, b, sizeof(b), 0) < 0)
                                e = errno;
                }
        }
        close(fd);
        if (e == 0)
                attempt(name, true, "%s %s:%d reachable", type == SOCK_DGRAM ? "udp" : "tcp",
                        host, port);
        else
                attempt(name, false, "%s", errname(e));
}

/* "ESCAPED" when the socket can be created at all. */
static void socket_attempt(const char *name, int domain, int type, int protocol)
{
        int fd = socket(domain, type | SOCK_CLOEXEC, protocol);
        if (fd >= 0) {
                close(fd);
                attempt(name, true, "socket created");
        } else {
                attempt(name, false, "%s", errname(errno));
        }
}

void cat_egress(void)
{
        net_attempt("egress/tcp4-192.0.2.1:80", "192.0.2.1", 80, SOCK_STREAM);
        net_attempt("egress/tcp4-1.1.1.1:443", "1.1.1.1", 443, SOCK_STREAM);
        net_attempt("egress/udp4-192.0.2.1:53", "192.0.2.1", 53, SOCK_DGRAM);
        net_attempt("egress/tcp6-2001:db8::1:80", "2001:db8::1", 80, SOCK_STREAM);
        net_attempt("egress/tcp6-mapped-::ffff:192.0.2.1:80", "::ffff:192.0.2.1", 80,
                    SOCK_STREAM);
        char dev[64];
        if (route_leaves(AF_INET, dev, sizeof(dev)) || route_leaves(AF_INET6, dev, sizeof(dev)))
                attempt("egress/any-route-out", true, "route via %s", dev);
        else
                attempt("egress/any-route-out", false, "no route leaves the namespace");

        socket_attempt("egress/icmp-ping-socket", AF_INET, SOCK_DGRAM, IPPROTO_ICMP);
        socket_attempt("egress/raw-socket", AF_INET, SOCK_RAW, IPPROTO_ICMP);
        socket_attempt("egress/af-packet", AF_PACKET, SOCK_RAW, 0);
        int fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd >= 0) {
                close(fd);
                attempt("egress/af-vsock", true, "socket created");
        } else {
                /* EAFNOSUPPORT: no vsock in this kernel; still reached it */
                if (filtered_errno(errno))
                        attempt("egress/af-vsock", false, "%s", errname(errno));
                else
                        attempt("egress/af-vsock", true, "reached the kernel: %s",
                                errname(errno));
        }
        socket_attempt("egress/netlink-audit", AF_NETLINK, SOCK_RAW, 9 /* NETLINK_AUDIT */);
}

void cat_metadata(void)
{
        net_attempt("metadata/169.254.169.254:80", "169.254.169.254", 80, SOCK_STREAM);
        net_attempt("metadata/100.100.100.200:80", "100.100.100.200", 80, SOCK_STREAM);
        net_attempt("metadata/168.63.129.16:80", "168.63.129.16", 80, SOCK_STREAM);
        net_attempt("metadata/fd00:ec2::254:80", "fd00:ec2::254", 80, SOCK_STREAM);
}

void cat_loopback(void)
{
        char name[96];
        if (O.canary_port > 0) {
                net_attempt("loopback/host-canary-127.0.0.1", "127.0.0.1", O.canary_port,
                            SOCK_STREAM);
                net_attempt("loopback/host-canary-::ffff:127.0.0.1", "::ffff:127.0.0.1",
                            O.canary_port, SOCK_STREAM);
                net_attempt("loopback/host-canary-::1", "::1", O.canary_port, SOCK_STREAM);
        }
        for (int i = 0; i < O.n_other_ports; i++) {
                snprintf(name, sizeof(name), "loopback/proxy-other-port-%d", O.other_ports[i]);
                net_attempt(name, "127.0.0.1", O.other_ports[i], SOCK_STREAM);
        }
}

/* The one thing that must work: the proxy endpoint. */
void cat_proxy(void)
{
        if (O.proxy_port <= 0) {
                check("proxy/endpoint", false, "no --proxy-port given");
                return;
        }
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(O.proxy_port),
                                 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0) {
                check("proxy/endpoint", false, errname(errno));
                return;
        }
        int e = connect_timeout(fd, (struct sockaddr *)&a, sizeof(a), 3000);
        if (e) {
                close(fd);
                check("proxy/endpoint", false, errname(e));
                return;
        }
        static const char req[] = "GET /healthz HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
        char buf[256] = "";
        ssize_t n = -1;
        if (write(fd, req, sizeof(req) - 1) == (ssize_t)sizeof(req) - 1) {
                struct pollfd p = { .fd = fd, .events = POLLIN };
                if (poll(&p, 1, 5000) > 0)
                        n = read(fd, buf, sizeof(buf) - 1);
        }
        close(fd);
        if (n > 0)
                buf[n] = 0;
        char *eol = strpbrk(buf, "\r\n");
        if (eol)
                *eol = 0;
        check("proxy/endpoint", n > 0 && strncmp(buf, "HTTP/1.", 7) == 0 && strstr(buf, " 200"),
              n > 0 ? buf : "no answer");
}

void cat_dns(void)
{
        /* a minimal DNS query for canary.example. A */
        static const unsigned char q[] = { 0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0,
                                           6, 'c', 'a', 'n', 'a', 'r', 'y', 7, 'e', 'x',
                                           'a', 'm', 'p', 'l', 'e', 0, 0, 1, 0, 1 };
        static const struct {
                const char *name, *host;
        } servers[] = {
                { "dns/udp-127.0.0.53", "127.0.0.53" },
                { "dns/udp-8.8.8.8", "8.8.8.8" },
        };
        for (size_t i = 0; i < sizeof(servers) / sizeof(servers[0]); i++) {
                struct sockaddr_storage ss;
                socklen_t len;
                char dev[64];
                int fam = make_addr(servers[i].host, 53, &ss, &len);
                if (!is_loopback((struct sockaddr *)&ss) && route_leaves(fam, dev, sizeof(dev))) {
                        attempt(servers[i].name, true, "route via %s; nothing sent", dev);
                        continue;
                }
                int fd = socket(fam, SOCK_DGRAM | SOCK_CLOEXEC, 0);
                if (fd < 0) {
                        attempt(servers[i].name, false, "socket: %s", errname(errno));
                        continue;
                }
                int e = 0;
                char ans[512];
                if (connect(fd, (struct sockaddr *)&ss, len) < 0 || send(fd, q, sizeof(q), 0) < 0)
                        e = errno;
                if (!e) {
                        struct pollfd p = { .fd = fd, .events = POLLIN };
                        if (poll(&p, 1, 1000) <= 0)
                                e = ETIMEDOUT;
                        else if (recv(fd, ans, sizeof(ans), 0) < 0)
                                e = errno;
                }
                close(fd);
                if (e)
                        attempt(servers[i].name, false, "%s", errname(e));
                else
                        attempt(servers[i].name, true, "a DNS server answered");
        }
        net_attempt("dns/tcp-8.8.8.8:53", "8.8.8.8", 53, SOCK_STREAM);

        struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM }, *res = NULL;
        int r = getaddrinfo("canary.qclaw-escape.example", "80", &hints, &res);
        if (r == 0) {
                freeaddrinfo(res);
                attempt("dns/getaddrinfo", true, "name resolved");
        } else {
                attempt("dns/getaddrinfo", false, "%s", gai_strerror(r));
        }
}

/* ---------- Unix sockets ---------- */

int unix_connect(const char *path, bool abstract, int type)
{
        int fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return errno;
        struct sockaddr_un a = { .sun_family = AF_UNIX };
        size_t n = strlen(path);
        if (n + 2 > sizeof(a.sun_path)) {
                close(fd);
                return ENAMETOOLONG;
        }
        memcpy(a.sun_path + (abstract ? 1 : 0), path, n);
        socklen_t len = offsetof(struct sockaddr_un, sun_path) + n + (abstract ? 1 : 0);
        int e = connect(fd, (struct sockaddr *)&a, len) < 0 ? errno : 0;
        close(fd);
        return e;
}

void cat_unix(void)
{
        char name[160];
        if (O.abstract) {
                int e = unix_connect(O.abstract, true, SOCK_STREAM);
                snprintf(name, sizeof(name), "unix/abstract-@%s", O.abstract);
                if (e == 0)
                        attempt(name, true, "connected to the host's abstract socket");
                else
                        attempt(name, false, "%s", errname(e));
        }
        static const char *const well_known[] = {
                "/run/dbus/system_bus_socket", "/var/run/docker.sock",
                "/run/containerd/containerd.sock", "/run/systemd/private",
        };
        const char *all[32];
        int n = 0;
        for (size_t i = 0; i < sizeof(well_known) / sizeof(well_known[0]); i++)
                all[n++] = well_known[i];
        for (int i = 0; i < O.n_paths && n < 32; i++)
                all[n++] = O.paths[i];
        for (int i = 0; i < n; i++) {
                snprintf(name, sizeof(name), "unix/path-%s", all[i]);
                int e = unix_connect(all[i], false, SOCK_STREAM);
                if (e == EPROTOTYPE)
                        e = unix_connect(all[i], false, SOCK_SEQPACKET);
                if (e == 0)
                        attempt(name, true, "connected");
                else
                        attempt(name, false, "%s", errname(e));
        }
        int sv[2];
        if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv) == 0) {
                close(sv[0]);
                close(sv[1]);
                attempt("unix/socketpair-dgram", true, "created (can sendto() pathname sockets)");
        } else {
                attempt("unix/socketpair-dgram", false, "%s", errname(errno));
        }
}
