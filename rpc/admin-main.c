/* qclaw-admin: review and checks, in dom0 and in the VM. Dispatches to one file per subcommand.
 * Trust level: in dom0, everything read from the VM is untrusted (see admin-logs.c). */
#include <stdio.h>
#include <string.h>

#include "common/log.h"
#include "rpc/admin.h"

static const struct {
        const char *name;
        int (*run)(int argc, char **argv);
        const char *usage;
} commands[] = {
        { "check-profile", admin_check_profile, "check-profile FILE...    validate agent profiles" },
        { "check-config", admin_check_config, "check-config FILE        validate a proxy config" },
        { "verify", admin_verify, "verify [FILE]            verify an audit log's hash chain" },
        { "logs", admin_logs, "logs VM [--follow] [--since SEQ] [--profile P] [--event E] [--json]" },
        { "status", admin_status, "status VM                proxy and session status of a VM" },
        { "policy-check", admin_policy_check, "policy-check FILE...     lint Qubes 4.2 policy files" },
};

static void usage(FILE *f)
{
        fprintf(f, "usage: qclaw-admin COMMAND [ARGS]\n\ncommands:\n");
        for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
                fprintf(f, "  %s\n", commands[i].usage);
        fprintf(f, "\n  --help, --version\n\nSee qclaw-admin(8).\n");
}

int main(int argc, char **argv)
{
        log_init("qclaw-admin");
        if (argc < 2) {
                usage(stderr);
                return 2;
        }
        if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
                usage(stdout);
                return 0;
        }
        if (strcmp(argv[1], "--version") == 0) {
                printf("qclaw-admin %s\n", QCLAW_VERSION);
                return 0;
        }
        for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
                if (strcmp(argv[1], commands[i].name) == 0)
                        return commands[i].run(argc - 1, argv + 1);
        fprintf(stderr, "qclaw-admin: unknown command '%s'\n", argv[1]);
        usage(stderr);
        return 2;
}
