/* qclaw.Status (VM, /etc/qubes-rpc/qclaw.Status): one JSON object on stdout: whether the proxy
 * answers on its control socket, its version, config hash, sessions and counts (from the proxy's
 * {"op":"status"}), and the audit log's last seq and hash. Takes no argument.
 * Trust level: the argument comes from the caller and is refused if present; the proxy's reply is
 * re-serialised, never passed through as raw bytes. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "common/control.h"
#include "common/json-util.h"
#include "common/log.h"
#include "common/macro.h"
#include "policy/audit.h"
#include "rpc/rpc-arg.h"
#include "rpc/rpc-conf.h"

#define STATUS_TIMEOUT_SEC 5

/* Last complete record of one file: 1 found, 0 none, -errno. */
static int tail_record(const char *path, json_t *audit)
{
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        char buf[AUDIT_LINE_MAX + 2];
        struct stat st;

        if (fd < 0)
                return errno == ENOENT ? 0 : -errno;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (st.st_size == 0)
                return 0;
        off_t want = MIN(st.st_size, (off_t)sizeof(buf));
        ssize_t n = pread(fd, buf, (size_t)want, st.st_size - want);
        if (n <= 0 || buf[n - 1] != '\n')
                return n < 0 ? -errno : -EBADMSG;
        size_t end = (size_t)n - 1, start = end;
        while (start > 0 && buf[start - 1] != '\n')
                start--;
        struct audit_record rec = { 0 };
        if (audit_record_parse(buf + start, end - start, &rec) < 0)
                return -EBADMSG;
        json_object_set_new(audit, "last_seq", json_integer((json_int_t)rec.seq));
        json_object_set_new(audit, "last_hash", json_string(rec.hash));
        json_object_set_new(audit, "last_ts", json_string(json_get_str(rec.json, "ts", "")));
        audit_record_done(&rec);
        return 1;
}

static json_t *audit_status(const char *path)
{
        json_t *audit = json_object();
        char rotated[PATH_MAX + 4];
        int r;

        json_object_set_new(audit, "path", json_string(path));
        r = tail_record(path, audit);
        if (r == 0) {
                snprintf(rotated, sizeof(rotated), "%s.1", path);
                r = tail_record(rotated, audit);
        }
        if (r == 0)
                json_object_set_new(audit, "last_seq", json_integer(0));
        if (r < 0)
                json_object_set_new(audit, "error", json_string(strerror(-r)));
        return audit;
}

static int proxy_status(const char *sock_path, json_t **ret, const char **ret_error)
{
        _cleanup_json_ json_t *req = json_pack("{s:s}", "op", "status");
        _cleanup_json_ json_t *reply = NULL;
        _cleanup_close_ int fd = -1;
        struct timeval tv = { .tv_sec = STATUS_TIMEOUT_SEC };
        int fds[CONTROL_FDS_MAX];
        size_t n_fds = 0;
        int r;

        fd = control_connect(sock_path);
        if (fd < 0) {
                *ret_error = "control socket unreachable";
                return fd;
        }
        (void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        (void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
        r = control_send(fd, req, NULL, 0);
        if (r >= 0)
                r = control_recv(fd, &reply, fds, &n_fds);
        if (r < 0) {
                *ret_error = "no reply from the proxy";
                return r;
        }
        for (size_t i = 0; i < n_fds; i++)
                close(fds[i]);
        if (!json_is_true(json_object_get(reply, "ok")) ||
            !json_is_object(json_object_get(reply, "status"))) {
                *ret_error = "the proxy refused the status request";
                return -EPROTO;
        }
        *ret = json_incref(json_object_get(reply, "status"));
        return 0;
}

int main(int argc, char **argv)
{
        _cleanup_json_ json_t *out = json_object();
        json_t *status = NULL;
        struct rpc_conf conf;
        const char *arg = NULL, *error = NULL;
        int r;

        log_init("qclaw.Status");
        if (rpc_arg_get(argc, argv, &arg) < 0 || (arg && *arg)) {
                log_error("qclaw.Status takes no argument");
                return 2;
        }
        r = rpc_conf_load(&conf);
        if (r < 0) {
                log_error("cannot load rpc.conf: %s", strerror(-r));
                return 1;
        }
        r = proxy_status(conf.control_socket, &status, &error);
        json_object_set_new(out, "proxy_up", json_boolean(r >= 0));
        if (r >= 0) {
                const char *key;
                json_t *value;
                json_object_foreach(status, key, value)
                        if (strcmp(key, "proxy_up") != 0 && strcmp(key, "audit") != 0)
                                json_object_set(out, key, value);
                json_decref(status);
        } else {
                json_object_set_new(out, "error", json_string(error));
        }
        json_object_set_new(out, "audit", audit_status(conf.audit_log));
        json_object_set_new(out, "service_version", json_string(QCLAW_VERSION));
        _cleanup_free_ char *s =
                json_dumps(out, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII);
        if (!s || printf("%s\n", s) < 0 || fflush(stdout) == EOF) {
                log_error("writing output failed");
                return 1;
        }
        return 0;
}
