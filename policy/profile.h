/* Agent profiles (DESIGN.md "Profiles"): load, validate and free.
 * Every problem is reported as "FILE:LINE:COLUMN: message" in the caller's error buffer. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define POLICY_ERR_MAX 512
#define PROFILE_FILE_MAX (256 * 1024) /* bytes */
#define PROFILE_LIST_MAX 256          /* entries in any list (models, paths, env, ...) */
#define PROFILE_NAME_MAX 64           /* [a-z0-9_-], starts with a letter or digit */

/* Validation rules and defaults (profile.c):
 *   qclaw_profile  required, must be 1.          name  required, [a-z0-9][a-z0-9_-]{0,63}.
 *   description    optional string <= 1024 bytes, default "".
 *   models         globs (glob_valid), default [] = no model access.
 *   limits         requests_per_minute <= 1e6, tokens_per_day <= 1e12,
 *                  max_concurrent_requests <= 10000: absent or 0 = unlimited;
 *                  max_request_bytes 1..1 GiB, default 8 MiB.
 *   sandbox.network  "proxy" (default) | "none".   publish: ports 1..65535, unique, not 32125.
 *   filesystem     $WORKSPACE / $HOME only as the leading component; absolute after expansion;
 *                  ".." refused; "//", "/./" and a trailing '/' normalised away; < PATH_MAX.
 *   seccomp        deny/allow: syscall names libseccomp resolves; none in both lists.
 *   resources      memory_max: "4G"/"512M"/"64k"/digits or integer, 16M..1P, absent = no limit;
 *                  pids_max >= 8 (absent = no limit); nofile 16..1048576 (absent = inherit).
 *   env            pass: [A-Za-z_][A-Za-z0-9_]* with an optional trailing '*';
 *                  set: name -> string (<= 4096 bytes), at most 256 entries.
 * Every list holds at most PROFILE_LIST_MAX entries; nesting is at most 32 levels; unknown keys,
 * duplicate keys and wrong types are refused. */

enum profile_network {
        PROFILE_NETWORK_PROXY, /* only the proxy endpoint 127.0.0.1:32125 is reachable */
        PROFILE_NETWORK_NONE,  /* loopback only, no proxy */
};

struct profile_limits {
        uint64_t requests_per_minute;     /* 0 = unlimited */
        uint64_t tokens_per_day;          /* 0 = unlimited */
        uint64_t max_concurrent_requests; /* 0 = unlimited */
        uint64_t max_request_bytes;       /* default 8 MiB */
};

struct strv {
        char **items; /* NULL-terminated */
        size_t n;
};

struct profile_env_set {
        char *name;
        char *value;
};

struct profile {
        char *path;        /* file it was loaded from ("<string>" for profile_load_string) */
        char *name;
        char *description; /* may be "" */
        struct strv models;        /* globs over "provider/model" */
        unsigned provider_tools;   /* bit (1 << enum provider_tool) per provider-side tool allowed */
        struct profile_limits limits;
        enum profile_network network;
        uint16_t *publish;         /* ports */
        size_t n_publish;
        /* Filesystem: absolute paths after $WORKSPACE/$HOME expansion, normalised (no "..",
         * no "//", no trailing "/"). */
        struct strv fs_read_only, fs_read_write, fs_tmpfs, fs_hide;
        struct strv seccomp_deny, seccomp_allow; /* syscall names, checked against libseccomp */
        uint64_t memory_max;  /* bytes, 0 = no limit */
        uint64_t pids_max;    /* 0 = no limit */
        uint64_t nofile;      /* RLIMIT_NOFILE, 0 = inherit */
        struct strv env_pass; /* names; a trailing '*' is a prefix glob ("LC_*") */
        struct profile_env_set *env_set;
        size_t n_env_set;
        char hash[65];        /* SHA-256 hex of the file bytes: the "effective policy" hash */
};

/* Values for $WORKSPACE and $HOME. NULL vars (the proxy's case) validates with placeholders. */
struct profile_vars {
        const char *workspace;
        const char *home;
};

/* Load and validate. 0, or -errno with err filled ("FILE:LINE:COLUMN: message"; for I/O errors
 * "FILE: strerror"). */
int profile_load(const char *path, const struct profile_vars *vars, struct profile **ret,
                 char err[POLICY_ERR_MAX]);
/* Same from memory; label is used as FILE in messages. */
int profile_load_string(const char *label, const char *text, size_t len,
                        const struct profile_vars *vars, struct profile **ret,
                        char err[POLICY_ERR_MAX]);
struct profile *profile_free(struct profile *p);

/* "NAME" -> DIR/NAME.json (NAME validated); anything containing '/' or ending in ".json" is a
 * path used as is. Caller frees *ret_path. */
int profile_resolve_path(const char *dir, const char *name_or_path, char **ret_path);

/* Size strings: "4G", "512M", "64k", "1073741824" (powers of 1024). -EINVAL / -ERANGE. */
int parse_size(const char *s, uint64_t *ret);

/* All profiles in a directory (*.json), for the proxy. A bad file fails the whole load with its
 * message (atomic reload keeps the old set). */
struct profile_set {
        struct profile **items;
        size_t n;
        char hash[65]; /* SHA-256 over the names and hashes of all profiles */
};
int profile_set_load_dir(const char *dir, struct profile_set **ret, char err[POLICY_ERR_MAX]);
const struct profile *profile_set_find(const struct profile_set *set, const char *name);
struct profile_set *profile_set_free(struct profile_set *set);
