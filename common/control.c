/* Control-socket framing shared by qclaw-run and qclaw-proxy.
 * Trust level: the proxy decodes messages from local peers (checked with SO_PEERCRED by the
 * caller); the decoder treats every byte as untrusted and is fuzzed. */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/control.h"
#include "common/json-util.h"
#include "common/macro.h"

int control_send(int sock, const json_t *msg, const int *fds, size_t n_fds)
{
        if (n_fds > CONTROL_FDS_MAX)
                return -EINVAL;
        _cleanup_free_ char *text = json_dump_compact(msg);
        if (!text)
                return -ENOMEM;
        size_t len = strlen(text);
        if (len > CONTROL_MSG_MAX)
                return -EMSGSIZE;

        struct iovec iov = { .iov_base = text, .iov_len = len };
        union {
                char buf[CMSG_SPACE(sizeof(int) * CONTROL_FDS_MAX)];
                struct cmsghdr align;
        } u;
        memset(&u, 0, sizeof(u));
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
        if (n_fds > 0) {
                mh.msg_control = u.buf;
                mh.msg_controllen = CMSG_SPACE(sizeof(int) * n_fds);
                struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
                c->cmsg_level = SOL_SOCKET;
                c->cmsg_type = SCM_RIGHTS;
                c->cmsg_len = CMSG_LEN(sizeof(int) * n_fds);
                memcpy(CMSG_DATA(c), fds, sizeof(int) * n_fds);
        }
        for (;;) {
                ssize_t n = sendmsg(sock, &mh, MSG_NOSIGNAL);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return NEG_ERRNO();
                return (size_t)n == len ? 0 : -EIO;
        }
}

int control_decode(const char *buf, size_t len, json_t **ret_msg)
{
        if (len == 0 || len > CONTROL_MSG_MAX)
                return -EBADMSG;
        json_error_t err;
        _cleanup_json_ json_t *j = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &err);
        if (!j || !json_is_object(j))
                return -EBADMSG;
        const json_t *op = json_object_get(j, "op");
        const json_t *ok = json_object_get(j, "ok");
        if (!(op && json_is_string(op)) && !(ok && json_is_boolean(ok)))
                return -EBADMSG;
        *ret_msg = TAKE_PTR(j);
        return 0;
}

int control_recv(int sock, json_t **ret_msg, int ret_fds[CONTROL_FDS_MAX], size_t *ret_n_fds)
{
        /* One byte more than the maximum so an oversized message shows up as MSG_TRUNC. */
        _cleanup_free_ char *buf = malloc(CONTROL_MSG_MAX + 1);
        if (!buf)
                return -ENOMEM;
        union {
                char buf[CMSG_SPACE(sizeof(int) * CONTROL_FDS_MAX)];
                struct cmsghdr align;
        } u;
        struct iovec iov = { .iov_base = buf, .iov_len = CONTROL_MSG_MAX + 1 };
        struct msghdr mh = {
                .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
                .msg_controllen = sizeof(u.buf),
        };
        ssize_t n;
        do
                n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return NEG_ERRNO();

        int fds[CONTROL_FDS_MAX];
        size_t n_fds = 0;
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
                if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
                        continue;
                size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
                int *p = (int *)CMSG_DATA(c);
                for (size_t i = 0; i < k; i++) {
                        if (n_fds < CONTROL_FDS_MAX)
                                fds[n_fds++] = p[i];
                        else
                                close(p[i]);
                }
        }
        if (n == 0 && n_fds == 0)
                return -ECONNRESET;

        json_t *msg = NULL;
        int r = (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) ? -EBADMSG
                                                          : control_decode(buf, (size_t)n, &msg);
        if (r < 0) {
                for (size_t i = 0; i < n_fds; i++)
                        close(fds[i]);
                return r;
        }
        *ret_msg = msg;
        memcpy(ret_fds, fds, sizeof(int) * n_fds);
        *ret_n_fds = n_fds;
        return 0;
}

int control_connect(const char *path)
{
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        size_t len = strlen(path);
        if (len == 0 || len >= sizeof(sa.sun_path))
                return -ENAMETOOLONG;
        memcpy(sa.sun_path, path, len + 1);
        _cleanup_close_ int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return NEG_ERRNO();
        if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
                return NEG_ERRNO();
        return TAKE_FD(fd);
}
