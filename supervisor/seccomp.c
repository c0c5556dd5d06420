/* Loads the seccomp program in the sandboxed child, and answers its user notifications in the
 * supervisor (always -EPERM) so that denied syscalls become `violation` records.
 * Trust level: seccomp_install runs in the child just before execve; seccomp_notify_handle runs
 * in the supervisor and reads notifications caused by untrusted code (values only, no memory). */
#include "supervisor/seccomp.h"

#include <errno.h>
#include <inttypes.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/macro.h"

#ifndef SECCOMP_IOCTL_NOTIF_ID_VALID
#error "linux/seccomp.h without user notification"
#endif

int seccomp_install(scmp_filter_ctx ctx, int *ret_notify_fd)
{
        if (!ctx)
                return -EINVAL;
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                return NEG_ERRNO();
        int r = seccomp_load(ctx);
        if (r < 0)
                return r;
        int fd = seccomp_notify_fd(ctx);
        if (fd < 0)
                return fd == 0 ? -EBADF : fd; /* the filter is loaded; no listener */
        if (!ret_notify_fd)
                (void)safe_close(fd);
        else
                *ret_notify_fd = fd;
        return 0;
}

int seccomp_install_program(const void *prog, size_t n, int *ret_notify_fd)
{
        struct sock_fprog fp = { .len = (unsigned short)n, .filter = (struct sock_filter *)prog };

        if (!prog || n == 0 || n > BPF_MAXINSNS)
                return -EINVAL;
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                return NEG_ERRNO();
        int fd = (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
                              SECCOMP_FILTER_FLAG_NEW_LISTENER, &fp);
        if (fd < 0)
                return NEG_ERRNO();
        /* the listener is O_CLOEXEC already (the kernel's anon inode is made with it) */
        if (!ret_notify_fd)
                (void)safe_close(fd);
        else
                *ret_notify_fd = fd;
        return 0;
}

/* Names by syscall number, resolved once; static storage for seccomp_violation.name. */
#define NAME_CACHE_MAX 1024
static char *name_cache[NAME_CACHE_MAX];

static const char *syscall_name(int nr)
{
        if (nr < 0 || nr >= NAME_CACHE_MAX)
                return "?";
        if (!name_cache[nr]) {
                char *s = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);
                if (!s)
                        return "?";
                name_cache[nr] = s;
        }
        return name_cache[nr];
}

int seccomp_notify_handle(int notify_fd, struct seccomp_violation *ret)
{
        struct seccomp_notif req;
        struct seccomp_notif_resp resp;

        if (notify_fd < 0 || !ret)
                return -EINVAL;

        memset(&req, 0, sizeof(req)); /* the kernel insists on a zeroed buffer */
        if (ioctl(notify_fd, SECCOMP_IOCTL_NOTIF_RECV, &req) < 0)
                return NEG_ERRNO();

        /* Never CONTINUE: the answer is always a denial. We read only the values the kernel
         * copied into req (no /proc/PID/mem), so there is nothing to re-validate afterwards. */
        if (ioctl(notify_fd, SECCOMP_IOCTL_NOTIF_ID_VALID, &req.id) < 0)
                return errno == ENOENT ? -ENOENT : NEG_ERRNO();

        memset(&resp, 0, sizeof(resp));
        resp.id = req.id;
        resp.val = 0;
        resp.error = -EPERM;
        resp.flags = 0;
        if (ioctl(notify_fd, SECCOMP_IOCTL_NOTIF_SEND, &resp) < 0)
                return NEG_ERRNO(); /* -ENOENT: the caller died or was interrupted */

        struct seccomp_violation v = {
                .pid = (pid_t)req.pid,
                .nr = req.data.nr,
                .arch = req.data.arch,
        };
        v.name = req.data.arch == seccomp_arch_native() ? syscall_name(v.nr) : "?";
        memcpy(v.args, req.data.args, sizeof(v.args));
        *ret = v;
        return 0;
}

bool seccomp_ratelimit_ok(struct seccomp_ratelimit *rl, uint64_t now_usec)
{
        if (!rl)
                return true;
        if (rl->begin_usec == 0 || now_usec < rl->begin_usec ||
            now_usec - rl->begin_usec >= rl->interval_usec) {
                rl->begin_usec = now_usec ? now_usec : 1;
                rl->n = 0;
        }
        if (rl->n < rl->burst) {
                rl->n++;
                return true;
        }
        rl->suppressed++;
        return false;
}

json_t *seccomp_violation_to_json(const struct seccomp_violation *v, uint64_t suppressed)
{
        if (!v)
                return NULL;
        json_t *args = json_array();
        if (!args)
                return NULL;
        for (size_t i = 0; i < ELEMENTSOF(v->args); i++) {
                char buf[24];
                snprintf(buf, sizeof(buf), "0x%" PRIx64, v->args[i]);
                if (json_array_append_new(args, json_string(buf)) < 0) {
                        json_decref(args);
                        return NULL;
                }
        }
        json_t *o = json_pack("{s:s, s:s, s:I, s:o, s:I}", "event", "violation", "syscall",
                              v->name ? v->name : "?", "nr", (json_int_t)v->nr, "args", args,
                              "pid", (json_int_t)v->pid);
        if (!o)
                return NULL; /* json_pack steals args even on failure ("o") */
        if (suppressed > 0 &&
            json_object_set_new(o, "suppressed", json_integer((json_int_t)suppressed)) < 0) {
                json_decref(o);
                return NULL;
        }
        return o;
}
