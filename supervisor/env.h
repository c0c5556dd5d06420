/* The sandboxed environment, rebuilt from the profile's allowlist (never inherited).
 * Trust level: supervisor; the input environment is the caller's and may hold secrets. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

struct profile;

#define ENV_MAX_VARS 512
#define ENV_PROXY_URL "http://127.0.0.1:32125"
#define ENV_PLACEHOLDER_KEY "qclaw-placeholder"

struct env_identity {
        const char *home;
        const char *user;
        bool proxy; /* network "proxy": add the SDK base URLs and placeholder keys */
};

/* true if NAME looks like it holds a secret (*KEY*, *TOKEN*, *SECRET*, *PASSWORD*, *PASSWD*,
 * *CREDENTIAL*, *_SOCK, SSH_AUTH_SOCK; case-insensitive). */
bool env_name_is_secret(const char *name);

/* true if NAME is allowed through by the pass list: exact entries always, prefix globs
 * ("LC_*", "*") only for names that do not look secret. */
bool env_name_passes(const char *const *pass, size_t n_pass, const char *name);

/* Build the environment: pass-through (from `in`), then the profile's env.set, then HOME, USER,
 * LOGNAME, a default PATH if none, and the proxy variables. *ret is a NULL-terminated array of
 * malloc'ed "NAME=value" strings (free with env_free). 0 or -errno. */
int env_build(const struct profile *p, char *const *in, const struct env_identity *id,
              char ***ret);
char **env_free(char **env);
