/* Landlock live: a forked child applies landlock_apply() with a small profile (read_only /usr,
 * read_write a temp dir, one proxy port, one bind port) and checks what it can still reach. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/macro.h"
#include "supervisor/landlock.h"
#include "tests/unit/tap.h"

static int child_fails;
#define EXPECT(label, expr, want)                                                                  \
        do {                                                                                       \
                errno = 0;                                                                         \
                long _r = (long)(expr);                                                            \
                int _e = _r < 0 ? errno : 0;                                                       \
                if ((want) == 0 ? _r < 0 : (_r >= 0 || _e != (want))) {                            \
                        fprintf(stderr, "landlock: %s: ret %ld errno %d (%s), want errno %d\n",    \
                                label, _r, _e, strerror(_e), (want));                              \
                        child_fails++;                                                             \
                }                                                                                  \
                if (_r >= 0 && (want) == 0 && _r > 2 && strstr(label, "open") != NULL)             \
                        close((int)_r);                                                            \
        } while (0)

static int listen_on(uint16_t *ret_port)
{
        int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        socklen_t l = sizeof(a);
        if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(s, 8) < 0 ||
            getsockname(s, (struct sockaddr *)&a, &l) < 0)
                return -1;
        *ret_port = ntohs(a.sin_port);
        return s;
}

static int connect_to(uint16_t port)
{
        int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (s < 0)
                return -1;
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port),
                                 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        int r = connect(s, (struct sockaddr *)&a, sizeof(a));
        int e = errno;
        close(s);
        errno = e;
        return r;
}

static int bind_to(uint16_t port)
{
        int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (s < 0)
                return -1;
        int one = 1;
        setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port),
                                 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        int r = bind(s, (struct sockaddr *)&a, sizeof(a));
        int e = errno;
        close(s);
        errno = e;
        return r;
}

static int connect_abstract(const char *name)
{
        int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (s < 0)
                return -1;
        struct sockaddr_un a = { .sun_family = AF_UNIX };
        size_t n = strlen(name);
        memcpy(a.sun_path + 1, name, n);
        int r = connect(s, (struct sockaddr *)&a, offsetof(struct sockaddr_un, sun_path) + 1 + n);
        int e = errno;
        close(s);
        errno = e;
        return r;
}

int main(void)
{
        int abi = landlock_abi_version();
        printf("# Landlock ABI %d\n", abi);
        if (abi < 0) {
                const char *ns = getenv("QCLAW_NO_SKIP");
                printf("# Landlock absent: skipping\n");
                return ns && strcmp(ns, "1") == 0 ? 1 : 77;
        }

        char dir[] = "/tmp/qclaw-landlock-XXXXXX";
        CHECK(mkdtemp(dir) != NULL);
        uint16_t proxy_port = 0, other_port = 0, free_port = 0, bind_port = 0;
        int proxy = listen_on(&proxy_port), other = listen_on(&other_port);
        CHECK(proxy >= 0 && other >= 0);
        /* two ports that are free now: one published for bind, one not */
        int t1 = listen_on(&bind_port), t2 = listen_on(&free_port);
        close(t1);
        close(t2);

        char abstract[64];
        snprintf(abstract, sizeof(abstract), "qclaw-landlock-test-%d", (int)getpid());
        int us = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        struct sockaddr_un ua = { .sun_family = AF_UNIX };
        memcpy(ua.sun_path + 1, abstract, strlen(abstract));
        CHECK(bind(us, (struct sockaddr *)&ua,
                   offsetof(struct sockaddr_un, sun_path) + 1 + strlen(abstract)) == 0);
        CHECK(listen(us, 4) == 0);
        /* before Landlock the abstract socket and the other port are reachable */
        CHECK(connect_abstract(abstract) == 0);
        CHECK(connect_to(other_port) == 0);

        char *ro[] = { "/usr", NULL }, *rw[] = { dir, NULL };
        struct profile p = { 0 };
        p.fs_read_only = (struct strv){ .items = ro, .n = 1 };
        p.fs_read_write = (struct strv){ .items = rw, .n = 1 };
        uint16_t binds[] = { bind_port };
        struct landlock_params lp = { .proxy_port = proxy_port, .bind_ports = binds,
                                      .n_bind_ports = 1 };

        pid_t pid = fork();
        CHECK(pid >= 0);
        if (pid == 0) {
                int r = landlock_apply(&p, &lp);
                if (r != abi) {
                        fprintf(stderr, "landlock_apply: %d\n", r);
                        _exit(100);
                }
                char path[256];
                snprintf(path, sizeof(path), "%s/file", dir);
                EXPECT("open /etc/passwd", open("/etc/passwd", O_RDONLY | O_CLOEXEC), EACCES);
                EXPECT("open / (readdir)", open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC), 0);
                EXPECT("open /etc (readdir)", open("/etc", O_RDONLY | O_DIRECTORY | O_CLOEXEC), 0);
                EXPECT("open /etc/hostname", open("/etc/hostname", O_RDONLY | O_CLOEXEC), EACCES);
                EXPECT("open workspace file for write",
                       open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600), 0);
                char sub[256];
                snprintf(sub, sizeof(sub), "%s/filed", dir);
                EXPECT("mkdir in workspace", mkdir(sub, 0700), 0);
                EXPECT("open /usr file for write",
                       open("/usr/qclaw-landlock-test", O_WRONLY | O_CREAT | O_CLOEXEC, 0600),
                       EACCES);
                EXPECT("open /usr/bin/env read", open("/usr/bin/env", O_RDONLY | O_CLOEXEC), 0);
                EXPECT("open /dev/null write", open("/dev/null", O_WRONLY | O_TRUNC | O_CLOEXEC),
                       0);
                EXPECT("open /proc/self/status", open("/proc/self/status", O_RDONLY | O_CLOEXEC),
                       0);
                EXPECT("open /proc/self/comm write",
                       open("/proc/self/comm", O_WRONLY | O_CLOEXEC), EACCES);
                /* execute from a read-only path */
                pid_t c = fork();
                if (c == 0) {
                        execl("/usr/bin/true", "true", (char *)NULL);
                        _exit(127);
                }
                int st = 0;
                waitpid(c, &st, 0);
                if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
                        fprintf(stderr, "landlock: exec /usr/bin/true failed: %d\n", st);
                        child_fails++;
                }
                if (abi >= 4) {
                        EXPECT("connect proxy port", connect_to(proxy_port), 0);
                        EXPECT("connect other port", connect_to(other_port), EACCES);
                        EXPECT("bind published port", bind_to(bind_port), 0);
                        EXPECT("bind other port", bind_to(free_port), EACCES);
                }
                if (abi >= 6) {
                        EXPECT("connect abstract socket outside", connect_abstract(abstract),
                               EPERM);
                        EXPECT("kill parent", kill(getppid(), 0), EPERM);
                        EXPECT("kill self", kill(getpid(), 0), 0);
                }
                _exit(child_fails);
        }
        int st = 0;
        waitpid(pid, &st, 0);
        CHECK(WIFEXITED(st));
        CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);

        /* the parent is not restricted */
        CHECK(connect_to(other_port) == 0);
        char path[256];
        snprintf(path, sizeof(path), "%s/filed", dir);
        rmdir(path);
        snprintf(path, sizeof(path), "%s/file", dir);
        unlink(path);
        rmdir(dir);
        close(proxy);
        close(other);
        close(us);
        return TEST_DONE();
}
