/* Positions for JSON keys and values by path, duplicate-key and depth checks (the checked
 * getters built on them are in json-check.c).
 * Trust level: parses untrusted text; sizes, depth and memory are bounded. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/json-pos.h"

#define JPOS_PATH_BYTES_MAX (16u * 1024 * 1024) /* all stored paths together */

struct jpos_entry {
        char *path;
        unsigned kline, kcol; /* 0 when the value has no key (array element, root) */
        unsigned vline, vcol;
};

struct jpos {
        struct jpos_entry *slots;
        size_t cap; /* power of two */
        size_t n;
        size_t path_bytes;
};

/* ---- depth check (raw text) ---- */

int jpos_check_depth(const char *text, size_t len, unsigned max, unsigned *ret_line,
                     unsigned *ret_col)
{
        unsigned line = 1, col = 1, depth = 0;
        bool in_str = false, esc = false;
        for (size_t i = 0; i < len; i++) {
                unsigned char ch = (unsigned char)text[i];
                if (in_str) {
                        if (esc)
                                esc = false;
                        else if (ch == '\\')
                                esc = true;
                        else if (ch == '"')
                                in_str = false;
                } else if (ch == '"') {
                        in_str = true;
                } else if (ch == '{' || ch == '[') {
                        if (++depth > max) {
                                *ret_line = line;
                                *ret_col = col;
                                return -ELOOP;
                        }
                } else if ((ch == '}' || ch == ']') && depth > 0) {
                        depth--;
                }
                if (ch == '\n') {
                        line++;
                        col = 1;
                } else if ((ch & 0xC0) != 0x80) {
                        col++;
                }
        }
        return 0;
}

/* ---- path helpers ---- */

static size_t escaped_len(const char *key)
{
        size_t n = 0;
        for (const char *p = key; *p; p++)
                n += (*p == '.' || *p == '[' || *p == '\\') ? 2 : 1;
        return n;
}

void jpath_key(char out[JPATH_MAX], const char *parent, const char *key)
{
        size_t plen = strlen(parent);
        if (out != parent)
                memmove(out, parent, plen + 1);
        size_t need = plen + (plen ? 1 : 0) + escaped_len(key);
        if (need >= JPATH_MAX)
                return; /* keep the parent */
        size_t o = plen;
        if (plen)
                out[o++] = '.';
        for (const char *p = key; *p; p++) {
                if (*p == '.' || *p == '[' || *p == '\\')
                        out[o++] = '\\';
                out[o++] = *p;
        }
        out[o] = '\0';
}

void jpath_idx(char out[JPATH_MAX], const char *parent, size_t idx)
{
        size_t plen = strlen(parent);
        if (out != parent)
                memmove(out, parent, plen + 1);
        char tmp[32];
        int n = snprintf(tmp, sizeof(tmp), "[%zu]", idx);
        if (n < 0 || plen + (size_t)n >= JPATH_MAX)
                return;
        memcpy(out + plen, tmp, (size_t)n + 1);
}

const char *jpath_leaf(const char *path)
{
        const char *leaf = path;
        for (const char *p = path; *p; p++) {
                if (*p == '\\' && p[1]) {
                        p++;
                        continue;
                }
                if (*p == '.')
                        leaf = p + 1;
        }
        return leaf;
}

bool jpath_parent(char *path)
{
        char *cut = NULL;
        for (char *p = path; *p; p++) {
                if (*p == '\\' && p[1]) {
                        p++;
                        continue;
                }
                if (*p == '.' || *p == '[')
                        cut = p;
        }
        if (!cut) {
                if (!*path)
                        return false;
                *path = '\0';
                return true;
        }
        *cut = '\0';
        return true;
}

/* ---- hash map ---- */

static uint64_t hash_str(const char *s)
{
        uint64_t h = 1469598103934665603ull; /* FNV-1a */
        for (; *s; s++) {
                h ^= (unsigned char)*s;
                h *= 1099511628211ull;
        }
        return h;
}

static struct jpos_entry *map_find(const struct jpos *m, const char *path)
{
        if (!m || m->cap == 0)
                return NULL;
        size_t i = (size_t)hash_str(path) & (m->cap - 1);
        while (m->slots[i].path) {
                if (strcmp(m->slots[i].path, path) == 0)
                        return &m->slots[i];
                i = (i + 1) & (m->cap - 1);
        }
        return NULL;
}

static int map_grow(struct jpos *m)
{
        size_t ncap = m->cap ? m->cap * 2 : 64;
        struct jpos_entry *ns = calloc(ncap, sizeof(*ns));
        if (!ns)
                return -ENOMEM;
        for (size_t i = 0; i < m->cap; i++) {
                if (!m->slots[i].path)
                        continue;
                size_t j = (size_t)hash_str(m->slots[i].path) & (ncap - 1);
                while (ns[j].path)
                        j = (j + 1) & (ncap - 1);
                ns[j] = m->slots[i];
        }
        free(m->slots);
        m->slots = ns;
        m->cap = ncap;
        return 0;
}

/* -EEXIST when the path is already there. */
static int map_add(struct jpos *m, const char *path, size_t plen, unsigned kline, unsigned kcol,
                   unsigned vline, unsigned vcol)
{
        if (map_find(m, path))
                return -EEXIST;
        if (plen + 1 > JPOS_PATH_BYTES_MAX - m->path_bytes)
                return -E2BIG;
        if ((m->n + 1) * 2 > m->cap) {
                int r = map_grow(m);
                if (r < 0)
                        return r;
        }
        char *copy = strndup(path, plen);
        if (!copy)
                return -ENOMEM;
        size_t i = (size_t)hash_str(copy) & (m->cap - 1);
        while (m->slots[i].path)
                i = (i + 1) & (m->cap - 1);
        m->slots[i] = (struct jpos_entry){ copy, kline, kcol, vline, vcol };
        m->n++;
        m->path_bytes += plen + 1;
        return 0;
}

struct jpos *jpos_free(struct jpos *m)
{
        if (!m)
                return NULL;
        for (size_t i = 0; i < m->cap; i++)
                free(m->slots[i].path);
        free(m->slots);
        free(m);
        return NULL;
}

bool jpos_lookup(const struct jpos *m, const char *path, bool at_key, unsigned *ret_line,
                 unsigned *ret_col)
{
        const struct jpos_entry *e = map_find(m, path);
        if (!e)
                return false;
        if (at_key && e->kline) {
                *ret_line = e->kline;
                *ret_col = e->kcol;
        } else {
                *ret_line = e->vline;
                *ret_col = e->vcol;
        }
        return true;
}

/* ---- scanner over text jansson accepted ---- */

struct scanner {
        const char *p, *end;
        unsigned line, col;
        struct jpos *map;
        char *path; /* growable */
        size_t path_len, path_cap;
        char *dup_key;
        unsigned dup_line, dup_col;
};

static void sc_adv(struct scanner *s)
{
        unsigned char ch = (unsigned char)*s->p++;
        if (ch == '\n') {
                s->line++;
                s->col = 1;
        } else if ((ch & 0xC0) != 0x80) {
                s->col++;
        }
}

static void sc_ws(struct scanner *s)
{
        while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
                sc_adv(s);
}

static int sc_path_reserve(struct scanner *s, size_t extra)
{
        if (extra > JPOS_PATH_BYTES_MAX || s->path_len + extra + 1 > JPOS_PATH_BYTES_MAX)
                return -E2BIG;
        size_t need = s->path_len + extra + 1;
        if (need <= s->path_cap)
                return 0;
        size_t cap = s->path_cap ? s->path_cap : 256;
        while (cap < need)
                cap *= 2;
        char *n = realloc(s->path, cap);
        if (!n)
                return -ENOMEM;
        s->path = n;
        s->path_cap = cap;
        return 0;
}

static int hexval(char c)
{
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

static int read_hex4(struct scanner *s, unsigned *ret)
{
        if (s->end - s->p < 4)
                return -EINVAL;
        unsigned v = 0;
        for (int i = 0; i < 4; i++) {
                int h = hexval(*s->p);
                if (h < 0)
                        return -EINVAL;
                v = v * 16 + (unsigned)h;
                sc_adv(s);
        }
        *ret = v;
        return 0;
}

/* Appends one decoded char (escaped for the path when key is set) to the path buffer. */
static int sc_put(struct scanner *s, const char *bytes, size_t n, bool key)
{
        int r = sc_path_reserve(s, 2 * n);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                if (key && (bytes[i] == '.' || bytes[i] == '[' || bytes[i] == '\\'))
                        s->path[s->path_len++] = '\\';
                s->path[s->path_len++] = bytes[i];
        }
        s->path[s->path_len] = '\0';
        return 0;
}

static size_t utf8_encode(unsigned cp, char out[4])
{
        if (cp < 0x80) {
                out[0] = (char)cp;
                return 1;
        }
        if (cp < 0x800) {
                out[0] = (char)(0xC0 | (cp >> 6));
                out[1] = (char)(0x80 | (cp & 0x3F));
                return 2;
        }
        if (cp < 0x10000) {
                out[0] = (char)(0xE0 | (cp >> 12));
                out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
                out[2] = (char)(0x80 | (cp & 0x3F));
                return 3;
        }
        out[0] = (char)(0xF0 | (cp >> 18));
        out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[3] = (char)(0x80 | (cp & 0x3F));
        return 4;
}

/* At '"'. With append, the decoded string is appended to the path (escaped). */
static int sc_string(struct scanner *s, bool append)
{
        sc_adv(s); /* opening quote */
        while (s->p < s->end) {
                char c = *s->p;
                if (c == '"') {
                        sc_adv(s);
                        return 0;
                }
                if (c != '\\') {
                        if (append) {
                                int r = sc_put(s, &c, 1, true);
                                if (r < 0)
                                        return r;
                        }
                        sc_adv(s);
                        continue;
                }
                sc_adv(s);
                if (s->p >= s->end)
                        return -EINVAL;
                char e = *s->p;
                sc_adv(s);
                char out[4];
                size_t n = 1;
                switch (e) {
                case '"': out[0] = '"'; break;
                case '\\': out[0] = '\\'; break;
                case '/': out[0] = '/'; break;
                case 'b': out[0] = '\b'; break;
                case 'f': out[0] = '\f'; break;
                case 'n': out[0] = '\n'; break;
                case 'r': out[0] = '\r'; break;
                case 't': out[0] = '\t'; break;
                case 'u': {
                        unsigned cp;
                        if (read_hex4(s, &cp) < 0)
                                return -EINVAL;
                        if (cp >= 0xD800 && cp <= 0xDBFF && s->end - s->p >= 6 && s->p[0] == '\\' &&
                            s->p[1] == 'u') {
                                sc_adv(s);
                                sc_adv(s);
                                unsigned lo;
                                if (read_hex4(s, &lo) < 0)
                                        return -EINVAL;
                                if (lo >= 0xDC00 && lo <= 0xDFFF)
                                        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                        }
                        n = utf8_encode(cp, out);
                        break;
                }
                default:
                        return -EINVAL;
                }
                if (append) {
                        int r = sc_put(s, out, n, true);
                        if (r < 0)
                                return r;
                }
        }
        return -EINVAL;
}

static int sc_value(struct scanner *s, unsigned kline, unsigned kcol, unsigned depth);

static int sc_record(struct scanner *s, unsigned kline, unsigned kcol, unsigned vline,
                     unsigned vcol)
{
        return map_add(s->map, s->path ? s->path : "", s->path_len, kline, kcol, vline, vcol);
}

/* At '{' or '[': steps over it; true when the container is empty (its close consumed too). */
static bool sc_open(struct scanner *s, char close)
{
        sc_adv(s);
        sc_ws(s);
        if (s->p < s->end && *s->p == close) {
                sc_adv(s);
                return true;
        }
        return false;
}

/* After a member or an element: cut the path back to base, then 1 at ',' (another follows),
 * 0 at close (the container ended), -EINVAL at anything else. */
static int sc_next(struct scanner *s, size_t base, char close)
{
        s->path_len = base;
        s->path[base] = '\0';
        sc_ws(s);
        if (s->p >= s->end)
                return -EINVAL;
        if (*s->p == ',') {
                sc_adv(s);
                return 1;
        }
        if (*s->p == close) {
                sc_adv(s);
                return 0;
        }
        return -EINVAL;
}

static int sc_value(struct scanner *s, unsigned kline, unsigned kcol, unsigned depth)
{
        if (depth > JPOS_DEPTH_MAX + 1)
                return -EINVAL;
        sc_ws(s);
        if (s->p >= s->end)
                return -EINVAL;
        int r = sc_record(s, kline, kcol, s->line, s->col);
        if (r < 0)
                return r;
        size_t base = s->path_len;
        char c = *s->p;
        if (c == '{') {
                if (sc_open(s, '}'))
                        return 0;
                for (;;) {
                        sc_ws(s);
                        if (s->p >= s->end || *s->p != '"')
                                return -EINVAL;
                        unsigned kl = s->line, kc = s->col;
                        if (base > 0) {
                                r = sc_put(s, ".", 1, false);
                                if (r < 0)
                                        return r;
                        }
                        size_t key_start = s->path_len;
                        r = sc_string(s, true);
                        if (r < 0)
                                return r;
                        sc_ws(s);
                        if (s->p >= s->end || *s->p != ':')
                                return -EINVAL;
                        sc_adv(s);
                        r = sc_value(s, kl, kc, depth + 1);
                        if (r == -EEXIST && !s->dup_key) {
                                /* this key is the duplicate: record its (unescaped) name */
                                char *k = strndup(s->path + key_start, s->path_len - key_start);
                                if (!k)
                                        return -ENOMEM;
                                size_t o = 0;
                                for (size_t i = 0; k[i]; i++) {
                                        if (k[i] == '\\' && k[i + 1])
                                                i++;
                                        k[o++] = k[i];
                                }
                                k[o] = '\0';
                                s->dup_key = k;
                                s->dup_line = kl;
                                s->dup_col = kc;
                        }
                        if (r < 0)
                                return r;
                        r = sc_next(s, base, '}');
                        if (r <= 0)
                                return r;
                }
        }
        if (c == '[') {
                if (sc_open(s, ']'))
                        return 0;
                for (size_t idx = 0;; idx++) {
                        char tmp[32];
                        int n = snprintf(tmp, sizeof(tmp), "[%zu]", idx);
                        r = sc_put(s, tmp, (size_t)n, false);
                        if (r < 0)
                                return r;
                        r = sc_value(s, 0, 0, depth + 1);
                        if (r < 0)
                                return r;
                        r = sc_next(s, base, ']');
                        if (r <= 0)
                                return r;
                }
        }
        if (c == '"')
                return sc_string(s, false);
        /* number, true, false, null */
        size_t n = 0;
        while (s->p < s->end && *s->p != ',' && *s->p != '}' && *s->p != ']' && *s->p != ' ' &&
               *s->p != '\t' && *s->p != '\n' && *s->p != '\r') {
                sc_adv(s);
                n++;
        }
        return n ? 0 : -EINVAL;
}

int jpos_scan(const char *text, size_t len, struct jpos **ret, char **ret_dup_key,
              unsigned *ret_line, unsigned *ret_col)
{
        struct scanner s = { .p = text, .end = text + len, .line = 1, .col = 1 };
        s.map = calloc(1, sizeof(*s.map));
        if (!s.map)
                return -ENOMEM;
        int r = sc_path_reserve(&s, 0);
        if (r >= 0) {
                s.path[0] = '\0';
                r = sc_value(&s, 0, 0, 0);
        }
        free(s.path);
        if (r == -EEXIST && s.dup_key) {
                *ret_dup_key = s.dup_key;
                *ret_line = s.dup_line;
                *ret_col = s.dup_col;
                jpos_free(s.map);
                return r;
        }
        free(s.dup_key);
        if (r < 0) {
                jpos_free(s.map);
                return r == -EEXIST ? -EINVAL : r;
        }
        *ret = s.map;
        return 0;
}
