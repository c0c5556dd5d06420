/* Runs qrexec-client from dom0 and collects a bounded reply.
 * Trust level: dom0; the reply bytes come from the VM and are untrusted (callers parse them
 * strictly). The command string is built only from validated names, never through a shell. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/macro.h"
#include "common/strbuf.h"
#include "common/time-util.h"
#include "rpc/qrexec-call.h"
#include "rpc/rpc-arg.h"

#define QREXEC_ERR_MAX 4096

const char *qrexec_client_path(const char *option)
{
        const char *env = getenv("QCLAW_QREXEC_CLIENT");
        if (option && *option)
                return option;
        if (env && *env)
                return env;
        return QREXEC_CLIENT_DEFAULT;
}

static bool rpc_word_ok(const char *s, bool allow_empty)
{
        if (!*s)
                return allow_empty;
        for (; *s; s++)
                if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
                      (*s >= '0' && *s <= '9') || *s == '.' || *s == '_' || *s == '-'))
                        return false;
        return true;
}

void qrexec_reply_done(struct qrexec_reply *reply)
{
        free(reply->out);
        free(reply->err);
        *reply = (struct qrexec_reply){ 0 };
}

static int wait_child(pid_t pid, int *ret_status)
{
        int st;
        while (waitpid(pid, &st, 0) < 0)
                if (errno != EINTR)
                        return -errno;
        *ret_status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        return 0;
}

int qrexec_call(const char *client, const char *vm, const char *service, const char *arg,
                size_t max_out, struct qrexec_reply *reply)
{
        struct strbuf cmd = STRBUF_INIT(1024);
        struct strbuf out = STRBUF_INIT(max_out);
        struct strbuf err = STRBUF_INIT(QREXEC_ERR_MAX);
        int outp[2] = { -1, -1 }, errp[2] = { -1, -1 };
        int r, status = 0;
        pid_t pid;

        if (!vm_name_is_valid(vm) || !rpc_word_ok(service, false) || !rpc_word_ok(arg, true))
                return -EINVAL;
        r = strbuf_appendf(&cmd, "DEFAULT:QUBESRPC %s+%s dom0", service, arg);
        if (r < 0)
                return r;
        if (pipe2(outp, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0) {
                r = -errno;
                goto out;
        }
        pid = fork();
        if (pid < 0) {
                r = -errno;
                goto out;
        }
        if (pid == 0) {
                int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
                if (devnull < 0 || dup2(devnull, 0) < 0 || dup2(outp[1], 1) < 0 ||
                    dup2(errp[1], 2) < 0)
                        _exit(125);
                signal(SIGPIPE, SIG_DFL);
                execlp(client, client, "-d", vm, cmd.data, (char *)NULL);
                dprintf(2, "cannot execute %s: %s\n", client, strerror(errno));
                _exit(errno == ENOENT ? 127 : 126);
        }
        outp[1] = safe_close(outp[1]);
        errp[1] = safe_close(errp[1]);

        uint64_t deadline = now_usec() + (uint64_t)QREXEC_CALL_TIMEOUT_SEC * 1000000u;
        bool out_open = true, err_open = true;
        r = 0;
        while (out_open || err_open) {
                struct pollfd p[2] = { { .fd = out_open ? outp[0] : -1, .events = POLLIN },
                                       { .fd = err_open ? errp[0] : -1, .events = POLLIN } };
                uint64_t now = now_usec();
                if (now >= deadline) {
                        r = -ETIMEDOUT;
                        break;
                }
                int n = poll(p, 2, (int)MIN((deadline - now) / 1000 + 1, 1000u));
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        r = -errno;
                        break;
                }
                for (int i = 0; i < 2; i++) {
                        char buf[65536];
                        if (!(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
                                continue;
                        ssize_t k = read(p[i].fd, buf, sizeof(buf));
                        if (k < 0 && (errno == EINTR || errno == EAGAIN))
                                continue;
                        if (k <= 0) {
                                if (i == 0)
                                        out_open = false;
                                else
                                        err_open = false;
                                continue;
                        }
                        if (i == 0) {
                                r = strbuf_append(&out, buf, (size_t)k);
                                if (r < 0)
                                        break;
                        } else {
                                /* stderr beyond the cap is dropped, not an error */
                                size_t room = QREXEC_ERR_MAX - err.len;
                                (void)strbuf_append(&err, buf, MIN((size_t)k, room));
                        }
                }
                if (r < 0)
                        break;
        }
        if (r < 0)
                kill(pid, SIGKILL);
        int w = wait_child(pid, &status);
        if (r == 0 && w < 0)
                r = w;
        if (r == 0) {
                /* steal keeps NUL termination; empty buffers become "" */
                if (strbuf_append(&out, "", 0) < 0 || strbuf_append(&err, "", 0) < 0) {
                        r = -ENOMEM;
                        goto out;
                }
                reply->out_len = out.len;
                reply->err_len = err.len;
                r = strbuf_steal(&out, &reply->out);
                if (r >= 0)
                        r = strbuf_steal(&err, &reply->err);
                reply->status = status;
        }
out:
        safe_close(outp[0]);
        safe_close(outp[1]);
        safe_close(errp[0]);
        safe_close(errp[1]);
        strbuf_free(&cmd);
        strbuf_free(&out);
        strbuf_free(&err);
        return r;
}
