/* Incremental Server-Sent Events parser (see sse.h).
 * Trust level: parses untrusted upstream and agent bytes; all buffers bounded, errors sticky. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/strbuf.h"
#include "proxy/sse.h"

struct sse_parser {
        struct strbuf line;  /* current incomplete line */
        struct strbuf data;  /* data lines of the current event, each followed by '\n' */
        struct strbuf event; /* event name of the current event */
        struct strbuf id;    /* last event id (sticky across events) */
        bool has_id;
        bool skip_lf;        /* previous byte was '\r': a following '\n' belongs to it */
        bool started;        /* past the optional BOM */
        size_t bom_seen;     /* BOM bytes matched so far (at stream start) */
        int error;           /* sticky error */
};

static const unsigned char bom[3] = { 0xEF, 0xBB, 0xBF };

int sse_parser_new(struct sse_parser **ret)
{
        struct sse_parser *p = calloc(1, sizeof(*p));
        if (!p)
                return -ENOMEM;
        p->line = (struct strbuf)STRBUF_INIT(SSE_LINE_MAX);
        p->data = (struct strbuf)STRBUF_INIT(SSE_DATA_MAX + 1); /* + the trailing '\n' */
        p->event = (struct strbuf)STRBUF_INIT(SSE_NAME_MAX);
        p->id = (struct strbuf)STRBUF_INIT(SSE_NAME_MAX);
        *ret = p;
        return 0;
}

struct sse_parser *sse_parser_free(struct sse_parser *p)
{
        if (!p)
                return NULL;
        strbuf_free(&p->line);
        strbuf_free(&p->data);
        strbuf_free(&p->event);
        strbuf_free(&p->id);
        free(p);
        return NULL;
}

void sse_parser_reset(struct sse_parser *p)
{
        strbuf_reset(&p->line);
        strbuf_reset(&p->data);
        strbuf_reset(&p->event);
        strbuf_reset(&p->id);
        p->has_id = false;
        p->skip_lf = false;
        p->started = false;
        p->bom_seen = 0;
        p->error = 0;
}

static int dispatch(struct sse_parser *p, sse_event_cb cb, void *userdata)
{
        if (p->data.len == 0) {
                /* No data field: per spec, reset the event name and do not dispatch. */
                strbuf_reset(&p->event);
                return 0;
        }
        /* Strip the final '\n' so lines are joined with '\n'. */
        p->data.len--;
        p->data.data[p->data.len] = '\0';
        struct sse_event ev = {
                .event = p->event.data ? p->event.data : "",
                .data = p->data.data,
                .data_len = p->data.len,
                .id = p->has_id ? (p->id.data ? p->id.data : "") : NULL,
        };
        int r = cb ? cb(&ev, userdata) : 0;
        strbuf_reset(&p->data);
        strbuf_reset(&p->event);
        return r;
}

/* Process one complete line (without its terminator). */
static int process_line(struct sse_parser *p, const char *line, size_t len, sse_event_cb cb,
                        void *userdata)
{
        if (len == 0)
                return dispatch(p, cb, userdata);
        if (line[0] == ':')
                return 0; /* comment */

        const char *colon = memchr(line, ':', len);
        size_t nlen = colon ? (size_t)(colon - line) : len;
        const char *value = "";
        size_t vlen = 0;
        if (colon) {
                value = colon + 1;
                vlen = len - nlen - 1;
                if (vlen > 0 && value[0] == ' ') {
                        value++;
                        vlen--;
                }
        }

        if (nlen == 4 && memcmp(line, "data", 4) == 0) {
                if (vlen > SSE_DATA_MAX || p->data.len + vlen > SSE_DATA_MAX)
                        return -E2BIG;
                int r = strbuf_append(&p->data, value, vlen);
                if (r < 0)
                        return r;
                return strbuf_append(&p->data, "\n", 1);
        }
        if (nlen == 5 && memcmp(line, "event", 5) == 0) {
                strbuf_reset(&p->event);
                return strbuf_append(&p->event, value, vlen);
        }
        if (nlen == 2 && memcmp(line, "id", 2) == 0) {
                if (memchr(value, '\0', vlen))
                        return 0; /* spec: ignore ids containing NUL */
                strbuf_reset(&p->id);
                int r = strbuf_append(&p->id, value, vlen);
                if (r < 0)
                        return r;
                p->has_id = true;
                return 0;
        }
        return 0; /* "retry" and unknown fields */
}

static int line_done(struct sse_parser *p, sse_event_cb cb, void *userdata)
{
        int r = process_line(p, p->line.data ? p->line.data : "", p->line.len, cb, userdata);
        strbuf_reset(&p->line);
        return r;
}

int sse_parser_feed(struct sse_parser *p, const void *data, size_t len, sse_event_cb cb,
                    void *userdata)
{
        const unsigned char *s = data;
        size_t i = 0;
        int r;

        if (p->error)
                return p->error;

        /* Skip a UTF-8 BOM at the very start, possibly split across slices. */
        while (!p->started && i < len) {
                if (s[i] == bom[p->bom_seen]) {
                        p->bom_seen++;
                        i++;
                        if (p->bom_seen == sizeof(bom))
                                p->started = true;
                        continue;
                }
                p->started = true;
                if (p->bom_seen > 0) {
                        /* Partial BOM that was not one: those bytes are line content. */
                        r = strbuf_append(&p->line, bom, p->bom_seen);
                        if (r < 0)
                                return (p->error = r);
                }
        }

        while (i < len) {
                if (p->skip_lf) {
                        p->skip_lf = false;
                        if (s[i] == '\n') {
                                i++;
                                continue;
                        }
                }
                /* Find the next line terminator in the rest of the slice. */
                size_t j = i;
                while (j < len && s[j] != '\n' && s[j] != '\r')
                        j++;
                if (j - i > 0) {
                        if (j - i > SSE_LINE_MAX || p->line.len + (j - i) > SSE_LINE_MAX)
                                return (p->error = -E2BIG);
                        r = strbuf_append(&p->line, s + i, j - i);
                        if (r < 0)
                                return (p->error = r);
                }
                if (j == len)
                        break;
                if (s[j] == '\r')
                        p->skip_lf = true;
                i = j + 1;
                r = line_done(p, cb, userdata);
                if (r < 0)
                        return (p->error = r);
        }
        return 0;
}

int sse_parser_finish(struct sse_parser *p, sse_event_cb cb, void *userdata)
{
        int r;

        if (p->error)
                return p->error;
        if (!p->started && p->bom_seen > 0) {
                p->started = true;
                r = strbuf_append(&p->line, bom, p->bom_seen);
                if (r < 0)
                        return (p->error = r);
        }
        if (p->line.len > 0) {
                r = line_done(p, cb, userdata);
                if (r < 0)
                        return (p->error = r);
        }
        p->skip_lf = false;
        r = dispatch(p, cb, userdata);
        if (r < 0)
                return (p->error = r);
        return 0;
}
