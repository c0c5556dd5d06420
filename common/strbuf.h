/* Growable byte buffer with a hard maximum: every buffer untrusted input can grow is bounded. */
#pragma once

#include <stdarg.h>
#include <stddef.h>
#include "common/macro.h"

struct strbuf {
        char *data;   /* always NUL-terminated when non-NULL */
        size_t len;
        size_t cap;
        size_t max;   /* appends that would exceed this fail with -E2BIG */
};

#define STRBUF_INIT(maxbytes) { .data = NULL, .len = 0, .cap = 0, .max = (maxbytes) }

int strbuf_append(struct strbuf *b, const void *data, size_t len);
int strbuf_appends(struct strbuf *b, const char *s);
int strbuf_appendf(struct strbuf *b, const char *fmt, ...) _printf_(2, 3);
void strbuf_reset(struct strbuf *b);
void strbuf_free(struct strbuf *b);
/* Detach the data (caller frees); the buffer becomes empty. Never NULL on success (-ENOMEM). */
int strbuf_steal(struct strbuf *b, char **ret);
