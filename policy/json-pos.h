/* Positions for JSON values (the checked-access helpers built on them are in json-check.h).
 * jansson tells us where a syntax error is, but not where a semantically wrong value sits; this
 * records LINE:COLUMN for every key and value by JSON path ("sandbox.filesystem.read_only[2]"),
 * detects duplicate keys with the exact position, and bounds nesting before jansson sees the text.
 * Trust level: parses untrusted text (profiles, configs); every size is bounded. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "common/macro.h" /* users of the header (tests) take ELEMENTSOF from here */

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
/* Cut the last component in place ("a.b[2]" -> "a.b", "a.b" -> "a"); false at the root. */
bool jpath_parent(char *path);
