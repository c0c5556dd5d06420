/* qclaw-admin policy-check FILE...: lint Qubes 4.2 qrexec policy files before installing them
 * in /etc/qubes/policy.d (an invalid file there makes every qrexec call fail).
 * Trust level: dom0, the admin's own files; output escapes nothing because rpc/policy-lint.c
 * only quotes bytes it has checked to be printable. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/fd-util.h"
#include "common/macro.h"
#include "rpc/admin.h"
#include "rpc/policy-lint.h"

#define POLICY_FILE_MAX (4 * 1024 * 1024)

static void print_finding(void *userdata, unsigned line, enum policy_lint_level level,
                          const char *message)
{
        const char *path = userdata;
        const char *what = level == POLICY_LINT_ERROR ? "error" : "warning";

        if (line == 0)
                fprintf(stderr, "%s: %s: %s\n", path, what, message);
        else
                fprintf(stderr, "%s:%u: %s: %s\n", path, line, what, message);
}

int admin_policy_check(int argc, char **argv)
{
        unsigned errors = 0, warnings = 0, files = 0;

        if (argc < 2 || strcmp(argv[1], "--help") == 0) {
                fprintf(argc < 2 ? stderr : stdout,
                        "usage: qclaw-admin policy-check FILE...\n"
                        "Checks Qubes 4.2 policy.d files: name, columns, character set, actions,\n"
                        "parameters, tokens; warns about rules an earlier rule shadows.\n"
                        "Exit 1 if any error was found (warnings alone exit 0).\n");
                return argc < 2 ? 2 : 0;
        }
        for (int i = 1; i < argc; i++) {
                struct policy_lint_result res = { 0 };
                _cleanup_free_ char *text = NULL;
                size_t len = 0;
                int r;

                policy_lint_filename(argv[i], print_finding, argv[i], &res);
                r = read_file_bounded(argv[i], POLICY_FILE_MAX, &text, &len);
                if (r < 0) {
                        fprintf(stderr, "%s: error: cannot read: %s\n", argv[i], strerror(-r));
                        errors++;
                        continue;
                }
                r = policy_lint_text(text, len, print_finding, argv[i], &res);
                if (r < 0) {
                        fprintf(stderr, "%s: error: %s\n", argv[i], strerror(-r));
                        errors++;
                        continue;
                }
                errors += res.errors;
                warnings += res.warnings;
                files++;
        }
        printf("%u file(s) checked: %u error(s), %u warning(s)\n", files, errors, warnings);
        return errors ? 1 : 0;
}
