/* escape-probe, kernel-surface and resource categories: terminal ioctls, namespaces, mounts,
 * bpf/perf/userfaultfd/io_uring, seccomp listeners, personality, modules, the i386/x32 ABIs,
 * fork bomb, memory.
 * Trust level: test program, runs as the untrusted agent; nothing is ever injected into a real
 * terminal and every process it starts is killed and reaped. */
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "probe.h"

#ifndef TIOCLINUX
#define TIOCLINUX 0x541C
#endif

void cat_kernel(void)
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
        /* a seccomp filter of the agent's own with a notification listener: were the
         * supervisor's listener gone, it could answer CONTINUE to every denial. In a child, so
         * the filter dies with it; the child reports the verdict in its exit status. */
        p = fork();
        if (p == 0) {
                struct sock_filter allow = BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
                struct sock_fprog prog = { .len = 1, .filter = &allow };
                (void)prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
                long fd = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
                                  SECCOMP_FILTER_FLAG_NEW_LISTENER, &prog);
                _exit(fd >= 0 ? 0 : (errno & 0x7f) + 1);
        }
        st = 0;
        waitpid(p, &st, 0);
        code = WIFEXITED(st) ? WEXITSTATUS(st) : 255;
        if (code == 255)
                attempt("kernel/seccomp-new-listener", false, "child died");
        else
                syscall_attempt("kernel/seccomp-new-listener", code ? -1 : 0, code - 1);
        errno = 0;
        r = syscall(SYS_init_module, NULL, 0, "");
        syscall_attempt("kernel/init_module", r, errno);
        errno = 0;
        r = syscall(SYS_name_to_handle_at, AT_FDCWD, "/", NULL, NULL, 0);
        syscall_attempt("kernel/name_to_handle_at", r, errno);
}

int abi_i386(void)
{
        long ret = 20; /* getpid on i386 */
        __asm__ volatile("int $0x80" : "+a"(ret) : : "memory");
        attempt("kernel/i386-int80-getpid", true, "survived, returned %ld", ret);
        return 0;
}

int abi_x32(void)
{
        errno = 0;
        long r = syscall(0x40000000 | 39);
        attempt("kernel/x32-getpid", true, "survived, returned %ld (%s)", r,
                r < 0 ? errname(errno) : "ok");
        return 0;
}

/* ---------- resources ---------- */

void cat_resources(void)
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
