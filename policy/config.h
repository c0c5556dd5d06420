/* Proxy configuration (DESIGN.md "Proxy configuration"): load, validate, ${VAR} expansion.
 * Errors are "FILE:LINE:COLUMN: message". API keys never appear in error messages. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "policy/profile.h"

#define CONFIG_FILE_MAX (1024 * 1024)

enum provider_type {
        PROVIDER_OPENAI,    /* OpenAI and anything OpenAI-compatible (Ollama /v1, vLLM, Cursor) */
        PROVIDER_ANTHROPIC, /* Anthropic Messages API */
};

struct provider {
        char *name;                /* [a-z0-9_-]+ , the "provider/" prefix in model ids */
        enum provider_type type;
        char *base_url;            /* http(s)://..., no trailing '/' */
        char *api_key;             /* NULL when none is configured (e.g. Ollama) */
        struct strv models;        /* globs over the provider's own model ids */
        uint64_t default_max_tokens; /* anthropic: used when the caller sends none (4096) */
        uint64_t timeout_ms; /* upstream: a whole request, or a stream's longest silence; 600000 */
};

struct client {
        char *name;
        char *token;   /* read from token_file, trailing newline stripped; never logged */
        char *profile; /* profile name */
        unsigned char token_sha256[32]; /* for the constant-time lookup */
};

enum audit_fsync_policy {
        AUDIT_FSYNC_NEVER,    /* leave it to the kernel (default): write(2) done before egress */
        AUDIT_FSYNC_EGRESS,   /* fsync before an egress leaves (survives power loss too) */
        AUDIT_FSYNC_ALWAYS,   /* fsync every record */
};

struct proxy_config {
        char *path;
        struct strv listen;        /* "127.0.0.1:32125", "[::1]:32125" */
        char *control_socket;      /* may be NULL: no control socket */
        uid_t *control_uids;       /* peers allowed besides root */
        size_t n_control_uids;
        gid_t *control_gids;
        size_t n_control_gids;
        char *audit_log;
        uint64_t audit_rotate_bytes; /* 0 = never rotate; default 64 MiB */
        unsigned audit_keep_files;   /* rotated files kept, default 10 */
        enum audit_fsync_policy audit_fsync;
        char *profiles_dir;
        struct client *clients;
        size_t n_clients;
        struct provider *providers; /* in file order (model resolution order) */
        size_t n_providers;
        char hash[65];              /* SHA-256 of the file bytes (not of expanded secrets) */
};

/* getenv-like lookup used for ${VAR}; NULL means "use getenv". Tests pass their own. */
typedef const char *(*config_getenv_t)(const char *name, void *userdata);

int proxy_config_load(const char *path, config_getenv_t getenv_fn, void *userdata,
                      struct proxy_config **ret, char err[POLICY_ERR_MAX]);
int proxy_config_load_string(const char *label, const char *text, size_t len,
                             config_getenv_t getenv_fn, void *userdata,
                             struct proxy_config **ret, char err[POLICY_ERR_MAX]);
struct proxy_config *proxy_config_free(struct proxy_config *c);

const struct provider *proxy_config_find_provider(const struct proxy_config *c, const char *name);
/* Constant-time token comparison over all clients. NULL when no client has this token. */
const struct client *proxy_config_find_client_by_token(const struct proxy_config *c,
                                                       const char *token);
/* Every client's profile exists in set. 0, or -ENOENT with err naming client and profile. */
int proxy_config_check_profiles(const struct proxy_config *c, const struct profile_set *set,
                                char err[POLICY_ERR_MAX]);
