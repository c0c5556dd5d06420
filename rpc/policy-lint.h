/* Lint for Qubes 4.2 qrexec policy files (reference/qrexec.md 3.5): file names, columns,
 * character sets, actions and parameters, tokens, directives, first-match shadowing. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

enum policy_lint_level { POLICY_LINT_WARNING, POLICY_LINT_ERROR };

/* Called once per finding; line is 1-based (0 for the file name). */
typedef void (*policy_lint_report_t)(void *userdata, unsigned line, enum policy_lint_level level,
                                     const char *message);

struct policy_lint_result {
        unsigned errors;
        unsigned warnings;
};

/* Check a policy file's base name. Reports through cb with line 0. */
void policy_lint_filename(const char *path, policy_lint_report_t cb, void *userdata,
                          struct policy_lint_result *res);

/* Check a whole policy text (the rules of one file, in order). 0, or -ENOMEM. */
int policy_lint_text(const char *text, size_t len, policy_lint_report_t cb, void *userdata,
                     struct policy_lint_result *res);
