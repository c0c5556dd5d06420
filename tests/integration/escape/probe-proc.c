/* escape-probe, descriptor, secret and process categories: inherited fds, the API key in any
 * readable environ or file, the keyring, seeing/signalling/tracing processes outside.
 * Trust level: test program, runs as the untrusted agent. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "probe.h"

/* ---------- descriptors ---------- */

void cat_fds(void)
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

void cat_secrets(void)
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

void cat_procs(void)
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
