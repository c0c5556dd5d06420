/* The proxy's audit records (DESIGN.md "Audit log"): config at start/reload; egress, egress_done
 * and deny are built by the request code and appended here. Never a key, a header or a body.
 * Trust level: internal; a failed append makes the caller refuse the request (503). */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "common/json-util.h"
#include "common/log.h"
#include "proxy/proxy.h"

int paudit_json(json_t *fields, bool sync)
{
        _cleanup_json_ json_t *f = fields;
        if (!f)
                return -ENOMEM;
        if (!P.audit)
                return -EBADF;
        uint64_t seq;
        int r = audit_log_append(P.audit, f, sync, &seq);
        if (r < 0)
                log_error("audit log %s: cannot append a record: %s; refusing requests until it "
                          "can be written", P.audit_path, strerror(-r));
        return r;
}

int paudit_config(const char *reason)
{
        json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:s, s:I}", "event", "config", "reason",
                              reason, "version", QCLAW_VERSION, "config_hash",
                              P.snap->config->hash, "profiles_hash", P.snap->profiles->hash,
                              "pid", (json_int_t)getpid());
        return paudit_json(j, true);
}
