/* escape-probe: tries the escapes of reference/sandbox-threats.md section 10 from inside a
 * sandbox and prints one line per attempt:
 *   ATTEMPT category/name: blocked (ERRNO or what stopped it)
 *   ATTEMPT category/name: ESCAPED (what happened)
 *   CHECK category/name: ok (...) | FAILED (...)      -- things that must work (the proxy)
 * Trust level: test program, runs as the untrusted agent. It never sends traffic off the
 * machine: a connect to a non-loopback address is only tried when no route leaves the network
 * namespace (otherwise the existence of the route is the escape and nothing is sent).
 * Built without sanitizers: their runtimes make syscalls a sandbox refuses. */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "probe.h"

struct opts O = { .pids_try = 1500, .mem_mb = 2048 };
static int n_escaped, n_blocked, n_check_failed;

void attempt(const char *name, bool escaped, const char *fmt, ...)
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

void check(const char *name, bool ok, const char *what)
{
        printf("CHECK %s: %s (%s)\n", name, ok ? "ok" : "FAILED", what);
        fflush(stdout);
        if (!ok)
                n_check_failed++;
}

const char *errname(int e)
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

bool filtered_errno(int e)
{
        return e == EPERM || e == ENOSYS || e == EACCES;
}

void syscall_attempt(const char *name, long r, int e)
{
        if (r >= 0)
                attempt(name, true, "succeeded: %ld", r);
        else if (filtered_errno(e))
                attempt(name, false, "%s", errname(e));
        else
                attempt(name, true, "reached the kernel: %s", errname(e));
}

int parse_int(const char *s)
{
        char *end;
        errno = 0;
        long v = strtol(s, &end, 10);
        if (errno || *end || v < 0 || v > 1000000000)
                return -1;
        return (int)v;
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
