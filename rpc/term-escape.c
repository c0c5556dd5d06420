/* Terminal escaping for dom0 output.
 * Trust level: input is untrusted VM data; output contains only printable ASCII. */
#include <errno.h>
#include <string.h>

#include "rpc/term-escape.h"

int term_escape_append(struct strbuf *out, const char *s, size_t len, size_t max_out)
{
        static const char hex[] = "0123456789abcdef";
        size_t shown = 0;
        int r;

        for (size_t i = 0; i < len; i++) {
                unsigned char c = (unsigned char)s[i];
                char tmp[4];
                size_t n;

                if (c == '\\') {
                        tmp[0] = '\\';
                        tmp[1] = '\\';
                        n = 2;
                } else if (c >= 0x20 && c <= 0x7e) {
                        tmp[0] = (char)c;
                        n = 1;
                } else {
                        tmp[0] = '\\';
                        tmp[1] = 'x';
                        tmp[2] = hex[c >> 4];
                        tmp[3] = hex[c & 0xf];
                        n = 4;
                }
                if (max_out && shown + n > max_out) {
                        return strbuf_append(out, "...", 3);
                }
                r = strbuf_append(out, tmp, n);
                if (r < 0)
                        return r;
                shown += n;
        }
        return 0;
}

int term_escape_appends(struct strbuf *out, const char *s, size_t max_out)
{
        if (!s)
                return strbuf_append(out, "-", 1);
        return term_escape_append(out, s, strlen(s), max_out);
}
