/* Positions for JSON values, and the checked-access helpers profile.c and config.c share.
 * jansson tells us where a syntax error is, but not where a semantically wrong value sits; this
 * records LINE:COLUMN for every key and value by JSON path ("sandbox.filesystem.read_only[2]"),
 * detects duplicate keys with the exact position, and bounds nesting before jansson sees the text.
 * Trust level: parses untrusted text (profiles, configs); every size is bounded. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/macro.h"
#include "policy/profile.h"

#define JPOS_DEPTH_MAX 32    /* nesting of objects/arrays */
#define JPATH_MAX 1024       /* longest path the validators build; longer ones point at a parent */

struct jpos;

/* Nesting depth check on raw (not yet validated) text: 0, or -ELOOP with the position of the
 * bracket that is one too deep. Strings are skipped. */
int jpos_check_depth(const char *text, size_t len, unsigned max, unsigned *ret_line,
                     unsigned *ret_col);

/* Scan text that jansson accepted. 0; -EEXIST for a duplicate key (ret_dup_* filled: the key
 * decoded and its position; caller frees *ret_dup_key); -E2BIG when the paths would need too much
 * memory; -ENOMEM; -EINVAL if the text is not JSON after all. */
int jpos_scan(const char *text, size_t len, struct jpos **ret, char **ret_dup_key,
              unsigned *ret_line, unsigned *ret_col);
struct jpos *jpos_free(struct jpos *m);
/* at_key: the position of the key's opening quote; else of the value's first character. */
bool jpos_lookup(const struct jpos *m, const char *path, bool at_key, unsigned *ret_line,
                 unsigned *ret_col);

/* Path building: '.', '[' and '\' inside keys are escaped with '\'. When the result would not
 * fit in JPATH_MAX the parent path is kept (messages then point at the parent). */
void jpath_key(char out[JPATH_MAX], const char *parent, const char *key);
void jpath_idx(char out[JPATH_MAX], const char *parent, size_t idx);
/* The last component of a path, for messages ("memory_max", "read_only[2]"). */
const char *jpath_leaf(const char *path);

/* Validation context: the file label, positions and the caller's error buffer. */
struct jctx {
        const char *label;
        const struct jpos *pos;
        char *err; /* POLICY_ERR_MAX bytes */
};

/* Parse text into an object: size limit, depth, jansson, duplicate keys, top-level object.
 * 0, or -EINVAL/-EFBIG/-ENOMEM with err filled as "LABEL:LINE:COL: message". */
int jctx_parse(const char *label, const char *text, size_t len, size_t max_len, json_t **ret_root,
               struct jpos **ret_pos, char err[POLICY_ERR_MAX]);

/* Fill err with "LABEL:LINE:COL: message" (position of path's key or value) and return -EINVAL. */
int jctx_error(struct jctx *c, const char *path, bool at_key, const char *fmt, ...) _printf_(4, 5);

/* "a string", "an integer", ... for messages. */
const char *jctx_type_name(const json_t *j);
/* Refuse any key of obj not in the NULL-terminated allowed list. */
int jctx_check_keys(struct jctx *c, const json_t *obj, const char *path,
                    const char *const *allowed);
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

/* Quote s for a message: printable ASCII only (others as \xNN), at most max chars, then "...". */
void jctx_quote(char *buf, size_t size, const char *s, size_t max);

/* struct strv helpers for the validators: push takes ownership of s (freed on failure). */
int strv_push(struct strv *v, char *s);
void strv_done(struct strv *v);
bool strv_contains(const struct strv *v, const char *s);
