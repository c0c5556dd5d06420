/* Qubes 4.2 policy lint (rpc/policy-lint.c): a table of good and bad lines, file names, and
 * first-match shadowing. */
#include <string.h>

#include "rpc/policy-lint.h"
#include "tests/unit/tap.h"

static char last_msg[512];

static void rec(void *ud, unsigned line, enum policy_lint_level level, const char *msg)
{
        snprintf(last_msg, sizeof(last_msg), "%s", msg);
}

static const struct {
        const char *text;
        unsigned errors;
        unsigned warnings;
        const char *msg; /* substring of the last finding, or NULL */
} cases[] = {
        { "qclaw.Proxy * @anyvm @anyvm deny\n", 0, 0, NULL },
        { "qclaw.Proxy + @tag:qclaw-client work allow\n", 0, 0, NULL },
        { "qclaw.Proxy +arg.1-x_y @anyvm work allow notify=yes autostart=no\n", 0, 0, NULL },
        { "qubes.ConnectTCP +192.168.0.1+22 @anyvm @anyvm deny\n", 0, 0, NULL },
        { "* * @anyvm @anyvm deny notify=no\n", 0, 0, NULL },
        { "qclaw.Proxy * @anyvm @default allow target=work\n", 0, 0, NULL },
        { "qclaw.Proxy * @anyvm @default ask default_target=work\n", 0, 0, NULL },
        { "qclaw.Proxy * @anyvm @dispvm:@tag:x allow\n", 0, 0, NULL },
        { "qclaw.Proxy * dom0 @adminvm allow user=root\n", 0, 0, NULL },
        { "qclaw.Proxy * @type:AppVM @anyvm deny\n", 0, 0, NULL },
        { "qclaw.Proxy * uuid:01234567-89ab-cdef-0123-456789abcdef @anyvm deny\n", 0, 0, NULL },
        { "  # indented comment\n\n\t\n", 0, 0, NULL },
        { "!include-dir include\n!compat-4.0\n", 0, 0, NULL },
        { "qclaw.Proxy * @anyvm @anyvm deny", 0, 1, "newline" },
        /* errors */
        { "qclaw.Proxy * @anyvm @anyvm\n", 1, 0, "5 columns" },
        { "qclaw.Proxy+22 * @anyvm @anyvm deny\n", 1, 0, "cannot contain '+'" },
        { "qclaw.Pro$xy * @anyvm @anyvm deny\n", 1, 0, "invalid character 0x24" },
        { "qclaw.Proxy 22 @anyvm @anyvm deny\n", 1, 0, "start with '+'" },
        { "qclaw.Proxy +a/b @anyvm @anyvm deny\n", 1, 0, "invalid character 0x2f" },
        { "* +x @anyvm @anyvm deny\n", 1, 0, "only '*' argument" },
        { "qclaw.Proxy * @anyvm @anyvm permit\n", 1, 0, "allow, deny or ask" },
        { "qclaw.Proxy * @anyvm @default allow\n", 1, 0, "needs target=" },
        { "qclaw.Proxy * @anyvm @default allow target=a,notify=yes\n", 2, 0, "needs target=" },
        { "qclaw.Proxy * @anyvm work allow # why\n", 1, 0, "inline comments" },
        { "qclaw.Proxy * @anyvm work deny target=work\n", 1, 0, "not valid for 'deny'" },
        { "qclaw.Proxy * @anyvm work allow default_target=work\n", 1, 0, "not valid for 'allow'" },
        { "qclaw.Proxy * @anyvm work allow notify=maybe\n", 1, 0, "yes or no" },
        { "qclaw.Proxy * @anyvm work allow target=@anyvm\n", 1, 0, "@anyvm is not a valid" },
        { "qclaw.Proxy * @anyvm work allow target=@tag:x\n", 1, 0, "single qube" },
        { "qclaw.Proxy * @default work allow\n", 1, 0, "only valid in the target" },
        { "qclaw.Proxy * @anyvm @nosuch deny\n", 1, 0, "unknown @keyword" },
        { "qclaw.Proxy * 1work @anyvm deny\n", 1, 0, "not a valid qube name" },
        { "qclaw.Proxy * @anyvm work allow notify=yes notify=no\n", 1, 0, "given twice" },
        { "qclaw.Proxy * @anyvm work allow bogus\n", 1, 0, "KEY=VALUE" },
        { "!include\n", 1, 0, "takes 1 argument" },
        { "!frobnicate x\n", 1, 0, "unknown directive" },
        { "qclaw.Proxy * @anyvm work\x01 deny\n", 1, 0, "invalid byte" },
        /* shadowing: first match wins */
        { "qclaw.Proxy * @anyvm @anyvm deny\nqclaw.Proxy + @tag:c work allow\n", 0, 1,
          "line 1 matches" },
        { "* * @anyvm @anyvm deny\nqclaw.X +a work other allow\n", 0, 1, "never used" },
        { "qclaw.Proxy + work other deny\nqclaw.Proxy + work other allow\n", 0, 1, "never used" },
        { "qclaw.Proxy + @anyvm @anyvm deny\nqclaw.Proxy + dom0 other allow\n", 0, 0, NULL },
        { "qclaw.Proxy +a @anyvm @anyvm deny\nqclaw.Proxy +b work other allow\n", 0, 0, NULL },
        { "qclaw.Proxy * @tag:a @anyvm deny\nqclaw.Proxy * work other allow\n", 0, 0, NULL },
        { "qclaw.Proxy * @anyvm work deny\nqclaw.Proxy * @anyvm @default allow target=work\n",
          0, 0, NULL },
};

static const struct {
        const char *name;
        unsigned errors, warnings;
} names[] = {
        { "/etc/qubes/policy.d/30-qclaw.policy", 0, 0 },
        { "30-QCLAW.policy", 1, 0 },
        { "30 qclaw.policy", 1, 0 },
        { "30-qclaw.txt", 0, 1 },
        { ".30-qclaw.policy", 0, 1 },
};

int main(void)
{
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                struct policy_lint_result res = { 0 };
                last_msg[0] = '\0';
                CHECK(policy_lint_text(cases[i].text, strlen(cases[i].text), rec, NULL, &res) ==
                      0);
                if (res.errors != cases[i].errors || res.warnings != cases[i].warnings)
                        fprintf(stderr, "case %zu '%s': %u errors %u warnings (%s)\n", i,
                                cases[i].text, res.errors, res.warnings, last_msg);
                CHECK(res.errors == cases[i].errors);
                CHECK(res.warnings == cases[i].warnings);
                if (cases[i].msg && !strstr(last_msg, cases[i].msg)) {
                        fprintf(stderr, "case %zu: '%s' not in '%s'\n", i, cases[i].msg, last_msg);
                        CHECK(0);
                }
        }
        for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
                struct policy_lint_result res = { 0 };
                policy_lint_filename(names[i].name, rec, NULL, &res);
                CHECK(res.errors == names[i].errors);
                CHECK(res.warnings == names[i].warnings);
        }
        return TEST_DONE();
}
