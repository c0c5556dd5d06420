/* qclaw-run command-line parsing (getopt_long, stops at the first non-option or "--").
 * Trust level: runs in the supervisor before any privilege is used; input is the caller's. */
#include "supervisor/options.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

void options_help(void)
{
        printf("Usage: qclaw-run [--profile NAME|FILE] [--workspace DIR] [--proxy-socket PATH]\n"
               "                 [--audit-log PATH] [--user USER] [-v] [--] COMMAND [ARG...]\n"
               "Run COMMAND confined by a qclaw profile (default: %s, from %s or\n"
               "$QCLAW_PROFILES_DIR). Exit status: the command's; 128+N if killed by signal N;\n"
               "125 if qclaw-run failed; 126 not executable; 127 not found.\n",
               QCLAW_DEFAULT_PROFILE, QCLAW_DEFAULT_PROFILES_DIR);
}

int options_parse(int argc, char **argv, struct run_options *ret, char *err, unsigned errlen)
{
        enum { ARG_PROFILE = 0x100, ARG_WORKSPACE, ARG_PROXY, ARG_AUDIT, ARG_USER, ARG_VERSION };
        static const struct option longopts[] = {
                { "profile", required_argument, NULL, ARG_PROFILE },
                { "workspace", required_argument, NULL, ARG_WORKSPACE },
                { "proxy-socket", required_argument, NULL, ARG_PROXY },
                { "audit-log", required_argument, NULL, ARG_AUDIT },
                { "user", required_argument, NULL, ARG_USER },
                { "verbose", no_argument, NULL, 'v' },
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, ARG_VERSION },
                {}
        };
        struct run_options o = {
                .profile = QCLAW_DEFAULT_PROFILE,
                .proxy_socket = QCLAW_DEFAULT_CONTROL_SOCKET,
                .audit_log = QCLAW_DEFAULT_AUDIT_LOG,
        };
        int c;

        optind = 1;
        opterr = 0;
        /* '+': stop at the first non-option so the command's own options stay its own. */
        while ((c = getopt_long(argc, argv, "+vh", longopts, NULL)) >= 0) {
                switch (c) {
                case ARG_PROFILE:
                        o.profile = optarg;
                        break;
                case ARG_WORKSPACE:
                        o.workspace = optarg;
                        break;
                case ARG_PROXY:
                        o.proxy_socket = optarg;
                        break;
                case ARG_AUDIT:
                        o.audit_log = optarg;
                        o.audit_log_given = true;
                        break;
                case ARG_USER:
                        o.user = optarg;
                        break;
                case 'v':
                        o.verbose = true;
                        break;
                case 'h':
                        options_help();
                        return 1;
                case ARG_VERSION:
                        printf("qclaw-run %s\n", QCLAW_VERSION);
                        return 1;
                default:
                        if (optopt && optopt < 0x100)
                                snprintf(err, errlen, "unknown or incomplete option '-%c'",
                                         optopt);
                        else
                                snprintf(err, errlen, "unknown or incomplete option '%s'",
                                         argv[optind - 1]);
                        return -EINVAL;
                }
        }
        if (optind >= argc) {
                snprintf(err, errlen, "no command given (usage: qclaw-run [OPTIONS] -- COMMAND)");
                return -EINVAL;
        }
        if (!*o.profile || !*o.proxy_socket || !*o.audit_log || (o.workspace && !*o.workspace) ||
            (o.user && !*o.user)) {
                snprintf(err, errlen, "empty option value");
                return -EINVAL;
        }
        o.argv = argv + optind;
        *ret = o;
        return 0;
}
