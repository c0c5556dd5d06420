/* Proxy configuration: load, validate, ${VAR} expansion, client token files.
 * Trust level: runs in the proxy (holds secrets). The file is admin-written but parsed strictly;
 * API keys and client tokens never appear in an error message, only the names that need them. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <openssl/crypto.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "common/fd-util.h"
#include "common/json-util.h"
#include "common/strbuf.h"
#include "policy/config.h"
#include "policy/json-check.h"
#include "policy/json-pos.h"
#include "policy/model.h"
#include "policy/sha256.h"

#define EXPANDED_MAX 8192
#define LISTEN_MAX 16
#define CONTROL_IDS_MAX 64
#define CLIENTS_MAX 1024
#define PROVIDERS_MAX 64
#define PROVIDER_NAME_MAX 32
#define TOKEN_FILE_MAX 4096
#define TOKEN_MIN 16
#define URL_MAX 2048

static const char *const top_keys[] = {
        "qclaw_proxy", "listen", "control_socket", "control_users", "control_groups",
        "audit_log", "audit_rotate_bytes", "audit_keep_files", "audit_fsync", "profiles_dir",
        "clients", "providers", NULL
};
static const char *const provider_keys[] = { "type", "base_url", "api_key", "models",
                                             "default_max_tokens", "timeout_ms", NULL };
static const char *const client_keys[] = { "name", "token_file", "profile", NULL };

struct cctx {
        struct jctx j;
        config_getenv_t getenv_fn;
        void *userdata;
};

static const char *lookup_env(struct cctx *c, const char *name)
{
        if (c->getenv_fn)
                return c->getenv_fn(name, c->userdata);
        return getenv(name);
}

static bool ident_char(char ch, bool first)
{
        return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || ch == '_' ||
               (!first && ch >= '0' && ch <= '9');
}

/* Expand ${VAR} and $$ in the string at path. *ret_last_var names the last variable used (for
 * "is empty" messages); it points into a static-size buffer owned by the caller. */
static int expand(struct cctx *c, const char *path, const char *in, char **ret,
                  char last_var[128])
{
        struct strbuf b = STRBUF_INIT(EXPANDED_MAX);
        const char *leaf = jpath_leaf(path);
        if (last_var)
                last_var[0] = '\0';
        int r = strbuf_append(&b, "", 0);
        for (const char *p = in; r >= 0 && *p;) {
                if (p[0] != '$') {
                        const char *d = strchr(p, '$');
                        size_t n = d ? (size_t)(d - p) : strlen(p);
                        r = strbuf_append(&b, p, n);
                        p += n;
                        continue;
                }
                if (p[1] == '$') {
                        r = strbuf_append(&b, "$", 1);
                        p += 2;
                        continue;
                }
                const char *name = p + 2, *e = name;
                if (p[1] == '{')
                        while (ident_char(*e, e == name) && e - name < 127)
                                e++;
                if (p[1] != '{' || e == name || *e != '}') {
                        strbuf_free(&b);
                        return jctx_error(&c->j, path, false,
                                          "\"%s\": bad '$' (use ${VAR}, or $$ for a dollar sign)",
                                          leaf);
                }
                char var[128];
                memcpy(var, name, (size_t)(e - name));
                var[e - name] = '\0';
                const char *val = lookup_env(c, var);
                if (!val) {
                        strbuf_free(&b);
                        return jctx_error(&c->j, path, false,
                                          "environment variable %s is not set (needed by \"%s\")",
                                          var, path);
                }
                if (last_var)
                        memcpy(last_var, var, (size_t)(e - name) + 1);
                r = strbuf_appends(&b, val);
                p = e + 1;
        }
        if (r < 0) {
                strbuf_free(&b);
                return jctx_error(&c->j, path, false, "\"%s\": too long after expansion (max %d)",
                                  leaf, EXPANDED_MAX);
        }
        if (!b.data && strbuf_append(&b, "", 0) < 0)
                return jctx_error(&c->j, path, false, "out of memory");
        *ret = b.data;
        return 0;
}

static bool has_ctl_or_space(const char *s)
{
        for (; *s; s++)
                if ((unsigned char)*s <= 0x20 || *s == 0x7f)
                        return true;
        return false;
}

/* Optional string, expanded. 0 absent, 1 present (*ret owned). */
static int get_expanded(struct cctx *c, const json_t *obj, const char *path, const char *key,
                        bool required, char **ret)
{
        const char *s = NULL;
        int r = jctx_get_string(&c->j, obj, path, key, required, &s);
        if (r <= 0)
                return r;
        char p[JPATH_MAX];
        jpath_key(p, path, key);
        r = expand(c, p, s, ret, NULL);
        return r < 0 ? r : 1;
}

static int get_abs_path(struct cctx *c, const json_t *obj, const char *key, size_t max,
                        char **ret)
{
        char *s = NULL;
        int r = get_expanded(c, obj, "", key, false, &s);
        if (r <= 0)
                return r;
        if (s[0] != '/' || strlen(s) >= max) {
                bool abs = s[0] == '/';
                free(s);
                return jctx_error(&c->j, key, false, "\"%s\": must be an absolute path%s", key,
                                  abs ? " (too long)" : "");
        }
        for (const char *p = s; *p; p++)
                if ((unsigned char)*p < 0x20 || *p == 0x7f) {
                        free(s);
                        return jctx_error(&c->j, key, false, "\"%s\": control character in path",
                                          key);
                }
        free(*ret);
        *ret = s;
        return 1;
}

static int get_size(struct cctx *c, const json_t *obj, const char *key, uint64_t *ret)
{
        json_t *v = json_object_get(obj, key);
        if (!v)
                return 0;
        if (json_is_integer(v)) {
                if (json_integer_value(v) < 0)
                        return jctx_error(&c->j, key, false, "\"%s\": must not be negative", key);
                *ret = (uint64_t)json_integer_value(v);
                return 1;
        }
        if (!json_is_string(v))
                return jctx_error(&c->j, key, false,
                                  "\"%s\": expected a size string or an integer, got %s", key,
                                  jctx_type_name(v));
        char q[96];
        jctx_quote(q, sizeof(q), json_string_value(v), 64);
        int r = parse_size(json_string_value(v), ret);
        if (r < 0)
                return jctx_error(&c->j, key, false, "\"%s\": bad size %s%s", key, q,
                                  r == -ERANGE ? " (out of range)"
                                               : " (use a number or 512K, 4G, ...)");
        return 1;
}

static bool listen_valid(const char *s)
{
        char host[64];
        const char *port;
        if (s[0] == '[') {
                const char *e = strchr(s, ']');
                if (!e || e[1] != ':' || (size_t)(e - s - 1) >= sizeof(host))
                        return false;
                memcpy(host, s + 1, (size_t)(e - s - 1));
                host[e - s - 1] = '\0';
                struct in6_addr a6;
                if (inet_pton(AF_INET6, host, &a6) != 1)
                        return false;
                port = e + 2;
        } else {
                const char *e = strrchr(s, ':');
                if (!e || (size_t)(e - s) >= sizeof(host))
                        return false;
                memcpy(host, s, (size_t)(e - s));
                host[e - s] = '\0';
                struct in_addr a4;
                if (inet_pton(AF_INET, host, &a4) != 1)
                        return false;
                port = e + 1;
        }
        unsigned long long v;
        if (strlen(port) > 5 || parse_u64(port, &v) < 0 || v < 1 || v > 65535)
                return false;
        return true;
}

static int parse_listen(struct cctx *c, const json_t *root, struct proxy_config *cfg)
{
        json_t *arr = NULL;
        int r = jctx_get_array(&c->j, root, "", "listen", LISTEN_MAX, &arr);
        if (r <= 0)
                return r;
        size_t i;
        json_t *v;
        json_array_foreach(arr, i, v) {
                char ip[JPATH_MAX];
                jpath_idx(ip, "listen", i);
                if (!json_is_string(v))
                        return jctx_error(&c->j, ip, false, "\"%s\": expected a string, got %s",
                                          ip, jctx_type_name(v));
                char *s = NULL;
                if ((r = expand(c, ip, json_string_value(v), &s, NULL)) < 0)
                        return r;
                if (!listen_valid(s)) {
                        free(s);
                        return jctx_error(&c->j, ip, false,
                                          "\"%s\": expected \"A.B.C.D:PORT\" or \"[IPv6]:PORT\" "
                                          "(port 1-65535)", ip);
                }
                if (strv_contains(&cfg->listen, s)) {
                        free(s);
                        return jctx_error(&c->j, ip, false, "\"%s\": listed twice", ip);
                }
                if (strv_push(&cfg->listen, s) < 0)
                        return jctx_error(&c->j, ip, false, "out of memory");
        }
        return 0;
}

/* control_users / control_groups: names (resolved now) or numeric ids. */
static int parse_ids(struct cctx *c, const json_t *root, const char *key, bool groups,
                     uint32_t **ret, size_t *ret_n)
{
        json_t *arr = NULL;
        int r = jctx_get_array(&c->j, root, "", key, CONTROL_IDS_MAX, &arr);
        if (r <= 0)
                return r;
        uint32_t *ids = calloc(json_array_size(arr) + 1, sizeof(uint32_t));
        if (!ids)
                return jctx_error(&c->j, key, false, "out of memory");
        size_t i, n = 0;
        json_t *v;
        json_array_foreach(arr, i, v) {
                char ip[JPATH_MAX];
                jpath_idx(ip, key, i);
                unsigned long long id = 0;
                if (json_is_integer(v)) {
                        if (json_integer_value(v) < 0 || json_integer_value(v) >= UINT32_MAX)
                                r = jctx_error(&c->j, ip, false, "\"%s\": bad id", ip);
                        id = (unsigned long long)json_integer_value(v);
                } else if (json_is_string(v)) {
                        _cleanup_free_ char *s = NULL;
                        r = expand(c, ip, json_string_value(v), &s, NULL);
                        if (r >= 0 && parse_u64(s, &id) == 0) {
                                if (id >= UINT32_MAX)
                                        r = jctx_error(&c->j, ip, false, "\"%s\": bad id", ip);
                        } else if (r >= 0) {
                                char q[96], buf[4096];
                                /* the name as written: an expanded ${VAR} may be a secret */
                                jctx_quote(q, sizeof(q), json_string_value(v), 64);
                                if (groups) {
                                        struct group gr, *res = NULL;
                                        if (getgrnam_r(s, &gr, buf, sizeof(buf), &res) != 0 || !res)
                                                r = jctx_error(&c->j, ip, false,
                                                               "\"%s\": unknown group %s", ip, q);
                                        else
                                                id = res->gr_gid;
                                } else {
                                        struct passwd pw, *res = NULL;
                                        if (getpwnam_r(s, &pw, buf, sizeof(buf), &res) != 0 || !res)
                                                r = jctx_error(&c->j, ip, false,
                                                               "\"%s\": unknown user %s", ip, q);
                                        else
                                                id = res->pw_uid;
                                }
                        }
                } else {
                        r = jctx_error(&c->j, ip, false,
                                       "\"%s\": expected a name or a numeric id, got %s", ip,
                                       jctx_type_name(v));
                }
                if (r < 0) {
                        free(ids);
                        return r;
                }
                ids[n++] = (uint32_t)id;
        }
        *ret = ids;
        *ret_n = n;
        return 0;
}

static int read_token(struct cctx *c, const char *path, const char *file, char **ret)
{
        _cleanup_close_ int fd = open(file, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return jctx_error(&c->j, path, false, "cannot open token file %s: %s", file,
                                  strerror(errno));
        struct stat st;
        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
                return jctx_error(&c->j, path, false, "token file %s is not a regular file",
                                  file);
        if (st.st_mode & (S_IROTH | S_IWOTH))
                return jctx_error(&c->j, path, false,
                                  "token file %s is accessible by everyone (chmod o-rw)", file);
        char *buf = NULL;
        size_t len = 0;
        int r = fd_read_bounded(fd, TOKEN_FILE_MAX, &buf, &len);
        if (r < 0)
                return jctx_error(&c->j, path, false, "cannot read token file %s: %s", file,
                                  r == -EFBIG ? "larger than 4 KiB" : strerror(-r));
        while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
                buf[--len] = '\0';
        const char *why = NULL;
        if (strlen(buf) != len || has_ctl_or_space(buf))
                why = "contains whitespace or control characters";
        else if (len < TOKEN_MIN)
                why = "is shorter than 16 characters";
        if (why) {
                explicit_bzero(buf, len);
                free(buf);
                return jctx_error(&c->j, path, false, "token in %s %s", file, why);
        }
        *ret = buf;
        return 0;
}

static int parse_clients(struct cctx *c, const json_t *root, struct proxy_config *cfg)
{
        json_t *arr = NULL;
        int r = jctx_get_array(&c->j, root, "", "clients", CLIENTS_MAX, &arr);
        if (r <= 0)
                return r;
        cfg->clients = calloc(json_array_size(arr) + 1, sizeof(*cfg->clients));
        if (!cfg->clients)
                return jctx_error(&c->j, "clients", false, "out of memory");
        size_t i;
        json_t *v;
        json_array_foreach(arr, i, v) {
                char ip[JPATH_MAX], tp[JPATH_MAX];
                jpath_idx(ip, "clients", i);
                if (!json_is_object(v))
                        return jctx_error(&c->j, ip, false, "\"%s\": expected an object, got %s",
                                          ip, jctx_type_name(v));
                if ((r = jctx_check_keys(&c->j, v, ip, client_keys)) < 0)
                        return r;
                const char *name = NULL, *profile = NULL;
                _cleanup_free_ char *file = NULL;
                if ((r = jctx_get_string(&c->j, v, ip, "name", true, &name)) < 0 ||
                    (r = jctx_get_string(&c->j, v, ip, "profile", true, &profile)) < 0 ||
                    (r = get_expanded(c, v, ip, "token_file", true, &file)) < 0)
                        return r;
                char q[96];
                if (!jctx_name_valid(name, PROFILE_NAME_MAX)) {
                        jpath_key(tp, ip, "name");
                        jctx_quote(q, sizeof(q), name, 64);
                        return jctx_error(&c->j, tp, false,
                                          "\"name\": bad client name %s ([a-z0-9][a-z0-9_-]*)", q);
                }
                for (size_t k = 0; k < cfg->n_clients; k++)
                        if (strcmp(cfg->clients[k].name, name) == 0) {
                                jpath_key(tp, ip, "name");
                                return jctx_error(&c->j, tp, false,
                                                  "\"name\": client \"%s\" defined twice", name);
                        }
                if (!jctx_name_valid(profile, PROFILE_NAME_MAX)) {
                        jpath_key(tp, ip, "profile");
                        jctx_quote(q, sizeof(q), profile, 64);
                        return jctx_error(&c->j, tp, false, "\"profile\": bad profile name %s", q);
                }
                jpath_key(tp, ip, "token_file");
                if (file[0] != '/')
                        return jctx_error(&c->j, tp, false,
                                          "\"token_file\": must be an absolute path");
                struct client *cl = &cfg->clients[cfg->n_clients];
                if ((r = read_token(c, tp, file, &cl->token)) < 0)
                        return r;
                cfg->n_clients++;
                cl->name = strdup(name);
                cl->profile = strdup(profile);
                if (!cl->name || !cl->profile ||
                    sha256_digest(cl->token, strlen(cl->token), cl->token_sha256) < 0)
                        return jctx_error(&c->j, ip, false, "out of memory");
                for (size_t k = 0; k + 1 < cfg->n_clients; k++)
                        if (CRYPTO_memcmp(cfg->clients[k].token_sha256, cl->token_sha256, 32) == 0)
                                return jctx_error(&c->j, tp, false,
                                                  "client \"%s\" has the same token as client "
                                                  "\"%s\"", name, cfg->clients[k].name);
        }
        return 0;
}

static int parse_provider(struct cctx *c, const char *name, const json_t *o, struct provider *pr)
{
        char pp[JPATH_MAX], kp[JPATH_MAX], q[96];
        jpath_key(pp, "providers", name);
        jctx_quote(q, sizeof(q), name, 64);
        if (!jctx_name_valid(name, PROVIDER_NAME_MAX))
                return jctx_error(&c->j, pp, true,
                                  "bad provider name %s ([a-z0-9][a-z0-9_-]{0,31})", q);
        if (!json_is_object(o))
                return jctx_error(&c->j, pp, false, "provider %s: expected an object, got %s", q,
                                  jctx_type_name(o));
        int r = jctx_check_keys(&c->j, o, pp, provider_keys);
        if (r < 0)
                return r;
        pr->name = strdup(name);
        if (!pr->name)
                return jctx_error(&c->j, pp, false, "out of memory");
        const char *type = NULL;
        if ((r = jctx_get_string(&c->j, o, pp, "type", true, &type)) < 0)
                return r;
        if (strcmp(type, "openai") == 0)
                pr->type = PROVIDER_OPENAI;
        else if (strcmp(type, "anthropic") == 0)
                pr->type = PROVIDER_ANTHROPIC;
        else {
                jpath_key(kp, pp, "type");
                jctx_quote(q, sizeof(q), type, 64);
                return jctx_error(&c->j, kp, false,
                                  "\"type\": %s is not \"openai\" or \"anthropic\"", q);
        }
        if ((r = get_expanded(c, o, pp, "base_url", true, &pr->base_url)) < 0)
                return r;
        jpath_key(kp, pp, "base_url");
        size_t ul = strlen(pr->base_url);
        while (ul > 0 && pr->base_url[ul - 1] == '/')
                pr->base_url[--ul] = '\0';
        size_t scheme = strncmp(pr->base_url, "https://", 8) == 0  ? 8
                        : strncmp(pr->base_url, "http://", 7) == 0 ? 7
                                                                    : 0;
        if (!scheme || ul <= scheme || ul > URL_MAX || has_ctl_or_space(pr->base_url))
                return jctx_error(&c->j, kp, false,
                                  "\"base_url\": must be an http:// or https:// URL with a host, "
                                  "no spaces");
        const char *raw = NULL;
        if ((r = jctx_get_string(&c->j, o, pp, "api_key", false, &raw)) < 0)
                return r;
        if (raw) {
                char var[128];
                jpath_key(kp, pp, "api_key");
                if ((r = expand(c, kp, raw, &pr->api_key, var)) < 0)
                        return r;
                if (!pr->api_key[0] && var[0])
                        return jctx_error(&c->j, kp, false,
                                          "environment variable %s is empty (needed by \"%s\")",
                                          var, kp);
                if (!pr->api_key[0])
                        return jctx_error(&c->j, kp, false, "\"api_key\": must not be empty");
                if (has_ctl_or_space(pr->api_key))
                        return jctx_error(&c->j, kp, false,
                                          "\"api_key\" of provider %s contains whitespace or "
                                          "control characters", pr->name);
        }
        json_t *models = NULL;
        if ((r = jctx_get_array(&c->j, o, pp, "models", PROFILE_LIST_MAX, &models)) < 0)
                return r;
        if (!models) {
                return jctx_error(&c->j, pp, true, "provider \"%s\": missing key \"models\"",
                                  pr->name);
        }
        size_t i;
        json_t *m;
        jpath_key(kp, pp, "models");
        json_array_foreach(models, i, m) {
                char ip[JPATH_MAX];
                jpath_idx(ip, kp, i);
                if (!json_is_string(m) || !glob_valid(json_string_value(m))) {
                        if (json_is_string(m))
                                jctx_quote(q, sizeof(q), json_string_value(m), 64);
                        return jctx_error(&c->j, ip, false, "\"%s\": %s%s", jpath_leaf(ip),
                                          json_is_string(m) ? "bad glob " : "expected a string",
                                          json_is_string(m) ? q : "");
                }
                char *s = strdup(json_string_value(m));
                if (!s || strv_push(&pr->models, s) < 0)
                        return jctx_error(&c->j, ip, false, "out of memory");
        }
        pr->default_max_tokens = 4096;
        pr->timeout_ms = 600000;
        r = jctx_get_uint(&c->j, o, pp, "default_max_tokens", 1000000, false,
                          &pr->default_max_tokens);
        if (r < 0)
                return r;
        if (r > 0 && pr->default_max_tokens == 0)
                return jctx_error(&c->j, kp, false, "\"default_max_tokens\": must be at least 1");
        r = jctx_get_uint(&c->j, o, pp, "timeout_ms", 86400000, false, &pr->timeout_ms);
        if (r < 0)
                return r;
        if (r > 0 && pr->timeout_ms == 0)
                return jctx_error(&c->j, kp, false, "\"timeout_ms\": must be at least 1");
        return 0;
}

static int parse_providers(struct cctx *c, const json_t *root, struct proxy_config *cfg)
{
        json_t *o = NULL;
        int r = jctx_get_object(&c->j, root, "", "providers", true, &o);
        if (r < 0)
                return r;
        size_t n = json_object_size(o);
        if (n == 0)
                return jctx_error(&c->j, "providers", false, "\"providers\": none configured");
        if (n > PROVIDERS_MAX)
                return jctx_error(&c->j, "providers", false,
                                  "\"providers\": too many (%zu, max %d)", n, PROVIDERS_MAX);
        cfg->providers = calloc(n + 1, sizeof(*cfg->providers));
        if (!cfg->providers)
                return jctx_error(&c->j, "providers", false, "out of memory");
        const char *k;
        json_t *v;
        /* jansson keeps insertion order: this is file order, the bare-model resolution order. */
        json_object_foreach(o, k, v) {
                r = parse_provider(c, k, v, &cfg->providers[cfg->n_providers++]);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int config_from_json(struct cctx *c, const json_t *root, struct proxy_config *cfg)
{
        int r;
        if ((r = jctx_check_keys(&c->j, root, "", top_keys)) < 0 ||
            (r = jctx_check_version(&c->j, root, "qclaw_proxy")) < 0)
                return r;
        cfg->audit_rotate_bytes = 64ull << 20;
        cfg->audit_keep_files = 10;
        cfg->audit_fsync = AUDIT_FSYNC_NEVER; /* see proxy/proxy.h "Audit and fsync" */
        cfg->audit_log = strdup("/var/lib/qclaw/audit.jsonl");
        cfg->profiles_dir = strdup("/etc/qclaw/profiles");
        if (!cfg->audit_log || !cfg->profiles_dir)
                return jctx_error(&c->j, "", false, "out of memory");
        if ((r = parse_listen(c, root, cfg)) < 0 ||
            (r = get_abs_path(c, root, "control_socket", sizeof(((struct sockaddr_un *)0)->sun_path),
                              &cfg->control_socket)) < 0 ||
            (r = parse_ids(c, root, "control_users", false, &cfg->control_uids,
                           &cfg->n_control_uids)) < 0 ||
            (r = parse_ids(c, root, "control_groups", true, &cfg->control_gids,
                           &cfg->n_control_gids)) < 0 ||
            (r = get_abs_path(c, root, "audit_log", PATH_MAX, &cfg->audit_log)) < 0 ||
            (r = get_abs_path(c, root, "profiles_dir", PATH_MAX, &cfg->profiles_dir)) < 0 ||
            (r = get_size(c, root, "audit_rotate_bytes", &cfg->audit_rotate_bytes)) < 0)
                return r;
        uint64_t keep = cfg->audit_keep_files;
        if ((r = jctx_get_uint(&c->j, root, "", "audit_keep_files", 10000, false, &keep)) < 0)
                return r;
        cfg->audit_keep_files = (unsigned)keep;
        const char *fs = NULL;
        if ((r = jctx_get_string(&c->j, root, "", "audit_fsync", false, &fs)) < 0)
                return r;
        if (fs) {
                if (strcmp(fs, "never") == 0)
                        cfg->audit_fsync = AUDIT_FSYNC_NEVER;
                else if (strcmp(fs, "egress") == 0)
                        cfg->audit_fsync = AUDIT_FSYNC_EGRESS;
                else if (strcmp(fs, "always") == 0)
                        cfg->audit_fsync = AUDIT_FSYNC_ALWAYS;
                else
                        return jctx_error(&c->j, "audit_fsync", false,
                                          "\"audit_fsync\": expected \"never\", \"egress\" or "
                                          "\"always\"");
        }
        if ((r = parse_clients(c, root, cfg)) < 0 || (r = parse_providers(c, root, cfg)) < 0)
                return r;
        if (cfg->listen.n == 0 && !cfg->control_socket)
                return jctx_error(&c->j, "", false,
                                  "nothing to serve: set \"listen\" or \"control_socket\"");
        if (cfg->n_clients > 0 && cfg->listen.n == 0)
                return jctx_error(&c->j, "clients", true,
                                  "\"clients\" need a TCP \"listen\" address to connect to");
        return 0;
}

int proxy_config_load_string(const char *label, const char *text, size_t len,
                             config_getenv_t getenv_fn, void *userdata,
                             struct proxy_config **ret, char err[POLICY_ERR_MAX])
{
        json_t *root = NULL;
        struct jpos *pos = NULL;
        err[0] = '\0';
        int r = jctx_parse(label, text, len, CONFIG_FILE_MAX, &root, &pos, err);
        if (r < 0)
                return r;
        _cleanup_json_ json_t *root_owned = root;
        struct cctx c = { .j = { .label = label, .pos = pos, .err = err },
                          .getenv_fn = getenv_fn,
                          .userdata = userdata };
        struct proxy_config *cfg = calloc(1, sizeof(*cfg));
        if (!cfg) {
                jpos_free(pos);
                snprintf(err, POLICY_ERR_MAX, "%s: out of memory", label);
                return -ENOMEM;
        }
        cfg->path = strdup(label);
        r = cfg->path ? config_from_json(&c, root, cfg) : -ENOMEM;
        r = jctx_load_end(&c.j, pos, r, text, len, cfg->hash);
        if (r < 0) {
                proxy_config_free(cfg);
                return r;
        }
        *ret = cfg;
        return 0;
}

int proxy_config_load(const char *path, config_getenv_t getenv_fn, void *userdata,
                      struct proxy_config **ret, char err[POLICY_ERR_MAX])
{
        _cleanup_free_ char *text = NULL;
        size_t len = 0;
        int r = jctx_read_file(path, CONFIG_FILE_MAX, &text, &len, err);
        if (r < 0)
                return r;
        return proxy_config_load_string(path, text, len, getenv_fn, userdata, ret, err);
}

static void free_secret(char *s)
{
        if (s) {
                explicit_bzero(s, strlen(s));
                free(s);
        }
}

struct proxy_config *proxy_config_free(struct proxy_config *c)
{
        if (!c)
                return NULL;
        free(c->path);
        strv_done(&c->listen);
        free(c->control_socket);
        free(c->control_uids);
        free(c->control_gids);
        free(c->audit_log);
        free(c->profiles_dir);
        for (size_t i = 0; i < c->n_clients; i++) {
                free(c->clients[i].name);
                free_secret(c->clients[i].token);
                free(c->clients[i].profile);
        }
        free(c->clients);
        for (size_t i = 0; i < c->n_providers; i++) {
                free(c->providers[i].name);
                free(c->providers[i].base_url);
                free_secret(c->providers[i].api_key);
                strv_done(&c->providers[i].models);
        }
        free(c->providers);
        free(c);
        return NULL;
}

const struct provider *proxy_config_find_provider(const struct proxy_config *c, const char *name)
{
        if (!c || !name)
                return NULL;
        for (size_t i = 0; i < c->n_providers; i++)
                if (c->providers[i].name && strcmp(c->providers[i].name, name) == 0)
                        return &c->providers[i];
        return NULL;
}

const struct client *proxy_config_find_client_by_token(const struct proxy_config *c,
                                                       const char *token)
{
        if (!c || !token || c->n_clients == 0)
                return NULL;
        /* Compare SHA-256 digests (fixed length, so the token's length leaks nothing) with
         * CRYPTO_memcmp, over every client without an early exit. */
        unsigned char d[SHA256_DIGEST_BYTES];
        if (sha256_digest(token, strnlen(token, TOKEN_FILE_MAX + 1), d) < 0)
                return NULL;
        const struct client *found = NULL;
        for (size_t i = 0; i < c->n_clients; i++) {
                int diff = CRYPTO_memcmp(c->clients[i].token_sha256, d, 32);
                /* branch-free select */
                uintptr_t mask = (uintptr_t)0 - (uintptr_t)(diff == 0);
                found = (const struct client *)(((uintptr_t)&c->clients[i] & mask) |
                                                ((uintptr_t)found & ~mask));
        }
        explicit_bzero(d, sizeof(d));
        return found;
}

int proxy_config_check_profiles(const struct proxy_config *c, const struct profile_set *set,
                                char err[POLICY_ERR_MAX])
{
        for (size_t i = 0; i < c->n_clients; i++)
                if (!profile_set_find(set, c->clients[i].profile)) {
                        snprintf(err, POLICY_ERR_MAX,
                                 "%s: client \"%s\": profile \"%s\" not found in %s", c->path,
                                 c->clients[i].name, c->clients[i].profile, c->profiles_dir);
                        return -ENOENT;
                }
        return 0;
}
