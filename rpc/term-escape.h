/* Escaping untrusted bytes before they reach a terminal (dom0 shows data from the VM). */
#pragma once

#include <stddef.h>
#include "common/strbuf.h"

/* Append s[0..len) to out with every byte outside printable ASCII (0x20-0x7e) written as \xNN
 * and '\' as "\\". At most max_out visible characters are appended (then "..." is added).
 * 0 or -errno (-E2BIG from the strbuf). max_out 0 = no limit. */
int term_escape_append(struct strbuf *out, const char *s, size_t len, size_t max_out);

/* Convenience for NUL-terminated strings (NULL prints as "-"). */
int term_escape_appends(struct strbuf *out, const char *s, size_t max_out);
