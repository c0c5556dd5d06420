/* Incremental Server-Sent Events parser (WHATWG "event stream" interpretation) for upstream LLM
 * streams and agent-facing relays. Pure: no I/O. Parses untrusted bytes; every buffer is bounded.
 *
 * Feed arbitrary slices (split anywhere, including between '\r' and '\n'); each complete event is
 * handed to a callback. Lines end in "\n", "\r\n" or "\r". Lines starting with ':' are comments
 * (ignored). "field:value" and "field: value" are both accepted (one leading space is stripped).
 * Fields: "event" (sets the event name), "data" (appended; several data lines are joined with
 * '\n'), "id" (sticky last-event-id, ignored if it contains NUL), "retry" and unknown fields are
 * ignored. A blank line dispatches the event; per the spec an event whose data buffer is empty is
 * not dispatched (e.g. a lone "event: ping" with no data line). A UTF-8 BOM at the very start is
 * skipped. sse_parser_finish() dispatches a last event that was not followed by a blank line. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "common/macro.h"

#define SSE_DATA_MAX (1024 * 1024)          /* one event's joined data; beyond -> -E2BIG */
#define SSE_LINE_MAX (SSE_DATA_MAX + 64)    /* one line incl. the field name; beyond -> -E2BIG */
#define SSE_NAME_MAX 256                    /* event name and id; longer values -> -E2BIG */

struct sse_event {
        const char *event; /* event name, "" when the event had no "event:" field; never NULL */
        const char *data;  /* data lines joined with '\n', NUL-terminated; never NULL */
        size_t data_len;   /* == strlen(data) unless data contains NUL bytes */
        const char *id;    /* last event id seen on this stream, NULL if none ever set */
};

/* Called once per dispatched event. The pointers are valid only during the call. Return < 0 to
 * stop: sse_parser_feed()/sse_parser_finish() return that value and the parser is poisoned
 * (every later call returns the same error), so a callback error is fatal for the stream. */
typedef int (*sse_event_cb)(const struct sse_event *ev, void *userdata);

struct sse_parser;

int sse_parser_new(struct sse_parser **ret);
struct sse_parser *sse_parser_free(struct sse_parser *p); /* accepts NULL, returns NULL */
DEFINE_TRIVIAL_CLEANUP_FUNC(struct sse_parser *, sse_parser_free);

/* Parse len bytes. Returns 0, a callback's negative value, or -E2BIG when a line or an event
 * exceeds the limits above (-ENOMEM on allocation failure). After any error the parser is
 * poisoned: every later call returns the same error (the stream is not trustworthy any more). */
int sse_parser_feed(struct sse_parser *p, const void *data, size_t len, sse_event_cb cb,
                    void *userdata);

/* End of stream: a pending unterminated line is processed, and an event still being collected
 * (no trailing blank line) is dispatched. Idempotent. Returns like sse_parser_feed(). */
int sse_parser_finish(struct sse_parser *p, sse_event_cb cb, void *userdata);

/* Forget any partial line/event (e.g. to reuse the parser for a new stream). Clears poisoning. */
void sse_parser_reset(struct sse_parser *p);
