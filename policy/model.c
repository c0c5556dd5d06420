/* Model resolution ("provider/model" or bare) and allowlist decisions against a profile's globs.
 * Trust level: the requested model id comes from the sandboxed agent (untrusted); bounded,
 * no allocation, and glob matching is iterative (linear backtracking, no exponential cases). */
#include <stdio.h>
#include <string.h>

#include "policy/model.h"

bool glob_match(const char *pattern, const char *s)
{
        const char *p = pattern, *star = NULL, *resume = NULL;
        while (*s) {
                if (*p == '*') {
                        star = p++;
                        resume = s;
                } else if (*p && (*p == '?' || *p == *s)) {
                        p++;
                        s++;
                } else if (star) {
                        /* Backtrack: let the last '*' swallow one more character. Only the
                         * last star ever needs revisiting, so this is O(len(p) * len(s)). */
                        p = star + 1;
                        s = ++resume;
                } else {
                        return false;
                }
        }
        while (*p == '*')
                p++;
        return *p == '\0';
}

bool glob_valid(const char *pattern)
{
        if (!pattern || !*pattern || strlen(pattern) > MODEL_ID_MAX)
                return false;
        for (const char *p = pattern; *p; p++) {
                unsigned char ch = (unsigned char)*p;
                if (ch <= 0x20 || ch >= 0x7f || ch == '[' || ch == ']' || ch == '\\')
                        return false;
        }
        return true;
}

/* Empty, too long, control characters, whitespace, non-ASCII, or a ".." component. */
static bool model_id_valid(const char *id)
{
        size_t n = strnlen(id, MODEL_ID_MAX + 1);
        if (n == 0 || n > MODEL_ID_MAX)
                return false;
        for (size_t i = 0; i < n; i++) {
                unsigned char ch = (unsigned char)id[i];
                if (ch <= 0x20 || ch >= 0x7f)
                        return false;
        }
        const char *c = id;
        for (;;) {
                const char *e = strchr(c, '/');
                size_t len = e ? (size_t)(e - c) : strlen(c);
                if (len == 2 && c[0] == '.' && c[1] == '.')
                        return false;
                if (!e)
                        break;
                c = e + 1;
        }
        return true;
}

static bool provider_serves(const struct provider *pr, const char *model)
{
        for (size_t i = 0; i < pr->models.n; i++)
                if (glob_match(pr->models.items[i], model))
                        return true;
        return false;
}

bool model_allowed(const struct profile *prof, const char *provider, const char *model)
{
        if (!prof || !provider || !model)
                return false;
        char full[MODEL_ID_MAX * 2 + 2];
        int n = snprintf(full, sizeof(full), "%s/%s", provider, model);
        if (n < 0 || (size_t)n >= sizeof(full))
                return false;
        for (size_t i = 0; i < prof->models.n; i++)
                if (glob_match(prof->models.items[i], full))
                        return true;
        return false;
}

enum model_verdict model_decide(const struct proxy_config *cfg, const struct profile *prof,
                                const char *requested, struct model_route *ret_route)
{
        if (!requested || !model_id_valid(requested))
                return MODEL_INVALID;
        if (!cfg)
                return MODEL_UNKNOWN;
        const struct provider *pr = NULL;
        const char *model = requested;
        const char *slash = strchr(requested, '/');
        if (slash) {
                for (size_t i = 0; i < cfg->n_providers; i++) {
                        const char *name = cfg->providers[i].name;
                        if (strlen(name) == (size_t)(slash - requested) &&
                            strncmp(name, requested, (size_t)(slash - requested)) == 0) {
                                pr = &cfg->providers[i];
                                break;
                        }
                }
        }
        if (pr) {
                model = slash + 1;
                if (!*model)
                        return MODEL_INVALID;
                if (!provider_serves(pr, model))
                        return MODEL_UNKNOWN;
        } else {
                for (size_t i = 0; i < cfg->n_providers && !pr; i++)
                        if (provider_serves(&cfg->providers[i], requested))
                                pr = &cfg->providers[i];
                if (!pr)
                        return MODEL_UNKNOWN;
        }
        if (ret_route) {
                ret_route->provider = pr;
                snprintf(ret_route->model, sizeof(ret_route->model), "%s", model);
        }
        return model_allowed(prof, pr->name, model) ? MODEL_ALLOW : MODEL_DENY_NOT_ALLOWED;
}

const char *model_verdict_to_string(enum model_verdict v)
{
        switch (v) {
        case MODEL_ALLOW: return "allow";
        case MODEL_DENY_NOT_ALLOWED: return "deny-not-allowed";
        case MODEL_UNKNOWN: return "unknown";
        case MODEL_INVALID: return "invalid";
        }
        return "?";
}
