/* Settings of the VM-side qrexec services: /etc/qclaw/rpc.conf (or $QCLAW_RPC_CONF), lines
 * `audit_log=PATH` and `control_socket=PATH`; '#' comments. Missing file: defaults. */
#pragma once

#include <limits.h>

#define RPC_CONF_DEFAULT "/etc/qclaw/rpc.conf"
#define RPC_AUDIT_LOG_DEFAULT "/var/lib/qclaw/audit.jsonl"
#define RPC_CONTROL_SOCKET_DEFAULT "/run/qclaw/control.sock"

struct rpc_conf {
        char audit_log[PATH_MAX];
        char control_socket[PATH_MAX];
};

/* 0, or -EBADMSG for a malformed file (unknown key, relative path), or -errno. */
int rpc_conf_load(struct rpc_conf *conf);
