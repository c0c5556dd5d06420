/* Qubes 4.2 policy linter, after qrexec/policy/parser.py: columns, RPC name charset, '+' rules,
 * tokens, actions and their parameters, directives, and rules shadowed by an earlier rule.
 * Trust level: the admin's own files (dom0); still bounded and never executes anything. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/macro.h"
#include "rpc/policy-lint.h"

#define POLICY_LINE_MAX 4096
#define POLICY_TOKENS_MAX 32
#define POLICY_RULES_MAX 4096

struct rule {
        char service[256];
        char arg[256];
        char source[256];
        char target[256];
        unsigned line;
};

struct lint {
        policy_lint_report_t cb;
        void *userdata;
        struct policy_lint_result *res;
        unsigned line;
};

_printf_(3, 4) static void report(struct lint *l, enum policy_lint_level level, const char *fmt, ...)
{
        char msg[512];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        if (level == POLICY_LINT_ERROR)
                l->res->errors++;
        else
                l->res->warnings++;
        if (l->cb)
                l->cb(l->userdata, l->line, level, msg);
}

static bool is_rpcname_char(char c)
{
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
               c == '+' || c == '-' || c == '.' || c == '_';
}

static bool is_name_char(char c)
{
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
               c == '-' || c == '.' || c == '_';
}

/* A literal qube name: letter first, [A-Za-z0-9_.-], at most 31. */
static bool is_qube_name(const char *s)
{
        size_t n = strlen(s);
        if (n == 0 || n > 31)
                return false;
        if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z')))
                return false;
        for (size_t i = 0; i < n; i++)
                if (!is_name_char(s[i]))
                        return false;
        return true;
}

static bool is_simple_word(const char *s)
{
        if (!*s)
                return false;
        for (; *s; s++)
                if (!is_name_char(*s))
                        return false;
        return true;
}

static bool is_uuid(const char *s)
{
        /* uuid:8-4-4-4-12 hex (Qubes 4.3) */
        static const int groups[] = { 8, 4, 4, 4, 12 };
        for (size_t g = 0; g < ELEMENTSOF(groups); g++) {
                for (int i = 0; i < groups[g]; i++, s++)
                        if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f') ||
                              (*s >= 'A' && *s <= 'F')))
                                return false;
                if (g + 1 < ELEMENTSOF(groups) && *s++ != '-')
                        return false;
        }
        return *s == '\0';
}

enum token_use { TOKEN_SOURCE, TOKEN_TARGET, TOKEN_PARAM_TARGET };

/* Validates a source/target/target= token. NULL if fine, else why not. */
static const char *check_token(const char *t, enum token_use use)
{
        if (strcmp(t, "dom0") == 0 || strcmp(t, "@adminvm") == 0)
                return NULL;
        if (strcmp(t, "@anyvm") == 0)
                return use == TOKEN_PARAM_TARGET ? "@anyvm is not a valid target= value" : NULL;
        if (strcmp(t, "@default") == 0)
                return use == TOKEN_TARGET ? NULL : "@default is only valid in the target column";
        if (strcmp(t, "@dispvm") == 0)
                return NULL;
        if (strncmp(t, "@dispvm:@tag:", 13) == 0)
                return is_simple_word(t + 13) ? NULL : "bad tag name in @dispvm:@tag:";
        if (strncmp(t, "@dispvm:", 8) == 0)
                return is_qube_name(t + 8) ? NULL : "bad qube name in @dispvm:";
        if (strncmp(t, "@tag:", 5) == 0) {
                if (use == TOKEN_PARAM_TARGET)
                        return "@tag: does not name a single qube (not valid as target=)";
                return is_simple_word(t + 5) ? NULL : "bad tag name in @tag:";
        }
        if (strncmp(t, "@type:", 6) == 0) {
                if (use == TOKEN_PARAM_TARGET)
                        return "@type: does not name a single qube (not valid as target=)";
                return is_simple_word(t + 6) ? NULL : "bad type name in @type:";
        }
        if (strncmp(t, "uuid:", 5) == 0)
                return is_uuid(t + 5) ? NULL : "bad uuid: token";
        if (t[0] == '@' || t[0] == '$')
                return "unknown @keyword";
        return is_qube_name(t) ? NULL : "not a valid qube name or @keyword";
}

static bool same_vm(const char *a, const char *b)
{
        bool a0 = strcmp(a, "dom0") == 0 || strcmp(a, "@adminvm") == 0;
        bool b0 = strcmp(b, "dom0") == 0 || strcmp(b, "@adminvm") == 0;
        if (a0 || b0)
                return a0 && b0;
        return strcmp(a, b) == 0;
}

/* Does the earlier token `a` match every qube token `b` matches? Conservative: only identity
 * and @anyvm over names, tags, types and named dispvms (@anyvm excludes dom0). */
static bool token_covers(const char *a, const char *b)
{
        if (same_vm(a, b))
                return true;
        if (strcmp(a, "@anyvm") != 0)
                return false;
        if (strcmp(b, "dom0") == 0 || strcmp(b, "@adminvm") == 0 || strcmp(b, "@default") == 0 ||
            strcmp(b, "@dispvm") == 0)
                return false;
        return true;
}

static void check_service_arg(struct lint *l, const char *service, const char *arg)
{
        if (strcmp(service, "*") != 0) {
                for (const char *p = service; *p; p++) {
                        if (*p == '+') {
                                report(l, POLICY_LINT_ERROR, "service name cannot contain '+': "
                                       "put the argument in the second column");
                                break;
                        }
                        if (!is_rpcname_char(*p)) {
                                report(l, POLICY_LINT_ERROR,
                                       "invalid character 0x%02x in service name",
                                       (unsigned char)*p);
                                break;
                        }
                }
        } else if (strcmp(arg, "*") != 0) {
                report(l, POLICY_LINT_ERROR, "only '*' argument is allowed for '*' service");
        }
        if (strcmp(arg, "*") == 0)
                return;
        if (arg[0] != '+') {
                report(l, POLICY_LINT_ERROR, "argument must be '*' or start with '+'");
                return;
        }
        for (const char *p = arg; *p; p++)
                if (!is_rpcname_char(*p)) {
                        report(l, POLICY_LINT_ERROR, "invalid character 0x%02x in argument",
                               (unsigned char)*p);
                        return;
                }
}

static bool param_allowed(const char *action, const char *key)
{
        static const char *const allow[] = { "target", "user", "notify", "autostart", NULL };
        static const char *const ask[] = { "target", "default_target", "user", "notify",
                                           "autostart", NULL };
        static const char *const deny[] = { "notify", NULL };
        const char *const *set = strcmp(action, "allow") == 0 ? allow :
                                 strcmp(action, "ask") == 0   ? ask :
                                                                deny;
        for (; *set; set++)
                if (strcmp(*set, key) == 0)
                        return true;
        return false;
}

static void check_params(struct lint *l, const char *action, const char *target, char **params,
                         size_t n)
{
        bool has_target = false;

        for (size_t i = 0; i < n; i++) {
                const char *p = params[i];
                const char *eq = strchr(p, '=');
                char key[64];
                const char *value;

                if (p[0] == '#') {
                        report(l, POLICY_LINT_ERROR, "inline comments are not allowed");
                        return;
                }
                if (!eq || eq == p) {
                        report(l, POLICY_LINT_ERROR, "invalid parameter '%.64s' (want KEY=VALUE)",
                               p);
                        continue;
                }
                if ((size_t)(eq - p) >= sizeof(key)) {
                        report(l, POLICY_LINT_ERROR, "parameter name too long");
                        continue;
                }
                memcpy(key, p, (size_t)(eq - p));
                key[eq - p] = '\0';
                value = eq + 1;
                if (strchr(value, ',')) {
                        report(l, POLICY_LINT_ERROR, "parameters are separated by whitespace, "
                               "not commas");
                        continue;
                }
                for (size_t j = 0; j < i; j++)
                        if (strncmp(params[j], p, (size_t)(eq - p) + 1) == 0) {
                                report(l, POLICY_LINT_ERROR, "parameter '%s' given twice", key);
                                break;
                        }
                if (!param_allowed(action, key)) {
                        report(l, POLICY_LINT_ERROR, "parameter '%s' is not valid for '%s'", key,
                               action);
                        continue;
                }
                if (strcmp(key, "notify") == 0 || strcmp(key, "autostart") == 0) {
                        if (strcmp(value, "yes") != 0 && strcmp(value, "no") != 0)
                                report(l, POLICY_LINT_ERROR, "%s= must be yes or no", key);
                } else if (strcmp(key, "target") == 0 || strcmp(key, "default_target") == 0) {
                        const char *why = check_token(value, TOKEN_PARAM_TARGET);
                        if (strcmp(key, "target") == 0)
                                has_target = true;
                        if (why)
                                report(l, POLICY_LINT_ERROR, "%s=%.64s: %s", key, value, why);
                } else if (strcmp(key, "user") == 0) {
                        if (!is_simple_word(value))
                                report(l, POLICY_LINT_ERROR, "user= must be a plain user name");
                }
        }
        if (strcmp(action, "allow") == 0 && strcmp(target, "@default") == 0 && !has_target)
                report(l, POLICY_LINT_ERROR,
                       "'allow' with @default destination needs target=");
}

static void check_directive(struct lint *l, char **tok, size_t n)
{
        static const struct {
                const char *name;
                size_t args;
        } directives[] = {
                { "!include", 1 },
                { "!include-dir", 1 },
                { "!include-service", 3 },
                { "!compat-4.0", 0 },
        };
        for (size_t i = 0; i < ELEMENTSOF(directives); i++) {
                if (strcmp(tok[0], directives[i].name) != 0)
                        continue;
                if (n - 1 != directives[i].args)
                        report(l, POLICY_LINT_ERROR, "%s takes %zu argument(s)", tok[0],
                               directives[i].args);
                else if (strcmp(tok[0], "!include-service") == 0)
                        check_service_arg(l, tok[1], tok[2]);
                return;
        }
        report(l, POLICY_LINT_ERROR, "unknown directive '%.64s'", tok[0]);
}

static void check_shadowing(struct lint *l, const struct rule *rules, size_t n, const struct rule *r)
{
        for (size_t i = 0; i < n; i++) {
                const struct rule *a = &rules[i];
                if (strcmp(a->service, "*") != 0 && strcmp(a->service, r->service) != 0)
                        continue;
                if (strcmp(a->arg, "*") != 0 && strcmp(a->arg, r->arg) != 0)
                        continue;
                if (!token_covers(a->source, r->source) || !token_covers(a->target, r->target))
                        continue;
                report(l, POLICY_LINT_WARNING,
                       "rule is never used: line %u matches every call it would (first match wins)",
                       a->line);
                return;
        }
}

static int lint_line(struct lint *l, char *line, struct rule *rules, size_t *n_rules)
{
        char *tok[POLICY_TOKENS_MAX];
        size_t n = 0;
        char *save = NULL;

        for (char *p = line; *p; p++) {
                unsigned char c = (unsigned char)*p;
                if (c == '\r' && p[1] == '\0') {
                        *p = '\0';
                        break;
                }
                if ((c < 0x20 && c != '\t') || c >= 0x7f) {
                        report(l, POLICY_LINT_ERROR, "invalid byte 0x%02x", c);
                        return 0;
                }
        }
        for (char *t = strtok_r(line, " \t", &save); t; t = strtok_r(NULL, " \t", &save)) {
                if (n == POLICY_TOKENS_MAX) {
                        report(l, POLICY_LINT_ERROR, "too many fields");
                        return 0;
                }
                tok[n++] = t;
        }
        if (n == 0 || tok[0][0] == '#')
                return 0;
        if (tok[0][0] == '!') {
                check_directive(l, tok, n);
                return 0;
        }
        for (size_t i = 1; i < n && i < 5; i++)
                if (tok[i][0] == '#') {
                        report(l, POLICY_LINT_ERROR, "inline comments are not allowed");
                        return 0;
                }
        if (n < 5) {
                report(l, POLICY_LINT_ERROR,
                       "need at least 5 columns: SERVICE ARGUMENT SOURCE TARGET ACTION");
                return 0;
        }
        unsigned before = l->res->errors;
        check_service_arg(l, tok[0], tok[1]);
        const char *why = check_token(tok[2], TOKEN_SOURCE);
        if (why)
                report(l, POLICY_LINT_ERROR, "source '%.64s': %s", tok[2], why);
        why = check_token(tok[3], TOKEN_TARGET);
        if (why)
                report(l, POLICY_LINT_ERROR, "target '%.64s': %s", tok[3], why);
        if (strcmp(tok[4], "allow") != 0 && strcmp(tok[4], "deny") != 0 &&
            strcmp(tok[4], "ask") != 0) {
                report(l, POLICY_LINT_ERROR, "action must be allow, deny or ask, not '%.32s'",
                       tok[4]);
                return 0;
        }
        check_params(l, tok[4], tok[3], tok + 5, n - 5);
        if (l->res->errors != before)
                return 0;

        struct rule r = { .line = l->line };
        if (strlen(tok[0]) >= sizeof(r.service) || strlen(tok[1]) >= sizeof(r.arg) ||
            strlen(tok[2]) >= sizeof(r.source) || strlen(tok[3]) >= sizeof(r.target))
                return 0;
        memcpy(r.service, tok[0], strlen(tok[0]) + 1);
        memcpy(r.arg, tok[1], strlen(tok[1]) + 1);
        memcpy(r.source, tok[2], strlen(tok[2]) + 1);
        memcpy(r.target, tok[3], strlen(tok[3]) + 1);
        check_shadowing(l, rules, *n_rules, &r);
        if (*n_rules < POLICY_RULES_MAX)
                rules[(*n_rules)++] = r;
        return 0;
}

void policy_lint_filename(const char *path, policy_lint_report_t cb, void *userdata,
                          struct policy_lint_result *res)
{
        struct lint l = { .cb = cb, .userdata = userdata, .res = res, .line = 0 };
        const char *base = strrchr(path, '/');
        size_t n;

        base = base ? base + 1 : path;
        n = strlen(base);
        if (base[0] == '.') {
                report(&l, POLICY_LINT_WARNING, "file name starts with '.': qrexec ignores it");
                return;
        }
        if (n < 7 || strcmp(base + n - 7, ".policy") != 0) {
                report(&l, POLICY_LINT_WARNING, "no .policy suffix: qrexec ignores this file");
                return;
        }
        for (const char *p = base; *p; p++)
                if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') || *p == '_' ||
                      *p == '.' || *p == '-')) {
                        report(&l, POLICY_LINT_ERROR,
                               "file name may only use [0-9a-z_.-] (an invalid file makes every "
                               "qrexec call fail)");
                        return;
                }
}

int policy_lint_text(const char *text, size_t len, policy_lint_report_t cb, void *userdata,
                     struct policy_lint_result *res)
{
        struct lint l = { .cb = cb, .userdata = userdata, .res = res, .line = 0 };
        _cleanup_free_ struct rule *rules = calloc(POLICY_RULES_MAX, sizeof(struct rule));
        size_t n_rules = 0;
        char buf[POLICY_LINE_MAX + 1];

        if (!rules)
                return -ENOMEM;
        for (size_t pos = 0; pos < len;) {
                const char *nl = memchr(text + pos, '\n', len - pos);
                size_t end = nl ? (size_t)(nl - text) : len;
                size_t ll = end - pos;

                l.line++;
                if (memchr(text + pos, '\0', ll)) {
                        report(&l, POLICY_LINT_ERROR, "NUL byte in line");
                } else if (ll > POLICY_LINE_MAX) {
                        report(&l, POLICY_LINT_ERROR, "line longer than %d bytes",
                               POLICY_LINE_MAX);
                } else {
                        memcpy(buf, text + pos, ll);
                        buf[ll] = '\0';
                        lint_line(&l, buf, rules, &n_rules);
                }
                pos = end + 1;
        }
        if (len > 0 && text[len - 1] != '\n') {
                report(&l, POLICY_LINT_WARNING, "no newline at end of file");
        }
        return 0;
}
