/* escape-probe: tries the escapes of reference/sandbox-threats.md section 10 from inside a
 * sandbox and prints one line per attempt:
 *   ATTEMPT category/name: blocked (ERRNO or what stopped it)
 *   ATTEMPT category/name: ESCAPED (what happened)
 *   CHECK category/name: ok (...) | FAILED (...)      -- things that must work (the proxy)
 * Trust level: test program, runs as the untrusted agent. It never sends traffic off the
 * machine: a connect to a non-loopback address is only tried when no route leaves the network
 * namespace (otherwise the existence of the route is the escape and nothing is sent).
 * Built without sanitizers: their runtimes make syscalls a sandbox refuses. */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef TIOCLINUX
#define TIOCLINUX 0x541C
#endif

struct opts {
        int proxy_port, canary_port;
        int other_ports[8];
        int n_other_ports;
        const char *abstract;
        const char *paths[16];
        int n_paths;
        int host_pid;
        const char *secret_file;
        const char *profile_file;
        const char *control_socket;
        int pids_try;
        long mem_mb;
};
static struct opts O = { .pids_try = 1500, .mem_mb = 2048 };
static int n_escaped, n_blocked, n_check_failed;

static void attempt(const char *name, bool escaped, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
static void attempt(const char *name, bool escaped, const char *fmt, ...)
{
        char buf[512];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(buf, sizeof(buf), fmt, ap);
        va_end(ap);
        printf("ATTEMPT %s: %s (%s)\n", name, escaped ? "ESCAPED" : "blocked", buf);
        fflush(stdout);
        if (escaped)
                n_escaped++;
        else
                n_blocked++;
}

static void check(const char *name, bool ok, const char *what)
{
        printf("CHECK %s: %s (%s)\n", name, ok ? "ok" : "FAILED", what);
        fflush(stdout);
        if (!ok)
                n_check_failed++;
}

static const char *errname(int e)
{
        static char buf[32];
        switch (e) {
#define E(x)                                                                                       \
        case x:                                                                                    \
                return #x
                E(EPERM); E(ENOENT); E(ESRCH); E(EINTR); E(EIO); E(EBADF); E(EAGAIN); E(ENOMEM);
                E(EACCES); E(EFAULT); E(EBUSY); E(EEXIST); E(ENOTDIR); E(EINVAL); E(ENOTTY);
                E(EROFS); E(ENOSYS); E(ENOTSOCK); E(EAFNOSUPPORT); E(EPROTONOSUPPORT);
                E(EADDRNOTAVAIL); E(ENETUNREACH); E(ENETDOWN); E(ECONNREFUSED); E(ETIMEDOUT);
                E(EHOSTUNREACH); E(EOPNOTSUPP); E(ESOCKTNOSUPPORT); E(EPROTOTYPE); E(ECHILD);
#undef E
        default:
                snprintf(buf, sizeof(buf), "errno %d", e);
                return buf;
        }
}

/* A failure that the kernel itself reports for bad arguments means the call got through any
 * filter: for the kernel-surface attempts that counts as escaped. */
static bool filtered_errno(int e)
{
        return e == EPERM || e == ENOSYS || e == EACCES;
}

static void syscall_attempt(const char *name, long r, int e)
{
        if (r >= 0)
                attempt(name, true, "succeeded: %ld", r);
        else if (filtered_errno(e))
                attempt(name, false, "%s", errname(e));
        else
                attempt(name, true, "reached the kernel: %s", errname(e));
}

static int parse_int(const char *s)
{
        char *end;
        errno = 0;
        long v = strtol(s, &end, 10);
        if (errno || *end || v < 0 || v > 1000000000)
                return -1;
        return (int)v;
}

/* ---------- network ---------- */

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

static void cat_egress(void)
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

        errno = 0;
        int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, IPPROTO_ICMP);
        if (fd >= 0) {
                close(fd);
                attempt("egress/icmp-ping-socket", true, "socket created");
        } else {
                attempt("egress/icmp-ping-socket", false, "%s", errname(errno));
        }
        fd = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ICMP);
        if (fd >= 0) {
                close(fd);
                attempt("egress/raw-socket", true, "socket created");
        } else {
                attempt("egress/raw-socket", false, "%s", errname(errno));
        }
        fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
        if (fd >= 0) {
                close(fd);
                attempt("egress/af-packet", true, "socket created");
        } else {
                attempt("egress/af-packet", false, "%s", errname(errno));
        }
        fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
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
        fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, 9 /* NETLINK_AUDIT */);
        if (fd >= 0) {
                close(fd);
                attempt("egress/netlink-audit", true, "socket created");
        } else {
                attempt("egress/netlink-audit", false, "%s", errname(errno));
        }
}

static void cat_metadata(void)
{
        net_attempt("metadata/169.254.169.254:80", "169.254.169.254", 80, SOCK_STREAM);
        net_attempt("metadata/100.100.100.200:80", "100.100.100.200", 80, SOCK_STREAM);
        net_attempt("metadata/168.63.129.16:80", "168.63.129.16", 80, SOCK_STREAM);
        net_attempt("metadata/fd00:ec2::254:80", "fd00:ec2::254", 80, SOCK_STREAM);
}

static void cat_loopback(void)
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
static void cat_proxy(void)
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

static void cat_dns(void)
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

/* ---------- Unix sockets and descriptors ---------- */

static int unix_connect(const char *path, bool abstract, int type)
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

static void cat_unix(void)
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

static void cat_fds(void)
{
        DIR *d = opendir("/proc/self/fd");
        if (!d) {
                attempt("fds/scan", false, "no /proc/self/fd: %s", errname(errno));
                return;
        }
        int self = dirfd(d), leaked = 0;
        char what[256] = "";
        struct dirent *de;
        while ((de = readdir(d))) {
                int fd = parse_int(de->d_name);
                if (fd < 0 || fd <= 2 || fd == self)
                        continue;
                char link[64], target[128] = "";
                snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
                ssize_t l = readlink(link, target, sizeof(target) - 1);
                if (l > 0)
                        target[l] = 0;
                size_t used = strlen(what);
                snprintf(what + used, sizeof(what) - used, "%s%d->%s", leaked ? ", " : "", fd,
                         target);
                leaked++;
        }
        closedir(d);
        if (leaked)
                attempt("fds/inherited", true, "%s", what);
        else
                attempt("fds/inherited", false, "only 0-2 open");
}

/* ---------- secrets and processes ---------- */

static bool file_contains(const char *path, const char *needle, size_t nlen, int *ret_err)
{
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
                *ret_err = errno;
                return false;
        }
        static char buf[1 << 16];
        ssize_t n = read(fd, buf, sizeof(buf));
        int e = errno;
        close(fd);
        if (n < 0) {
                *ret_err = e;
                return false;
        }
        *ret_err = 0;
        return memmem(buf, (size_t)n, needle, nlen) != NULL;
}

static void cat_secrets(void)
{
        static const char key[] = "FAKE_OPENAI_API_KEY=";
        if (getenv("FAKE_OPENAI_API_KEY"))
                attempt("secrets/env", true, "FAKE_OPENAI_API_KEY in the environment");
        else
                attempt("secrets/env", false, "not in the environment");

        /* every readable environ in /proc: pid 1, the host pid, whatever is visible */
        int seen = 0, hits = 0;
        char first[64] = "";
        DIR *d = opendir("/proc");
        struct dirent *de;
        while (d && (de = readdir(d))) {
                int pid = parse_int(de->d_name);
                if (pid <= 0 || pid == getpid())
                        continue;
                char path[64];
                int e;
                snprintf(path, sizeof(path), "/proc/%d/environ", pid);
                bool hit = file_contains(path, key, sizeof(key) - 1, &e);
                seen += e == 0;
                if (hit && !hits++)
                        snprintf(first, sizeof(first), "%s", path);
        }
        if (d)
                closedir(d);
        if (hits)
                attempt("secrets/proc-environ", true, "%d environ files hold the key, e.g. %s",
                        hits, first);
        else
                attempt("secrets/proc-environ", false, "%d other environ files readable, none "
                        "with the key", seen);

        if (O.host_pid > 0) {
                char path[64];
                int e;
                snprintf(path, sizeof(path), "/proc/%d/environ", O.host_pid);
                bool hit = file_contains(path, key, sizeof(key) - 1, &e);
                if (hit)
                        attempt("secrets/host-pid-environ", true, "%s readable with the key", path);
                else
                        attempt("secrets/host-pid-environ", false, "%s",
                                e ? errname(e) : "no key there");
        }
        if (O.secret_file) {
                int e;
                bool hit = file_contains(O.secret_file, "PRIVATE KEY", 11, &e);
                char name[160];
                snprintf(name, sizeof(name), "secrets/file-%s", O.secret_file);
                if (hit)
                        attempt(name, true, "private key readable");
                else
                        attempt(name, false, "%s", e ? errname(e) : "no key there");
        }
        errno = 0;
        long r = syscall(SYS_keyctl, 0 /* KEYCTL_GET_KEYRING_ID */, -3 /* session */, 0);
        syscall_attempt("secrets/keyctl-session-keyring", r, errno);
}

static void cat_procs(void)
{
        if (O.host_pid > 0) {
                char path[64], comm[64] = "";
                snprintf(path, sizeof(path), "/proc/%d/comm", O.host_pid);
                int fd = open(path, O_RDONLY | O_CLOEXEC);
                ssize_t n = fd >= 0 ? read(fd, comm, sizeof(comm) - 1) : -1;
                int e = errno;
                if (fd >= 0)
                        close(fd);
                if (n > 0 && strncmp(comm, "sleep", 5) == 0)
                        attempt("procs/see-host-pid", true, "/proc/%d is the host's sleep",
                                O.host_pid);
                else
                        attempt("procs/see-host-pid", false, "%s",
                                n > 0 ? "another process by that number" : errname(e));
                if (kill(O.host_pid, 0) == 0 && n > 0 && strncmp(comm, "sleep", 5) == 0)
                        attempt("procs/signal-host-pid", true, "kill(%d, 0) succeeded",
                                O.host_pid);
                else
                        attempt("procs/signal-host-pid", false, "%s",
                                n > 0 ? "not the host's process" : errname(errno));
        }
        /* how many processes can we see at all */
        int count = 0;
        DIR *d = opendir("/proc");
        struct dirent *de;
        while (d && (de = readdir(d)))
                count += parse_int(de->d_name) > 0;
        if (d)
                closedir(d);
        if (count > 50)
                attempt("procs/visible-count", true, "%d processes visible", count);
        else
                attempt("procs/visible-count", false, "%d processes visible", count);

        /* ptrace our parent (the sandbox's init or the supervisor side) from a child */
        pid_t parent = getppid();
        pid_t c = fork();
        if (c == 0) {
                errno = 0;
                long r = ptrace(PTRACE_ATTACH, parent, 0, 0);
                int e = errno;
                if (r == 0) {
                        waitpid(parent, NULL, __WALL);
                        ptrace(PTRACE_DETACH, parent, 0, 0);
                }
                _exit(r == 0 ? 0 : (e & 0x7f) + 1);
        }
        int st = 0;
        waitpid(c, &st, 0);
        int code = WIFEXITED(st) ? WEXITSTATUS(st) : 255;
        if (code == 0)
                attempt("procs/ptrace-parent", true, "attached to pid %d", (int)parent);
        else if (code == 255)
                attempt("procs/ptrace-parent", false, "probe child died");
        else
                syscall_attempt("procs/ptrace-parent", -1, code - 1);

        struct iovec local = { .iov_base = &st, .iov_len = 1 }, remote = local;
        errno = 0;
        long r = process_vm_readv(parent, &local, 1, &remote, 1, 0);
        syscall_attempt("procs/process_vm_readv-parent", r, errno);
}

/* ---------- kernel surface ---------- */

static void cat_kernel(void)
{
        char c = 'x';
        errno = 0;
        /* an invalid fd: the filter answers EPERM; without one the kernel says EBADF. Nothing is
         * ever injected into a real terminal. */
        long r = syscall(SYS_ioctl, -1, (unsigned long)TIOCSTI, &c);
        syscall_attempt("kernel/ioctl-TIOCSTI", r, errno);
        errno = 0;
        r = syscall(SYS_ioctl, -1, (unsigned long)TIOCSTI | (1UL << 32), &c);
        syscall_attempt("kernel/ioctl-TIOCSTI-highbits", r, errno);
        errno = 0;
        r = syscall(SYS_ioctl, -1, (unsigned long)TIOCLINUX, &c);
        syscall_attempt("kernel/ioctl-TIOCLINUX", r, errno);

        /* a user namespace, and with it a mount over /tmp: in a child */
        pid_t p = fork();
        if (p == 0) {
                if (unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0)
                        _exit((errno & 0x7f) + 1);
                if (mount("none", "/tmp", "tmpfs", 0, NULL) < 0)
                        _exit(100);
                _exit(0);
        }
        int st = 0;
        waitpid(p, &st, 0);
        int code = WIFEXITED(st) ? WEXITSTATUS(st) : 255;
        if (code == 0)
                attempt("kernel/unshare-userns-then-mount", true, "mounted tmpfs over /tmp");
        else if (code == 100)
                attempt("kernel/unshare-userns-then-mount", true,
                        "user namespace created (mount failed)");
        else if (code == 255)
                attempt("kernel/unshare-userns-then-mount", false, "child died");
        else
                syscall_attempt("kernel/unshare-userns-then-mount", -1, code - 1);

        errno = 0;
        r = syscall(SYS_clone3, NULL, 0);
        syscall_attempt("kernel/clone3", r, errno);
        errno = 0;
        r = syscall(SYS_setns, -1, 0);
        syscall_attempt("kernel/setns", r, errno);
        errno = 0;
        /* a target that does not exist: a kernel that gets this far says ENOENT, and nothing
         * is mounted over what later attempts look at */
        r = syscall(SYS_mount, "none", "/nonexistent-qclaw-escape-probe", "tmpfs", 0, NULL);
        syscall_attempt("kernel/mount", r, errno);
        errno = 0;
        r = syscall(SYS_open_tree, -1, "/", 0);
        syscall_attempt("kernel/open_tree", r, errno);
        if (r >= 0)
                close((int)r);
        errno = 0;
        r = syscall(SYS_bpf, 0 /* BPF_MAP_CREATE */, NULL, 0);
        syscall_attempt("kernel/bpf", r, errno);
        errno = 0;
        r = syscall(SYS_perf_event_open, NULL, 0, -1, -1, 0);
        syscall_attempt("kernel/perf_event_open", r, errno);
        errno = 0;
        r = syscall(SYS_userfaultfd, 1 /* UFFD_USER_MODE_ONLY */ | O_CLOEXEC);
        if (r >= 0)
                close((int)r);
        syscall_attempt("kernel/userfaultfd", r, errno);
        errno = 0;
        unsigned char params[120] = { 0 }; /* struct io_uring_params */
        r = syscall(SYS_io_uring_setup, 1, params);
        if (r >= 0)
                close((int)r);
        syscall_attempt("kernel/io_uring_setup", r, errno);
        errno = 0;
        r = syscall(SYS_personality, READ_IMPLIES_EXEC);
        if (r >= 0)
                syscall(SYS_personality, r); /* restore */
        syscall_attempt("kernel/personality-READ_IMPLIES_EXEC", r, errno);
        errno = 0;
        r = syscall(SYS_init_module, NULL, 0, "");
        syscall_attempt("kernel/init_module", r, errno);
        errno = 0;
        r = syscall(SYS_name_to_handle_at, AT_FDCWD, "/", NULL, NULL, 0);
        syscall_attempt("kernel/name_to_handle_at", r, errno);
}

/* Separate invocations: the filter kills the process, which the test observes. */
static int abi_i386(void)
{
        long ret = 20; /* getpid on i386 */
        __asm__ volatile("int $0x80" : "+a"(ret) : : "memory");
        attempt("kernel/i386-int80-getpid", true, "survived, returned %ld", ret);
        return 0;
}

static int abi_x32(void)
{
        errno = 0;
        long r = syscall(0x40000000 | 39);
        attempt("kernel/x32-getpid", true, "survived, returned %ld (%s)", r,
                r < 0 ? errname(errno) : "ok");
        return 0;
}

/* ---------- resources ---------- */

static void cat_resources(void)
{
        /* fork bomb, bounded: children sleep until killed */
        int max = O.pids_try;
        pid_t *kids = calloc((size_t)max, sizeof(pid_t));
        int n = 0, err = 0;
        for (; kids && n < max; n++) {
                pid_t c = fork();
                if (c < 0) {
                        err = errno;
                        break;
                }
                if (c == 0) {
                        pause();
                        _exit(0);
                }
                kids[n] = c;
        }
        for (int i = 0; i < n; i++)
                kill(kids[i], SIGKILL);
        for (int i = 0; i < n; i++)
                waitpid(kids[i], NULL, 0);
        free(kids);
        if (n >= max)
                attempt("resources/fork-bomb", true, "%d processes created", n);
        else
                attempt("resources/fork-bomb", false, "stopped after %d processes: %s", n,
                        errname(err));

        /* memory balloon in a child: killed (OOM) or refused = contained */
        pid_t c = fork();
        if (c == 0) {
                size_t chunk = 64u << 20;
                for (long done = 0; done < O.mem_mb; done += 64) {
                        char *p = mmap(NULL, chunk, PROT_READ | PROT_WRITE,
                                       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
                        if (p == MAP_FAILED)
                                _exit(2);
                        for (size_t i = 0; i < chunk; i += 4096)
                                p[i] = 1;
                }
                _exit(0);
        }
        int st = 0;
        waitpid(c, &st, 0);
        if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
                attempt("resources/memory-balloon", true, "%ld MiB touched", O.mem_mb);
        else if (WIFSIGNALED(st))
                attempt("resources/memory-balloon", false, "killed by signal %d",
                        WTERMSIG(st));
        else
                attempt("resources/memory-balloon", false, "allocation refused");
}

/* ---------- self-disable ---------- */

static void open_write_attempt(const char *name, const char *path)
{
        int fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
        if (fd >= 0) {
                close(fd);
                attempt(name, true, "%s opened for writing", path);
        } else {
                attempt(name, false, "%s", errname(errno));
        }
}

static void cat_selfdisable(void)
{
        if (O.profile_file)
                open_write_attempt("selfdisable/profile-file", O.profile_file);
        if (O.control_socket) {
                int e = unix_connect(O.control_socket, false, SOCK_SEQPACKET);
                if (e == 0)
                        attempt("selfdisable/control-socket", true, "connected");
                else
                        attempt("selfdisable/control-socket", false, "%s", errname(e));
        }
        int fd = open("/etc/qclaw-escape-probe", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd >= 0) {
                close(fd);
                unlink("/etc/qclaw-escape-probe");
                attempt("selfdisable/write-etc", true, "created a file in /etc");
        } else {
                attempt("selfdisable/write-etc", false, "%s", errname(errno));
        }
}

static void usage(void)
{
        fprintf(stderr,
                "usage: escape-probe [--proxy-port N] [--canary-port N] [--other-port N]...\n"
                "  [--abstract NAME] [--path-socket PATH]... [--host-pid PID]\n"
                "  [--secret-file PATH] [--profile-file PATH] [--control-socket PATH]\n"
                "  [--pids N] [--mem-mb N] CATEGORY...\n"
                "categories: egress metadata loopback proxy dns unix fds secrets procs kernel\n"
                "  resources selfdisable all | abi-i386 | abi-x32 (alone: expect to be killed)\n");
        exit(2);
}

int main(int argc, char **argv)
{
        int i = 1;
        for (; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
                const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
                if (strcmp(k, "--") == 0) {
                        i++;
                        break;
                }
                if (!v)
                        usage();
                i++;
                if (strcmp(k, "--proxy-port") == 0)
                        O.proxy_port = parse_int(v);
                else if (strcmp(k, "--canary-port") == 0)
                        O.canary_port = parse_int(v);
                else if (strcmp(k, "--other-port") == 0 && O.n_other_ports < 8)
                        O.other_ports[O.n_other_ports++] = parse_int(v);
                else if (strcmp(k, "--abstract") == 0)
                        O.abstract = v;
                else if (strcmp(k, "--path-socket") == 0 && O.n_paths < 16)
                        O.paths[O.n_paths++] = v;
                else if (strcmp(k, "--host-pid") == 0)
                        O.host_pid = parse_int(v);
                else if (strcmp(k, "--secret-file") == 0)
                        O.secret_file = v;
                else if (strcmp(k, "--profile-file") == 0)
                        O.profile_file = v;
                else if (strcmp(k, "--control-socket") == 0)
                        O.control_socket = v;
                else if (strcmp(k, "--pids") == 0)
                        O.pids_try = parse_int(v);
                else if (strcmp(k, "--mem-mb") == 0)
                        O.mem_mb = parse_int(v);
                else
                        usage();
        }
        if (i >= argc)
                usage();
        setvbuf(stdout, NULL, _IOLBF, 0);

        static const struct {
                const char *name;
                void (*fn)(void);
        } cats[] = {
                { "egress", cat_egress },   { "metadata", cat_metadata },
                { "loopback", cat_loopback }, { "proxy", cat_proxy },
                { "dns", cat_dns },         { "unix", cat_unix },
                { "fds", cat_fds },         { "secrets", cat_secrets },
                { "procs", cat_procs },     { "kernel", cat_kernel },
                { "resources", cat_resources }, { "selfdisable", cat_selfdisable },
        };
        /* fds first: anything the probe opens itself must not count */
        bool want_fds = false;
        for (int j = i; j < argc; j++)
                want_fds |= strcmp(argv[j], "fds") == 0 || strcmp(argv[j], "all") == 0;
        if (want_fds)
                cat_fds();

        for (; i < argc; i++) {
                if (strcmp(argv[i], "abi-i386") == 0)
                        return abi_i386();
                if (strcmp(argv[i], "abi-x32") == 0)
                        return abi_x32();
                bool all = strcmp(argv[i], "all") == 0, found = all;
                for (size_t j = 0; j < sizeof(cats) / sizeof(cats[0]); j++) {
                        if (strcmp(cats[j].name, "fds") == 0)
                                continue;
                        if (all || strcmp(argv[i], cats[j].name) == 0) {
                                found = true;
                                if (!all || strcmp(cats[j].name, "proxy") != 0 || O.proxy_port)
                                        cats[j].fn();
                        }
                }
                if (!found && strcmp(argv[i], "fds") != 0)
                        usage();
        }
        printf("SUMMARY escaped=%d blocked=%d check_failed=%d\n", n_escaped, n_blocked,
               n_check_failed);
        return 0;
}
