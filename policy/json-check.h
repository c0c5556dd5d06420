/* Checked access to parsed JSON for the profile and proxy-config validators: parsing with
 * positions, "FILE:LINE:COL: message" errors, key allowlists, typed getters, and the load frame
 * both loaders share.
 * Trust level: validates untrusted text (profiles, configs); every size is bounded. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/macro.h"
#include "policy/json-pos.h"
#include "policy/profile.h"
#include "policy/sha256.h"

/* Validation context: the file label, positions and the caller's error buffer. */
struct jctx {
        const char *label;
        const struct jpos *pos;
        char *err; /* POLICY_ERR_MAX bytes */
};

/* Read a whole file of at most max bytes for a loader. 0, or -errno with err filled
 * ("PATH:1:1: file too large (max N bytes)" or "PATH: strerror"). */
int jctx_read_file(const char *path, size_t max, char **ret_text, size_t *ret_len,
                   char err[POLICY_ERR_MAX]);

/* Parse text into an object: size limit, depth, jansson, duplicate keys, top-level object.
 * 0, or -EINVAL/-EFBIG/-ENOMEM with err filled as "LABEL:LINE:COL: message". */
int jctx_parse(const char *label, const char *text, size_t len, size_t max_len, json_t **ret_root,
               struct jpos **ret_pos, char err[POLICY_ERR_MAX]);

/* The end of a loader, r being what its validator returned: on success hash text into hash;
 * free pos; on failure make sure err says something ("LABEL: strerror"). Returns r (or -EIO). */
int jctx_load_end(struct jctx *c, struct jpos *pos, int r, const char *text, size_t len,
                  char hash[SHA256_HEX_LEN + 1]);

/* Fill err with "LABEL:LINE:COL: message" (position of path's key or value) and return -EINVAL. */
int jctx_error(struct jctx *c, const char *path, bool at_key, const char *fmt, ...) _printf_(4, 5);

/* "a string", "an integer", ... for messages. */
const char *jctx_type_name(const json_t *j);
/* Refuse any key of obj not in the NULL-terminated allowed list. */
int jctx_check_keys(struct jctx *c, const json_t *obj, const char *path,
                    const char *const *allowed);
/* The required top-level format version key ("qclaw_profile", "qclaw_proxy"): must be 1. */
int jctx_check_version(struct jctx *c, const json_t *root, const char *key);
/* Type-checked getters: absent keys leave *ret untouched and return 0 (1 when present). */
int jctx_get_object(struct jctx *c, const json_t *obj, const char *path, const char *key,
                    bool required, json_t **ret);
int jctx_get_string(struct jctx *c, const json_t *obj, const char *path, const char *key,
                    bool required, const char **ret);
/* Non-negative integer <= max. */
int jctx_get_uint(struct jctx *c, const json_t *obj, const char *path, const char *key,
                  uint64_t max, bool required, uint64_t *ret);
/* An array of at most max_items elements. */
int jctx_get_array(struct jctx *c, const json_t *obj, const char *path, const char *key,
                   size_t max_items, json_t **ret);

/* A profile, client or provider name: [a-z0-9][a-z0-9_-]*, 1 to max characters. */
bool jctx_name_valid(const char *s, size_t max);

/* Quote s for a message: printable ASCII only (others as \xNN), at most max chars, then "...". */
void jctx_quote(char *buf, size_t size, const char *s, size_t max);

/* struct strv helpers for the validators: push takes ownership of s (freed on failure). */
int strv_push(struct strv *v, char *s);
void strv_done(struct strv *v);
bool strv_contains(const struct strv *v, const char *s);
