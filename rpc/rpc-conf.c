/* Loads rpc.conf for the VM-side services. Trust level: VM, root-owned file. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/fd-util.h"
#include "common/macro.h"
#include "rpc/rpc-conf.h"

static int set_path(char *dst, const char *value)
{
        size_t n = strlen(value);
        if (n == 0 || n >= PATH_MAX || value[0] != '/')
                return -EBADMSG;
        memcpy(dst, value, n + 1);
        return 0;
}

int rpc_conf_load(struct rpc_conf *conf)
{
        const char *path = getenv("QCLAW_RPC_CONF");
        _cleanup_free_ char *text = NULL;
        size_t len;
        int r;

        memcpy(conf->audit_log, RPC_AUDIT_LOG_DEFAULT, sizeof(RPC_AUDIT_LOG_DEFAULT));
        memcpy(conf->control_socket, RPC_CONTROL_SOCKET_DEFAULT,
               sizeof(RPC_CONTROL_SOCKET_DEFAULT));
        if (!path || !*path)
                path = RPC_CONF_DEFAULT;
        r = read_file_bounded(path, 64 * 1024, &text, &len);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return r;
        for (char *line = text, *next; line && *line; line = next) {
                next = strchr(line, '\n');
                if (next)
                        *next++ = '\0';
                while (*line == ' ' || *line == '\t')
                        line++;
                if (*line == '\0' || *line == '#')
                        continue;
                char *eq = strchr(line, '=');
                if (!eq)
                        return -EBADMSG;
                *eq = '\0';
                const char *value = eq + 1;
                if (strcmp(line, "audit_log") == 0)
                        r = set_path(conf->audit_log, value);
                else if (strcmp(line, "control_socket") == 0)
                        r = set_path(conf->control_socket, value);
                else
                        r = -EBADMSG;
                if (r < 0)
                        return r;
        }
        return 0;
}
