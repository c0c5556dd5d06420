/* Checked getters, key allowlists, "FILE:LINE:COL: message" errors and the load frame shared by
 * the profile and proxy-config validators (positions come from json-pos.c).
 * Trust level: validates untrusted text; every message quotes at most a bounded, escaped excerpt. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/fd-util.h"
#include "policy/json-check.h"

int jctx_read_file(const char *path, size_t max, char **ret_text, size_t *ret_len,
                   char err[POLICY_ERR_MAX])
{
        int r = read_file_bounded(path, max, ret_text, ret_len);
        if (r == -EFBIG) {
                snprintf(err, POLICY_ERR_MAX, "%s:1:1: file too large (max %zu bytes)", path, max);
                return r;
        }
        if (r < 0) {
                snprintf(err, POLICY_ERR_MAX, "%s: %s", path, strerror(-r));
                return r;
        }
        return 0;
}

void jctx_quote(char *buf, size_t size, const char *s, size_t max)
{
        size_t o = 0;
        if (size < 8) {
                if (size)
                        buf[0] = '\0';
                return;
        }
        buf[o++] = '"';
        size_t i = 0;
        for (; s[i] && i < max; i++) {
                unsigned char ch = (unsigned char)s[i];
                if (o + 8 >= size)
                        break;
                if (ch >= 0x20 && ch < 0x7f && ch != '"' && ch != '\\') {
                        buf[o++] = (char)ch;
                } else {
                        static const char hex[] = "0123456789abcdef";
                        buf[o++] = '\\';
                        buf[o++] = 'x';
                        buf[o++] = hex[ch >> 4];
                        buf[o++] = hex[ch & 15];
                }
        }
        buf[o++] = '"';
        if (s[i] && o + 4 < size) {
                memcpy(buf + o, "...", 3);
                o += 3;
        }
        buf[o] = '\0';
}

int jctx_error(struct jctx *c, const char *path, bool at_key, const char *fmt, ...)
{
        char p[JPATH_MAX];
        unsigned line = 1, col = 1;
        snprintf(p, sizeof(p), "%s", path ? path : "");
        bool key = at_key;
        for (;;) {
                if (jpos_lookup(c->pos, p, key, &line, &col))
                        break;
                key = true;
                if (!jpath_parent(p))
                        break;
        }
        char msg[POLICY_ERR_MAX - 64];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        snprintf(c->err, POLICY_ERR_MAX, "%s:%u:%u: %s", c->label, line, col, msg);
        return -EINVAL;
}

const char *jctx_type_name(const json_t *j)
{
        switch (json_typeof(j)) {
        case JSON_OBJECT: return "an object";
        case JSON_ARRAY: return "an array";
        case JSON_STRING: return "a string";
        case JSON_INTEGER: return "an integer";
        case JSON_REAL: return "a real number";
        case JSON_TRUE:
        case JSON_FALSE: return "a boolean";
        case JSON_NULL: return "null";
        }
        return "?";
}

int jctx_parse(const char *label, const char *text, size_t len, size_t max_len, json_t **ret_root,
               struct jpos **ret_pos, char err[POLICY_ERR_MAX])
{
        unsigned line, col;
        if (len > max_len) {
                snprintf(err, POLICY_ERR_MAX, "%s:1:1: file too large (%zu bytes, max %zu)", label,
                         len, max_len);
                return -EFBIG;
        }
        if (jpos_check_depth(text, len, JPOS_DEPTH_MAX, &line, &col) < 0) {
                snprintf(err, POLICY_ERR_MAX, "%s:%u:%u: nesting too deep (max %u levels)", label,
                         line, col, JPOS_DEPTH_MAX);
                return -EINVAL;
        }
        json_error_t je;
        json_t *root = json_loadb(text, len, 0, &je);
        if (!root) {
                /* jansson quotes the offending token ("... near 'sk-...'"): that may be a
                 * secret written inline, so messages stop before it. */
                char *near = strstr(je.text, " near ");
                if (near)
                        *near = '\0';
                char t[JSON_ERROR_TEXT_LENGTH + 8];
                jctx_quote(t, sizeof(t), je.text, 120);
                /* drop the quotes jctx_quote adds: jansson's text is our own message here */
                size_t tl = strlen(t);
                if (tl >= 2 && t[tl - 1] == '"') {
                        t[tl - 1] = '\0';
                        memmove(t, t + 1, tl - 1);
                }
                snprintf(err, POLICY_ERR_MAX, "%s:%d:%d: %s", label, je.line > 0 ? je.line : 1,
                         je.column > 0 ? je.column : 1, t);
                return -EINVAL;
        }
        _cleanup_free_ char *dup = NULL;
        struct jpos *pos = NULL;
        int r = jpos_scan(text, len, &pos, &dup, &line, &col);
        if (r < 0) {
                json_decref(root);
                if (r == -EEXIST) {
                        char q[96];
                        jctx_quote(q, sizeof(q), dup, 64);
                        snprintf(err, POLICY_ERR_MAX, "%s:%u:%u: duplicate key %s", label, line,
                                 col, q);
                        return -EINVAL;
                }
                snprintf(err, POLICY_ERR_MAX, "%s:1:1: %s", label,
                         r == -E2BIG ? "document too complex" : strerror(-r));
                return r == -ENOMEM ? r : -EINVAL;
        }
        if (!json_is_object(root)) {
                snprintf(err, POLICY_ERR_MAX, "%s:1:1: expected an object at top level, got %s",
                         label, jctx_type_name(root));
                json_decref(root);
                jpos_free(pos);
                return -EINVAL;
        }
        *ret_root = root;
        *ret_pos = pos;
        return 0;
}

int jctx_load_end(struct jctx *c, struct jpos *pos, int r, const char *text, size_t len,
                  char hash[SHA256_HEX_LEN + 1])
{
        if (r >= 0 && sha256_hex(text, len, hash) < 0)
                r = -EIO;
        jpos_free(pos);
        if (r < 0 && !c->err[0])
                snprintf(c->err, POLICY_ERR_MAX, "%s: %s", c->label, strerror(-r));
        return r;
}

int jctx_check_keys(struct jctx *c, const json_t *obj, const char *path,
                    const char *const *allowed)
{
        const char *key;
        json_t *v;
        json_object_foreach((json_t *)obj, key, v) {
                bool ok = false;
                for (const char *const *a = allowed; *a; a++)
                        if (strcmp(*a, key) == 0) {
                                ok = true;
                                break;
                        }
                if (ok)
                        continue;
                char p[JPATH_MAX], q[96], where[96];
                jpath_key(p, path, key);
                jctx_quote(q, sizeof(q), key, 64);
                if (*path) {
                        jctx_quote(where, sizeof(where), path, 64);
                        return jctx_error(c, p, true, "unknown key %s in %s", q, where);
                }
                return jctx_error(c, p, true, "unknown key %s at top level", q);
        }
        return 0;
}

int jctx_check_version(struct jctx *c, const json_t *root, const char *key)
{
        uint64_t version = 0;
        int r = jctx_get_uint(c, root, "", key, UINT32_MAX, true, &version);
        if (r < 0)
                return r;
        if (version != 1)
                return jctx_error(c, key, false, "\"%s\": unsupported version %llu (expected 1)",
                                  key, (unsigned long long)version);
        return 0;
}

static int get_typed(struct jctx *c, const json_t *obj, const char *path, const char *key,
                     bool required, json_type type, const char *tname, json_t **ret)
{
        json_t *v = json_object_get(obj, key);
        char p[JPATH_MAX];
        jpath_key(p, path, key);
        if (!v) {
                if (!required)
                        return 0;
                char where[96];
                jctx_quote(where, sizeof(where), *path ? path : "top level", 64);
                return jctx_error(c, path, false, "missing key \"%s\" in %s", key, where);
        }
        bool ok = json_typeof(v) == type || (type == JSON_TRUE && json_is_boolean(v));
        if (!ok)
                return jctx_error(c, p, false, "\"%s\": expected %s, got %s", jpath_leaf(p), tname,
                                  jctx_type_name(v));
        *ret = v;
        return 1;
}

int jctx_get_object(struct jctx *c, const json_t *obj, const char *path, const char *key,
                    bool required, json_t **ret)
{
        return get_typed(c, obj, path, key, required, JSON_OBJECT, "an object", ret);
}

int jctx_get_string(struct jctx *c, const json_t *obj, const char *path, const char *key,
                    bool required, const char **ret)
{
        json_t *v = NULL;
        int r = get_typed(c, obj, path, key, required, JSON_STRING, "a string", &v);
        if (r > 0)
                *ret = json_string_value(v);
        return r;
}

int jctx_get_uint(struct jctx *c, const json_t *obj, const char *path, const char *key,
                  uint64_t max, bool required, uint64_t *ret)
{
        json_t *v = NULL;
        int r = get_typed(c, obj, path, key, required, JSON_INTEGER, "a non-negative integer", &v);
        if (r <= 0)
                return r;
        char p[JPATH_MAX];
        jpath_key(p, path, key);
        json_int_t i = json_integer_value(v);
        if (i < 0)
                return jctx_error(c, p, false, "\"%s\": must not be negative", jpath_leaf(p));
        if ((uint64_t)i > max)
                return jctx_error(c, p, false, "\"%s\": %" JSON_INTEGER_FORMAT " is too large (max %" PRIu64 ")",
                                  jpath_leaf(p), i, max);
        *ret = (uint64_t)i;
        return 1;
}

int jctx_get_array(struct jctx *c, const json_t *obj, const char *path, const char *key,
                   size_t max_items, json_t **ret)
{
        json_t *v = NULL;
        int r = get_typed(c, obj, path, key, false, JSON_ARRAY, "an array", &v);
        if (r <= 0)
                return r;
        if (json_array_size(v) > max_items) {
                char p[JPATH_MAX];
                jpath_key(p, path, key);
                return jctx_error(c, p, false, "\"%s\": too many entries (%zu, max %zu)",
                                  jpath_leaf(p), json_array_size(v), max_items);
        }
        *ret = v;
        return 1;
}

bool jctx_name_valid(const char *s, size_t max)
{
        size_t n = strlen(s);
        if (n == 0 || n > max)
                return false;
        for (size_t i = 0; i < n; i++) {
                char ch = s[i];
                bool alnum = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9');
                if (!alnum && (i == 0 || (ch != '_' && ch != '-')))
                        return false;
        }
        return true;
}

/* ---- struct strv ---- */

int strv_push(struct strv *v, char *s)
{
        char **n = realloc(v->items, (v->n + 2) * sizeof(char *));
        if (!n) {
                free(s);
                return -ENOMEM;
        }
        n[v->n++] = s;
        n[v->n] = NULL;
        v->items = n;
        return 0;
}

void strv_done(struct strv *v)
{
        for (size_t i = 0; i < v->n; i++)
                free(v->items[i]);
        free(v->items);
        v->items = NULL;
        v->n = 0;
}

bool strv_contains(const struct strv *v, const char *s)
{
        for (size_t i = 0; i < v->n; i++)
                if (strcmp(v->items[i], s) == 0)
                        return true;
        return false;
}
