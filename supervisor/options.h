/* qclaw-run command line. Trust level: parses the invoking user's arguments (root mode: a sudo
 * caller, so nothing here is trusted to be sane). */
#pragma once

#include <stdbool.h>

#define QCLAW_DEFAULT_PROFILE "demo"
#define QCLAW_DEFAULT_PROFILES_DIR "/etc/qclaw/profiles"
#define QCLAW_DEFAULT_CONTROL_SOCKET "/run/qclaw/control.sock"
#define QCLAW_DEFAULT_AUDIT_LOG "/var/lib/qclaw/audit.jsonl"

struct run_options {
        const char *profile;      /* NAME or FILE */
        const char *workspace;    /* NULL: current directory */
        const char *proxy_socket;
        const char *audit_log;
        bool audit_log_given;     /* --audit-log was passed (failure to open is then fatal) */
        const char *user;         /* --user, NULL: SUDO_UID / the caller */
        bool verbose;
        char **argv;              /* command and arguments (NULL-terminated, n >= 1) */
};

/* 0 with *ret filled, 1 when --help/--version was printed (exit 0), or -EINVAL with a one-line
 * reason in err. */
int options_parse(int argc, char **argv, struct run_options *ret, char *err, unsigned errlen);
void options_help(void);
