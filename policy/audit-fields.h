/* Builder for an audit record's fields as the compact JSON member text the writer appends
 * (`"event":"egress","session":"s-1",...`, no braces): the proxy's per-request records skip
 * building and dumping a jansson object (policy/audit.h audit_log_append_text).
 *
 * Keys are the caller's literals (plain ASCII, never seq/ts/prev/hash). Values are escaped as
 * JSON requires; bytes that are not valid UTF-8 (the strict reader, jansson, refuses them)
 * become U+FFFD, so any C string makes a record that parses. Errors (allocation, the record
 * growing past AUDIT_LINE_MAX) are sticky and reported once by audit_fields_take(). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

struct audit_fields {
        char *buf;
        size_t len, cap;
        int err; /* first error, -errno */
};

/* Starts the text with "event":EVENT. */
void audit_fields_begin(struct audit_fields *f, const char *event);
/* ,"KEY":"VALUE" (VALUE NULL: null) */
void audit_fields_str(struct audit_fields *f, const char *key, const char *value);
void audit_fields_int(struct audit_fields *f, const char *key, int64_t value);
void audit_fields_bool(struct audit_fields *f, const char *key, bool value);
/* The text (caller frees) and its length, or NULL with *ret_err set; f is emptied either way. */
char *audit_fields_take(struct audit_fields *f, size_t *ret_len, int *ret_err);
void audit_fields_done(struct audit_fields *f);

/* A jansson object holding "event" and fields (the audit_log_append() form) as such text:
 * "event" first, then the others in object order. 0 or -EINVAL (not an object, no string
 * "event", a reserved key, a NUL in a string), -E2BIG, -ENOMEM. */
int audit_fields_from_json(const json_t *fields, char **ret_text, size_t *ret_len);
