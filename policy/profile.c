/* Agent profiles: load, validate (every rule in profile.h), expand $WORKSPACE/$HOME, hash.
 * Trust level: profile files are admin-written but parsed strictly as untrusted input; every
 * problem is reported as "FILE:LINE:COLUMN: message" and nothing half-valid is returned. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/fd-util.h"
#include "common/json-util.h"
#include "policy/json-check.h"
#include "policy/json-pos.h"
#include "policy/model.h"
#include "policy/profile.h"
#include "policy/provider-tools.h"
#include "policy/sha256.h"

#define PLACEHOLDER_WORKSPACE "/workspace"
#define PLACEHOLDER_HOME "/home/user"
#define DESCRIPTION_MAX 1024
#define ENV_NAME_MAX 128
#define ENV_VALUE_MAX 4096
#define MEMORY_MIN (16ull << 20)
#define MEMORY_MAX_LIMIT (1ull << 50) /* 1 PiB */
#define PROFILE_DIR_FILES_MAX 1024

static const char *const top_keys[] = { "qclaw_profile", "name", "description", "models",
                                        "provider_tools", "limits", "sandbox", NULL };
static const char *const limits_keys[] = { "requests_per_minute", "tokens_per_day",
                                           "max_concurrent_requests", "max_request_bytes", NULL };
static const char *const sandbox_keys[] = { "network", "publish", "filesystem", "seccomp",
                                            "resources", "env", NULL };
static const char *const fs_keys[] = { "read_only", "read_write", "tmpfs", "hide", NULL };
static const char *const seccomp_keys[] = { "deny", "allow", NULL };
static const char *const resources_keys[] = { "memory_max", "pids_max", "nofile", NULL };
static const char *const env_keys[] = { "pass", "set", NULL };

int parse_size(const char *s, uint64_t *ret)
{
        if (!s || !*s)
                return -EINVAL;
        char digits[32];
        size_t n = 0;
        while (s[n] >= '0' && s[n] <= '9') {
                if (n + 1 >= sizeof(digits))
                        return -ERANGE;
                digits[n] = s[n];
                n++;
        }
        if (n == 0)
                return -EINVAL;
        digits[n] = '\0';
        unsigned shift = 0;
        const char *suffix = s + n;
        if (*suffix) {
                switch (*suffix) {
                case 'k': case 'K': shift = 10; break;
                case 'm': case 'M': shift = 20; break;
                case 'g': case 'G': shift = 30; break;
                case 't': case 'T': shift = 40; break;
                case 'p': case 'P': shift = 50; break;
                default: return -EINVAL;
                }
                if (suffix[1])
                        return -EINVAL;
        }
        unsigned long long v;
        int r = parse_u64(digits, &v);
        if (r < 0)
                return r;
        if (shift && v > (UINT64_MAX >> shift))
                return -ERANGE;
        *ret = (uint64_t)v << shift;
        return 0;
}

/* A string list with a per-entry check that returns 0 or an error already reported. */
typedef int (*item_fn)(struct jctx *c, const char *path, const char *s, const void *userdata,
                       char **ret);

static int get_string_list(struct jctx *c, const json_t *obj, const char *path, const char *key,
                           item_fn fn, const void *userdata, struct strv *out)
{
        json_t *arr = NULL;
        int r = jctx_get_array(c, obj, path, key, PROFILE_LIST_MAX, &arr);
        if (r <= 0)
                return r;
        char p[JPATH_MAX], ip[JPATH_MAX];
        jpath_key(p, path, key);
        size_t i;
        json_t *v;
        json_array_foreach(arr, i, v) {
                jpath_idx(ip, p, i);
                if (!json_is_string(v))
                        return jctx_error(c, ip, false, "\"%s\": expected a string, got %s",
                                          jpath_leaf(ip), jctx_type_name(v));
                char *item = NULL;
                r = fn(c, ip, json_string_value(v), userdata, &item);
                if (r < 0)
                        return r;
                r = strv_push(out, item);
                if (r < 0)
                        return jctx_error(c, ip, false, "out of memory");
        }
        return 1;
}

static int item_glob(struct jctx *c, const char *path, const char *s, const void *userdata,
                     char **ret)
{
        if (!glob_valid(s)) {
                char q[96];
                jctx_quote(q, sizeof(q), s, 64);
                return jctx_error(c, path, false,
                                  "\"%s\": bad glob %s (printable ASCII, no spaces or [ ] \\, "
                                  "at most %d characters)",
                                  jpath_leaf(path), q, MODEL_ID_MAX);
        }
        *ret = strdup(s);
        return *ret ? 0 : jctx_error(c, path, false, "out of memory");
}

/* A provider-side tool name: the item is a copy of it, or an error listing the known ones. */
static int item_provider_tool(struct jctx *c, const char *path, const char *s,
                              const void *userdata, char **ret)
{
        if (provider_tool_from_name(s) < 0) {
                char q[96];
                jctx_quote(q, sizeof(q), s, 64);
                return jctx_error(c, path, false,
                                  "\"%s\": unknown provider tool %s (known: web_search, "
                                  "web_fetch, mcp)", jpath_leaf(path), q);
        }
        *ret = strdup(s);
        return *ret ? 0 : jctx_error(c, path, false, "out of memory");
}

static int parse_provider_tools(struct jctx *c, const json_t *root, struct profile *p)
{
        struct strv names = {};
        int r = get_string_list(c, root, "", "provider_tools", item_provider_tool, NULL, &names);
        for (size_t i = 0; r >= 0 && i < names.n; i++)
                p->provider_tools |= 1u << provider_tool_from_name(names.items[i]);
        strv_done(&names);
        return r;
}

static int expand_path(struct jctx *c, const char *path, const char *in,
                       const struct profile_vars *vars, char **ret)
{
        const char *leaf = jpath_leaf(path);
        char q[96];
        jctx_quote(q, sizeof(q), in, 64);
        const char *prefix = "", *rest = in;
        if (in[0] == '$') {
                const char *ws = vars && vars->workspace ? vars->workspace : PLACEHOLDER_WORKSPACE;
                const char *home = vars && vars->home ? vars->home : PLACEHOLDER_HOME;
                if (strncmp(in, "$WORKSPACE", 10) == 0 && (in[10] == '/' || in[10] == '\0')) {
                        prefix = ws;
                        rest = in + 10;
                } else if (strncmp(in, "$HOME", 5) == 0 && (in[5] == '/' || in[5] == '\0')) {
                        prefix = home;
                        rest = in + 5;
                } else {
                        return jctx_error(c, path, false,
                                          "\"%s\": unknown variable in %s (only $WORKSPACE or "
                                          "$HOME, as the first component)",
                                          leaf, q);
                }
        }
        for (const char *p = rest; *p; p++) {
                if (*p == '$')
                        return jctx_error(c, path, false,
                                          "\"%s\": '$' in %s: only a leading $WORKSPACE or $HOME "
                                          "is expanded",
                                          leaf, q);
                if ((unsigned char)*p < 0x20 || *p == 0x7f)
                        return jctx_error(c, path, false, "\"%s\": control character in %s", leaf,
                                          q);
        }
        for (const char *p = prefix; *p; p++)
                if ((unsigned char)*p < 0x20 || *p == 0x7f)
                        return jctx_error(c, path, false,
                                          "\"%s\": control character in the value of the variable",
                                          leaf);
        if (prefix[0] != '/' && !(prefix[0] == '\0' && rest[0] == '/'))
                return jctx_error(c, path, false, "\"%s\": %s is not an absolute path%s", leaf, q,
                                  in[0] == '$' ? " after expansion" : "");
        size_t total = strlen(prefix) + strlen(rest);
        if (total >= PATH_MAX)
                return jctx_error(c, path, false, "\"%s\": path too long (max %d)", leaf,
                                  PATH_MAX - 1);
        char joined[PATH_MAX], out[PATH_MAX];
        size_t plen = strlen(prefix);
        memcpy(joined, prefix, plen);
        memcpy(joined + plen, rest, strlen(rest) + 1);
        /* Normalise: collapse "//", drop ".", refuse "..", no trailing '/'. */
        size_t o = 0;
        const char *p = joined;
        while (*p) {
                while (*p == '/')
                        p++;
                if (!*p)
                        break;
                const char *e = strchr(p, '/');
                size_t n = e ? (size_t)(e - p) : strlen(p);
                if (n == 2 && p[0] == '.' && p[1] == '.')
                        return jctx_error(c, path, false,
                                          "\"%s\": \"..\" is not allowed in paths (%s)", leaf, q);
                if (!(n == 1 && p[0] == '.')) {
                        out[o++] = '/';
                        memcpy(out + o, p, n);
                        o += n;
                }
                p += n;
        }
        if (o == 0)
                out[o++] = '/';
        out[o] = '\0';
        *ret = strdup(out);
        return *ret ? 0 : jctx_error(c, path, false, "out of memory");
}

static int item_path(struct jctx *c, const char *path, const char *s, const void *userdata,
                     char **ret)
{
        return expand_path(c, path, s, userdata, ret);
}

static int item_syscall(struct jctx *c, const char *path, const char *s, const void *userdata,
                        char **ret)
{
        char q[96];
        jctx_quote(q, sizeof(q), s, 64);
        bool ok = *s && strlen(s) <= 64;
        for (const char *p = s; ok && *p; p++)
                ok = (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_';
        if (!ok || seccomp_syscall_resolve_name(s) == __NR_SCMP_ERROR)
                return jctx_error(c, path, false, "\"%s\": unknown system call %s",
                                  jpath_leaf(path), q);
        *ret = strdup(s);
        return *ret ? 0 : jctx_error(c, path, false, "out of memory");
}

static bool env_name_valid(const char *s, bool allow_star)
{
        size_t n = strlen(s);
        if (allow_star && n > 0 && s[n - 1] == '*')
                n--;
        if (n == 0 || n > ENV_NAME_MAX)
                return false;
        if (!((s[0] >= 'A' && s[0] <= 'Z') || (s[0] >= 'a' && s[0] <= 'z') || s[0] == '_'))
                return false;
        for (size_t i = 1; i < n; i++)
                if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z') ||
                      (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
                        return false;
        return true;
}

static int item_env_pass(struct jctx *c, const char *path, const char *s, const void *userdata,
                         char **ret)
{
        if (!env_name_valid(s, true)) {
                char q[96];
                jctx_quote(q, sizeof(q), s, 64);
                return jctx_error(c, path, false,
                                  "\"%s\": bad variable name %s ([A-Za-z_][A-Za-z0-9_]*, "
                                  "optionally ending in '*')",
                                  jpath_leaf(path), q);
        }
        *ret = strdup(s);
        return *ret ? 0 : jctx_error(c, path, false, "out of memory");
}

static int parse_limits(struct jctx *c, const json_t *root, struct profile *p)
{
        json_t *o = NULL;
        int r = jctx_get_object(c, root, "", "limits", false, &o);
        if (r <= 0)
                return r;
        r = jctx_check_keys(c, o, "limits", limits_keys);
        if (r < 0)
                return r;
        struct profile_limits *l = &p->limits;
        if ((r = jctx_get_uint(c, o, "limits", "requests_per_minute", 1000000, false,
                               &l->requests_per_minute)) < 0 ||
            (r = jctx_get_uint(c, o, "limits", "tokens_per_day", 1000000000000ull, false,
                               &l->tokens_per_day)) < 0 ||
            (r = jctx_get_uint(c, o, "limits", "max_concurrent_requests", 10000, false,
                               &l->max_concurrent_requests)) < 0)
                return r;
        r = jctx_get_uint(c, o, "limits", "max_request_bytes", 1ull << 30, false,
                          &l->max_request_bytes);
        if (r < 0)
                return r;
        if (r > 0 && l->max_request_bytes == 0)
                return jctx_error(c, "limits.max_request_bytes", false,
                                  "\"max_request_bytes\": must be at least 1");
        return 0;
}

static int parse_publish(struct jctx *c, const json_t *sb, struct profile *p)
{
        json_t *arr = NULL;
        int r = jctx_get_array(c, sb, "sandbox", "publish", PROFILE_LIST_MAX, &arr);
        if (r <= 0)
                return r;
        p->publish = calloc(json_array_size(arr) + 1, sizeof(uint16_t));
        if (!p->publish)
                return jctx_error(c, "sandbox.publish", false, "out of memory");
        size_t i;
        json_t *v;
        json_array_foreach(arr, i, v) {
                char ip[JPATH_MAX];
                jpath_idx(ip, "sandbox.publish", i);
                if (!json_is_integer(v))
                        return jctx_error(c, ip, false, "\"%s\": expected a port number, got %s",
                                          jpath_leaf(ip), jctx_type_name(v));
                json_int_t port = json_integer_value(v);
                if (port < 1 || port > 65535)
                        return jctx_error(c, ip, false, "\"%s\": port %" JSON_INTEGER_FORMAT
                                          " out of range (1-65535)", jpath_leaf(ip), port);
                if (port == 32125)
                        return jctx_error(c, ip, false,
                                          "\"%s\": port 32125 is the proxy's and cannot be "
                                          "published", jpath_leaf(ip));
                for (size_t k = 0; k < p->n_publish; k++)
                        if (p->publish[k] == port)
                                return jctx_error(c, ip, false,
                                                  "\"%s\": port %" JSON_INTEGER_FORMAT
                                                  " listed twice", jpath_leaf(ip), port);
                p->publish[p->n_publish++] = (uint16_t)port;
        }
        return 0;
}

static int parse_memory(struct jctx *c, const json_t *res, struct profile *p)
{
        const char *path = "sandbox.resources.memory_max";
        json_t *v = json_object_get(res, "memory_max");
        if (!v)
                return 0;
        uint64_t bytes;
        if (json_is_string(v)) {
                char q[96];
                jctx_quote(q, sizeof(q), json_string_value(v), 64);
                int r = parse_size(json_string_value(v), &bytes);
                if (r == -ERANGE)
                        return jctx_error(c, path, false, "\"memory_max\": size %s out of range",
                                          q);
                if (r < 0)
                        return jctx_error(c, path, false,
                                          "\"memory_max\": bad size %s (use a number or 512K, 4G, "
                                          "...)", q);
        } else if (json_is_integer(v)) {
                if (json_integer_value(v) < 0)
                        return jctx_error(c, path, false, "\"memory_max\": must not be negative");
                bytes = (uint64_t)json_integer_value(v);
        } else {
                return jctx_error(c, path, false,
                                  "\"memory_max\": expected a size string or an integer, got %s",
                                  jctx_type_name(v));
        }
        if (bytes < MEMORY_MIN)
                return jctx_error(c, path, false, "\"memory_max\": too small (minimum 16M)");
        if (bytes > MEMORY_MAX_LIMIT)
                return jctx_error(c, path, false, "\"memory_max\": too large (maximum 1P)");
        p->memory_max = bytes;
        return 0;
}

static int parse_resources(struct jctx *c, const json_t *sb, struct profile *p)
{
        json_t *o = NULL;
        const char *path = "sandbox.resources";
        int r = jctx_get_object(c, sb, "sandbox", "resources", false, &o);
        if (r <= 0)
                return r;
        if ((r = jctx_check_keys(c, o, path, resources_keys)) < 0 ||
            (r = parse_memory(c, o, p)) < 0)
                return r;
        r = jctx_get_uint(c, o, path, "pids_max", 4194304, false, &p->pids_max);
        if (r < 0)
                return r;
        if (r > 0 && p->pids_max < 8)
                return jctx_error(c, "sandbox.resources.pids_max", false,
                                  "\"pids_max\": must be at least 8");
        r = jctx_get_uint(c, o, path, "nofile", 1048576, false, &p->nofile);
        if (r < 0)
                return r;
        if (r > 0 && p->nofile < 16)
                return jctx_error(c, "sandbox.resources.nofile", false,
                                  "\"nofile\": must be at least 16");
        return 0;
}

static int parse_env(struct jctx *c, const json_t *sb, struct profile *p)
{
        json_t *o = NULL, *set = NULL;
        const char *path = "sandbox.env";
        int r = jctx_get_object(c, sb, "sandbox", "env", false, &o);
        if (r <= 0)
                return r;
        if ((r = jctx_check_keys(c, o, path, env_keys)) < 0 ||
            (r = get_string_list(c, o, path, "pass", item_env_pass, NULL, &p->env_pass)) < 0 ||
            (r = jctx_get_object(c, o, path, "set", false, &set)) <= 0)
                return r;
        if (json_object_size(set) > PROFILE_LIST_MAX)
                return jctx_error(c, "sandbox.env.set", false,
                                  "\"set\": too many entries (%zu, max %d)", json_object_size(set),
                                  PROFILE_LIST_MAX);
        p->env_set = calloc(json_object_size(set) + 1, sizeof(*p->env_set));
        if (!p->env_set)
                return jctx_error(c, "sandbox.env.set", false, "out of memory");
        const char *k;
        json_t *v;
        json_object_foreach(set, k, v) {
                char kp[JPATH_MAX], q[96];
                jpath_key(kp, "sandbox.env.set", k);
                jctx_quote(q, sizeof(q), k, 64);
                if (!env_name_valid(k, false))
                        return jctx_error(c, kp, true,
                                          "bad variable name %s in \"set\" ([A-Za-z_][A-Za-z0-9_]*)",
                                          q);
                if (!json_is_string(v))
                        return jctx_error(c, kp, false, "%s: expected a string, got %s", q,
                                          jctx_type_name(v));
                if (json_string_length(v) > ENV_VALUE_MAX)
                        return jctx_error(c, kp, false, "%s: value too long (max %d bytes)", q,
                                          ENV_VALUE_MAX);
                struct profile_env_set *e = &p->env_set[p->n_env_set];
                e->name = strdup(k);
                e->value = strdup(json_string_value(v));
                p->n_env_set++;
                if (!e->name || !e->value)
                        return jctx_error(c, kp, false, "out of memory");
        }
        return 0;
}

static int parse_sandbox(struct jctx *c, const json_t *root, const struct profile_vars *vars,
                         struct profile *p)
{
        json_t *sb = NULL, *fs = NULL, *sc = NULL;
        int r = jctx_get_object(c, root, "", "sandbox", false, &sb);
        if (r <= 0)
                return r;
        if ((r = jctx_check_keys(c, sb, "sandbox", sandbox_keys)) < 0)
                return r;
        const char *net = NULL;
        r = jctx_get_string(c, sb, "sandbox", "network", false, &net);
        if (r < 0)
                return r;
        if (net && strcmp(net, "proxy") == 0)
                p->network = PROFILE_NETWORK_PROXY;
        else if (net && strcmp(net, "none") == 0)
                p->network = PROFILE_NETWORK_NONE;
        else if (net) {
                char q[96];
                jctx_quote(q, sizeof(q), net, 64);
                return jctx_error(c, "sandbox.network", false,
                                  "\"network\": %s is not \"proxy\" or \"none\"", q);
        }
        if ((r = parse_publish(c, sb, p)) < 0)
                return r;
        if ((r = jctx_get_object(c, sb, "sandbox", "filesystem", false, &fs)) < 0)
                return r;
        if (fs) {
                const char *fp = "sandbox.filesystem";
                if ((r = jctx_check_keys(c, fs, fp, fs_keys)) < 0 ||
                    (r = get_string_list(c, fs, fp, "read_only", item_path, vars,
                                         &p->fs_read_only)) < 0 ||
                    (r = get_string_list(c, fs, fp, "read_write", item_path, vars,
                                         &p->fs_read_write)) < 0 ||
                    (r = get_string_list(c, fs, fp, "tmpfs", item_path, vars, &p->fs_tmpfs)) < 0 ||
                    (r = get_string_list(c, fs, fp, "hide", item_path, vars, &p->fs_hide)) < 0)
                        return r;
        }
        if ((r = jctx_get_object(c, sb, "sandbox", "seccomp", false, &sc)) < 0)
                return r;
        if (sc) {
                const char *sp = "sandbox.seccomp";
                if ((r = jctx_check_keys(c, sc, sp, seccomp_keys)) < 0 ||
                    (r = get_string_list(c, sc, sp, "deny", item_syscall, NULL,
                                         &p->seccomp_deny)) < 0 ||
                    (r = get_string_list(c, sc, sp, "allow", item_syscall, NULL,
                                         &p->seccomp_allow)) < 0)
                        return r;
                for (size_t i = 0; i < p->seccomp_allow.n; i++)
                        if (strv_contains(&p->seccomp_deny, p->seccomp_allow.items[i])) {
                                char ip[JPATH_MAX];
                                jpath_idx(ip, "sandbox.seccomp.allow", i);
                                return jctx_error(c, ip, false,
                                                  "\"%s\": \"%s\" is both denied and allowed",
                                                  jpath_leaf(ip), p->seccomp_allow.items[i]);
                        }
        }
        if ((r = parse_resources(c, sb, p)) < 0 || (r = parse_env(c, sb, p)) < 0)
                return r;
        return 0;
}

static int profile_from_json(struct jctx *c, const json_t *root, const struct profile_vars *vars,
                             struct profile *p)
{
        int r;
        const char *name = NULL, *desc = "";
        if ((r = jctx_check_keys(c, root, "", top_keys)) < 0 ||
            (r = jctx_check_version(c, root, "qclaw_profile")) < 0 ||
            (r = jctx_get_string(c, root, "", "name", true, &name)) < 0)
                return r;
        if (!jctx_name_valid(name, PROFILE_NAME_MAX)) {
                char q[96];
                jctx_quote(q, sizeof(q), name, 80);
                return jctx_error(c, "name", false,
                                  "\"name\": bad profile name %s ([a-z0-9][a-z0-9_-]{0,63})", q);
        }
        if ((r = jctx_get_string(c, root, "", "description", false, &desc)) < 0)
                return r;
        if (strlen(desc) > DESCRIPTION_MAX)
                return jctx_error(c, "description", false,
                                  "\"description\": too long (max %d bytes)", DESCRIPTION_MAX);
        p->name = strdup(name);
        p->description = strdup(desc);
        if (!p->name || !p->description)
                return jctx_error(c, "", false, "out of memory");
        p->limits.max_request_bytes = 8u << 20;
        p->network = PROFILE_NETWORK_PROXY;
        if ((r = get_string_list(c, root, "", "models", item_glob, NULL, &p->models)) < 0 ||
            (r = parse_provider_tools(c, root, p)) < 0 || (r = parse_limits(c, root, p)) < 0 ||
            (r = parse_sandbox(c, root, vars, p)) < 0)
                return r;
        return 0;
}

int profile_load_string(const char *label, const char *text, size_t len,
                        const struct profile_vars *vars, struct profile **ret,
                        char err[POLICY_ERR_MAX])
{
        json_t *root = NULL;
        struct jpos *pos = NULL;
        err[0] = '\0';
        int r = jctx_parse(label, text, len, PROFILE_FILE_MAX, &root, &pos, err);
        if (r < 0)
                return r;
        _cleanup_json_ json_t *root_owned = root;
        struct jctx c = { .label = label, .pos = pos, .err = err };
        struct profile *p = calloc(1, sizeof(*p));
        if (!p) {
                jpos_free(pos);
                snprintf(err, POLICY_ERR_MAX, "%s: out of memory", label);
                return -ENOMEM;
        }
        p->path = strdup(label);
        r = p->path ? profile_from_json(&c, root, vars, p) : -ENOMEM;
        r = jctx_load_end(&c, pos, r, text, len, p->hash);
        if (r < 0) {
                profile_free(p);
                return r;
        }
        *ret = p;
        return 0;
}

int profile_load(const char *path, const struct profile_vars *vars, struct profile **ret,
                 char err[POLICY_ERR_MAX])
{
        _cleanup_free_ char *text = NULL;
        size_t len = 0;
        int r = jctx_read_file(path, PROFILE_FILE_MAX, &text, &len, err);
        if (r < 0)
                return r;
        return profile_load_string(path, text, len, vars, ret, err);
}

struct profile *profile_free(struct profile *p)
{
        if (!p)
                return NULL;
        free(p->path);
        free(p->name);
        free(p->description);
        strv_done(&p->models);
        free(p->publish);
        strv_done(&p->fs_read_only);
        strv_done(&p->fs_read_write);
        strv_done(&p->fs_tmpfs);
        strv_done(&p->fs_hide);
        strv_done(&p->seccomp_deny);
        strv_done(&p->seccomp_allow);
        strv_done(&p->env_pass);
        for (size_t i = 0; i < p->n_env_set; i++) {
                free(p->env_set[i].name);
                free(p->env_set[i].value);
        }
        free(p->env_set);
        free(p);
        return NULL;
}

static bool ends_with(const char *s, const char *suffix)
{
        size_t n = strlen(s), m = strlen(suffix);
        return n >= m && strcmp(s + n - m, suffix) == 0;
}

int profile_resolve_path(const char *dir, const char *name_or_path, char **ret_path)
{
        if (!name_or_path || !*name_or_path)
                return -EINVAL;
        if (strchr(name_or_path, '/') || ends_with(name_or_path, ".json")) {
                char *s = strdup(name_or_path);
                if (!s)
                        return -ENOMEM;
                *ret_path = s;
                return 0;
        }
        if (!jctx_name_valid(name_or_path, PROFILE_NAME_MAX) || !dir || !*dir)
                return -EINVAL;
        char *s = NULL;
        if (asprintf(&s, "%s/%s.json", dir, name_or_path) < 0)
                return -ENOMEM;
        *ret_path = s;
        return 0;
}

static int cmp_str(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

int profile_set_load_dir(const char *dir, struct profile_set **ret, char err[POLICY_ERR_MAX])
{
        struct strv names = {};
        DIR *d = opendir(dir);
        if (!d) {
                int r = NEG_ERRNO();
                snprintf(err, POLICY_ERR_MAX, "%s: %s", dir, strerror(-r));
                return r;
        }
        struct dirent *de;
        int r = 0;
        while ((de = readdir(d))) {
                if (de->d_name[0] == '.' || !ends_with(de->d_name, ".json"))
                        continue;
                if (names.n >= PROFILE_DIR_FILES_MAX) {
                        snprintf(err, POLICY_ERR_MAX, "%s: too many profiles (max %d)", dir,
                                 PROFILE_DIR_FILES_MAX);
                        r = -E2BIG;
                        break;
                }
                char *n = strdup(de->d_name);
                if (!n || strv_push(&names, n) < 0) {
                        snprintf(err, POLICY_ERR_MAX, "%s: out of memory", dir);
                        r = -ENOMEM;
                        break;
                }
        }
        closedir(d);
        struct profile_set *set = calloc(1, sizeof(*set));
        if (r >= 0 && (!set || !(set->items = calloc(names.n + 1, sizeof(*set->items))))) {
                snprintf(err, POLICY_ERR_MAX, "%s: out of memory", dir);
                r = -ENOMEM;
        }
        if (r < 0)
                goto fail;
        if (names.n)
                qsort(names.items, names.n, sizeof(char *), cmp_str);
        struct sha256_ctx *h = NULL;
        if ((r = sha256_begin(&h)) < 0) {
                snprintf(err, POLICY_ERR_MAX, "%s: cannot hash", dir);
                goto fail;
        }
        for (size_t i = 0; i < names.n; i++) {
                _cleanup_free_ char *path = NULL;
                if (asprintf(&path, "%s/%s", dir, names.items[i]) < 0) {
                        r = -ENOMEM;
                        snprintf(err, POLICY_ERR_MAX, "%s: out of memory", dir);
                        break;
                }
                struct profile *p = NULL;
                r = profile_load(path, NULL, &p, err);
                if (r < 0)
                        break;
                set->items[set->n++] = p;
                size_t stem = strlen(names.items[i]) - strlen(".json");
                if (strlen(p->name) != stem || strncmp(p->name, names.items[i], stem) != 0) {
                        snprintf(err, POLICY_ERR_MAX,
                                 "%s: profile name \"%s\" does not match the file name", path,
                                 p->name);
                        r = -EINVAL;
                        break;
                }
                sha256_update(h, p->name, strlen(p->name) + 1);
                sha256_update(h, p->hash, strlen(p->hash));
                sha256_update(h, "\n", 1);
        }
        if (sha256_end(h, set->hash) < 0 && r >= 0) {
                snprintf(err, POLICY_ERR_MAX, "%s: cannot hash", dir);
                r = -EIO;
        }
        if (r < 0)
                goto fail;
        strv_done(&names);
        *ret = set;
        return 0;
fail:
        strv_done(&names);
        profile_set_free(set);
        return r;
}

const struct profile *profile_set_find(const struct profile_set *set, const char *name)
{
        if (!set || !name)
                return NULL;
        for (size_t i = 0; i < set->n; i++)
                if (strcmp(set->items[i]->name, name) == 0)
                        return set->items[i];
        return NULL;
}

struct profile_set *profile_set_free(struct profile_set *set)
{
        if (!set)
                return NULL;
        for (size_t i = 0; i < set->n; i++)
                profile_free(set->items[i]);
        free(set->items);
        free(set);
        return NULL;
}
