/* Rebuild the agent's environment from the profile's allowlist. Nothing secret-looking passes
 * unless named exactly. Trust level: supervisor (parent), before the sandbox starts. */
#include "supervisor/env.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/strbuf.h"
#include "policy/profile.h"

static bool contains_ci(const char *s, size_t len, const char *needle)
{
        size_t n = strlen(needle);

        for (size_t i = 0; i + n <= len; i++)
                if (strncasecmp(s + i, needle, n) == 0)
                        return true;
        return false;
}

bool env_name_is_secret(const char *name)
{
        static const char *const words[] = { "KEY", "TOKEN", "SECRET", "PASSWORD", "PASSWD",
                                             "CREDENTIAL", "AUTH_SOCK" };
        size_t len = strcspn(name, "=");

        for (size_t i = 0; i < ELEMENTSOF(words); i++)
                if (contains_ci(name, len, words[i]))
                        return true;
        if (len >= 5 && strncasecmp(name + len - 5, "_SOCK", 5) == 0)
                return true;
        return false;
}

static bool name_eq(const char *a, const char *entry_name, size_t len)
{
        /* a is "NAME" or "NAME=value"; compare NAME with entry_name[0..len). */
        return strncmp(a, entry_name, len) == 0 && (a[len] == '\0' || a[len] == '=');
}

bool env_name_passes(const char *const *pass, size_t n_pass, const char *name)
{
        size_t len = strcspn(name, "=");
        bool glob_hit = false;

        if (len == 0)
                return false;
        for (size_t i = 0; i < n_pass; i++) {
                const char *e = pass[i];
                size_t el = strlen(e);

                if (el > 0 && e[el - 1] == '*') {
                        if (len >= el - 1 && strncmp(name, e, el - 1) == 0)
                                glob_hit = true;
                } else if (el == len && strncmp(name, e, len) == 0) {
                        return true; /* named exactly: the profile author meant it */
                }
        }
        return glob_hit && !env_name_is_secret(name);
}

struct envv {
        char **v;
        size_t n;
};

static int envv_set(struct envv *e, const char *name, const char *value)
{
        struct strbuf b = STRBUF_INIT(128 * 1024);
        size_t len = strlen(name);
        char *s;
        int r;

        r = strbuf_appendf(&b, "%s=%s", name, value);
        if (r < 0 || (r = strbuf_steal(&b, &s)) < 0) {
                strbuf_free(&b);
                return r;
        }
        for (size_t i = 0; i < e->n; i++)
                if (name_eq(e->v[i], name, len)) {
                        free(e->v[i]);
                        e->v[i] = s;
                        return 0;
                }
        if (e->n + 1 >= ENV_MAX_VARS) {
                free(s);
                return -E2BIG;
        }
        e->v[e->n++] = s;
        e->v[e->n] = NULL;
        return 0;
}

static bool envv_has(const struct envv *e, const char *name)
{
        size_t len = strlen(name);

        for (size_t i = 0; i < e->n; i++)
                if (name_eq(e->v[i], name, len))
                        return true;
        return false;
}

char **env_free(char **env)
{
        if (env) {
                for (char **s = env; *s; s++)
                        free(*s);
                free(env);
        }
        return NULL;
}

int env_build(const struct profile *p, char *const *in, const struct env_identity *id,
              char ***ret)
{
        struct envv e = { .v = calloc(ENV_MAX_VARS, sizeof(char *)) };
        int r = 0;

        if (!e.v)
                return -ENOMEM;

        for (char *const *s = in; s && *s && r >= 0; s++) {
                const char *eq = strchr(*s, '=');
                _cleanup_free_ char *name = NULL;

                if (!eq || eq == *s)
                        continue;
                if (!env_name_passes((const char *const *)p->env_pass.items, p->env_pass.n, *s))
                        continue;
                name = strndup(*s, (size_t)(eq - *s));
                if (!name) {
                        r = -ENOMEM;
                        break;
                }
                r = envv_set(&e, name, eq + 1);
        }
        for (size_t i = 0; i < p->n_env_set && r >= 0; i++)
                r = envv_set(&e, p->env_set[i].name, p->env_set[i].value);

        if (r >= 0 && id->home)
                r = envv_set(&e, "HOME", id->home);
        if (r >= 0 && id->user) {
                r = envv_set(&e, "USER", id->user);
                if (r >= 0)
                        r = envv_set(&e, "LOGNAME", id->user);
        }
        if (r >= 0 && !envv_has(&e, "PATH"))
                r = envv_set(&e, "PATH", "/usr/local/bin:/usr/bin:/bin");
        if (r >= 0 && id->proxy) {
                /* Last, so nothing above can point an SDK elsewhere. The keys are placeholders:
                 * SDKs refuse to start without one; the proxy injects the real key. */
                static const char *const vars[][2] = {
                        { "OPENAI_BASE_URL", ENV_PROXY_URL "/v1" },
                        { "OPENAI_API_BASE", ENV_PROXY_URL "/v1" },
                        { "ANTHROPIC_BASE_URL", ENV_PROXY_URL },
                        { "OPENAI_API_KEY", ENV_PLACEHOLDER_KEY },
                        { "ANTHROPIC_API_KEY", ENV_PLACEHOLDER_KEY },
                };
                for (size_t i = 0; i < ELEMENTSOF(vars) && r >= 0; i++)
                        r = envv_set(&e, vars[i][0], vars[i][1]);
        }
        if (r < 0) {
                env_free(e.v);
                return r;
        }
        *ret = e.v;
        return 0;
}
