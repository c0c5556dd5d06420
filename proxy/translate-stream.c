/* Streaming translation object (both directions) and the Anthropic events -> OpenAI chunks state
 * machine (llm-protocols.md 5.4). Trust level: parses untrusted upstream SSE; bounded state,
 * output goes to the caller's bounded strbuf. Pure: no I/O. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/json-util.h"
#include "proxy/translate-internal.h"
#include "proxy/translate.h"

int translate_stream_new(struct translate_stream **ret, enum translate_dir dir,
                         const struct translate_stream_opts *o)
{
        struct translate_stream *s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        s->dir = dir;
        s->created = o ? o->created : 0;
        s->include_usage = o && o->include_usage;
        const char *defid = dir == TRANSLATE_ANTHROPIC_TO_OPENAI ? "chatcmpl-qclaw" : "msg_qclaw";
        s->id = strdup(o && o->id ? o->id : defid);
        s->model = strdup(o && o->model ? o->model : "");
        if (!s->id || !s->model || sse_parser_new(&s->parser) < 0) {
                translate_stream_free(s);
                return -ENOMEM;
        }
        *ret = s;
        return 0;
}

struct translate_stream *translate_stream_free(struct translate_stream *s)
{
        if (!s)
                return NULL;
        free(s->id);
        free(s->model);
        sse_parser_free(s->parser);
        free(s->tool_of_block);
        translate_rstream_free(s->rs);
        free(s);
        return NULL;
}

bool translate_stream_done(const struct translate_stream *s)
{
        return s->done;
}

bool translate_stream_failed(const struct translate_stream *s)
{
        return s->failed;
}

void translate_stream_usage(const struct translate_stream *s, struct llm_usage *ret)
{
        *ret = s->usage;
}

const char *translate_stream_finish_reason(const struct translate_stream *s)
{
        return s->finish_reason;
}

/* ------------------------------------------------------------------------------------------ */
/* Anthropic -> OpenAI */

static json_t *chunk_new(struct translate_stream *s, json_t *delta, const char *finish)
{
        json_t *c = json_pack("{s:s, s:s, s:I, s:s, s:[{s:i, s:o, s:n, s:o}]}", "id", s->id,
                              "object", "chat.completion.chunk", "created", (json_int_t)s->created,
                              "model", s->model, "choices", "index", 0, "delta", delta, "logprobs",
                              "finish_reason", finish ? json_string(finish) : json_null());
        if (c && s->include_usage && json_object_set_new(c, "usage", json_null()) < 0) {
                json_decref(c);
                return NULL;
        }
        return c;
}

static int emit_delta(struct translate_stream *s, struct strbuf *out, json_t *delta,
                      const char *finish)
{
        if (!delta)
                return -ENOMEM;
        return translate_emit(out, NULL, chunk_new(s, delta, finish));
}

static int ensure_started(struct translate_stream *s, struct strbuf *out)
{
        if (s->started)
                return 0;
        s->started = true;
        return emit_delta(s, out, json_pack("{s:s, s:s}", "role", "assistant", "content", ""), NULL);
}

static int emit_done(struct translate_stream *s, struct strbuf *out)
{
        s->done = true;
        return strbuf_appends(out, "data: [DONE]\n\n");
}

/* Error event in the client's shape, then the terminator. */
static int emit_error(struct translate_stream *s, const struct api_error *e, struct strbuf *out)
{
        s->failed = true;
        if (s->dir == TRANSLATE_ANTHROPIC_TO_OPENAI) {
                int r = api_error_stream_event(e, LLM_API_OPENAI, out);
                if (r < 0) {
                        s->done = true;
                        return r;
                }
                return emit_done(s, out);
        }
        s->done = true;
        return api_error_stream_event(e, LLM_API_ANTHROPIC, out);
}

static int protocol_error(struct translate_stream *s, struct strbuf *out, const char *what)
{
        struct api_error e;
        api_error_proxy(&e, API_ERR_UPSTREAM, what, -1);
        int r = emit_error(s, &e, out);
        return r < 0 ? r : -EBADMSG;
}

static int block_index(const json_t *j)
{
        const json_t *v = json_object_get(j, "index");
        if (!json_is_integer(v) || json_integer_value(v) < 0 ||
            json_integer_value(v) >= TRANSLATE_MAX_BLOCKS)
                return -1;
        return (int)json_integer_value(v);
}

static int map_tool_block(struct translate_stream *s, int idx, int ordinal)
{
        if ((size_t)idx >= s->n_tool_of_block) {
                size_t n = MAX((size_t)idx + 1, s->n_tool_of_block * 2);
                n = MIN(n, (size_t)TRANSLATE_MAX_BLOCKS);
                int *p = realloc(s->tool_of_block, n * sizeof(int));
                if (!p)
                        return -ENOMEM;
                memset(p + s->n_tool_of_block, 0, (n - s->n_tool_of_block) * sizeof(int));
                s->tool_of_block = p;
                s->n_tool_of_block = n;
        }
        s->tool_of_block[idx] = ordinal + 1;
        return 0;
}

static int tool_of_block(const struct translate_stream *s, int idx)
{
        if (idx < 0 || (size_t)idx >= s->n_tool_of_block)
                return -1;
        return s->tool_of_block[idx] - 1;
}

static json_t *tool_delta(int k, const char *id, const char *name, const char *args)
{
        json_t *tc = json_pack("{s:i}", "index", k);
        if (!tc)
                return NULL;
        if (id && (json_object_set_new(tc, "id", json_string(id)) < 0 ||
                   json_object_set_new(tc, "type", json_string("function")) < 0))
                goto fail;
        json_t *fn = name ? json_pack("{s:s, s:s}", "name", name, "arguments", args)
                          : json_pack("{s:s}", "arguments", args);
        if (translate_set(tc, "function", fn) < 0)
                goto fail;
        return json_pack("{s:[o]}", "tool_calls", tc);
fail:
        json_decref(tc);
        return NULL;
}

static int on_block_start(struct translate_stream *s, const json_t *j, struct strbuf *out)
{
        int idx = block_index(j);
        const json_t *cb = json_object_get(j, "content_block");
        if (idx < 0 || !json_is_object(cb))
                return protocol_error(s, out, "upstream sent a malformed content_block_start");
        const char *bt = json_get_str(cb, "type", "");
        int r = ensure_started(s, out);
        if (r < 0)
                return r;

        if (strcmp(bt, "tool_use") == 0) {
                const char *id = json_get_str(cb, "id", NULL);
                const char *name = json_get_str(cb, "name", NULL);
                if (!id || !name)
                        return protocol_error(s, out, "upstream sent a tool_use block without id/name");
                if (s->next_tool >= TRANSLATE_MAX_TOOLS || tool_of_block(s, idx) >= 0)
                        return protocol_error(s, out, "upstream sent too many tool calls");
                int k = s->next_tool++;
                if ((r = map_tool_block(s, idx, k)) < 0)
                        return r;
                /* Streaming tool_use starts with input {}; anything else is sent whole now. */
                const json_t *input = json_object_get(cb, "input");
                _cleanup_free_ char *args = NULL;
                if (json_is_object(input) && json_object_size(input) > 0 &&
                    !(args = json_dump_compact(input)))
                        return -ENOMEM;
                return emit_delta(s, out, tool_delta(k, id, name, args ? args : ""), NULL);
        }
        if (strcmp(bt, "text") == 0) {
                const char *t = json_get_str(cb, "text", "");
                if (*t)
                        return emit_delta(s, out, json_pack("{s:s}", "content", t), NULL);
        }
        return 0; /* thinking, server tools: dropped */
}

static int on_block_delta(struct translate_stream *s, const json_t *j, struct strbuf *out)
{
        int idx = block_index(j);
        const json_t *d = json_object_get(j, "delta");
        if (idx < 0 || !json_is_object(d))
                return protocol_error(s, out, "upstream sent a malformed content_block_delta");
        const char *dt = json_get_str(d, "type", "");
        int r = ensure_started(s, out);
        if (r < 0)
                return r;

        if (strcmp(dt, "text_delta") == 0) {
                const json_t *t = json_object_get(d, "text");
                if (!json_is_string(t))
                        return protocol_error(s, out, "upstream sent a malformed text_delta");
                if (json_string_length(t) == 0)
                        return 0;
                return emit_delta(s, out, json_pack("{s:O}", "content", t), NULL);
        }
        if (strcmp(dt, "input_json_delta") == 0) {
                const char *pj = json_get_str(d, "partial_json", NULL);
                int k = tool_of_block(s, idx);
                if (!pj || k < 0)
                        return protocol_error(s, out, "upstream sent a stray input_json_delta");
                if (!*pj)
                        return 0;
                return emit_delta(s, out, tool_delta(k, NULL, NULL, pj), NULL);
        }
        return 0; /* thinking_delta, signature_delta, citations: dropped */
}

static int on_message_delta(struct translate_stream *s, const json_t *j, struct strbuf *out)
{
        usage_from_anthropic(j, &s->usage);
        const json_t *d = json_object_get(j, "delta");
        const char *sr = json_get_str(d, "stop_reason", NULL);
        if (!sr || s->finish_sent)
                return 0;
        int r = ensure_started(s, out);
        if (r < 0)
                return r;
        s->finish_reason = translate_finish_reason_from_anthropic(sr);
        s->finish_sent = true;
        return emit_delta(s, out, json_object(), s->finish_reason);
}

static int on_message_stop(struct translate_stream *s, struct strbuf *out)
{
        int r = ensure_started(s, out);
        if (r < 0)
                return r;
        if (!s->finish_sent) {
                s->finish_reason = "stop";
                s->finish_sent = true;
                if ((r = emit_delta(s, out, json_object(), s->finish_reason)) < 0)
                        return r;
        }
        if (s->include_usage) {
                json_t *c = json_pack("{s:s, s:s, s:I, s:s, s:[], s:o}", "id", s->id, "object",
                                      "chat.completion.chunk", "created", (json_int_t)s->created,
                                      "model", s->model, "choices", "usage",
                                      translate_openai_usage(&s->usage));
                if ((r = translate_emit(out, NULL, c)) < 0)
                        return r;
        }
        return emit_done(s, out);
}

static int astream_event(struct translate_stream *s, const struct sse_event *ev, struct strbuf *out)
{
        if (strcmp(ev->event, "ping") == 0)
                return strbuf_appends(out, ": ping\n\n");

        json_error_t jerr;
        _cleanup_json_ json_t *j = json_loadb(ev->data, ev->data_len, 0, &jerr);
        const char *type = ev->event[0] ? ev->event : json_get_str(j, "type", "");
        static const char *const known[] = { "message_start", "content_block_start",
                                             "content_block_delta", "content_block_stop",
                                             "message_delta", "message_stop", "error", "ping" };
        bool is_known = false;
        for (size_t i = 0; i < ELEMENTSOF(known); i++)
                if (strcmp(type, known[i]) == 0)
                        is_known = true;
        if (!is_known)
                return 0; /* "handle unknown event types gracefully" */
        if (strcmp(type, "ping") == 0)
                return strbuf_appends(out, ": ping\n\n");
        if (strcmp(type, "error") == 0) {
                struct api_error e;
                api_error_from_stream_event(&e, ev->data, ev->data_len);
                return emit_error(s, &e, out);
        }
        if (!json_is_object(j))
                return protocol_error(s, out, "upstream sent malformed event data");

        if (strcmp(type, "message_start") == 0) {
                usage_from_anthropic(j, &s->usage);
                return ensure_started(s, out);
        }
        if (strcmp(type, "content_block_start") == 0)
                return on_block_start(s, j, out);
        if (strcmp(type, "content_block_delta") == 0)
                return on_block_delta(s, j, out);
        if (strcmp(type, "message_delta") == 0)
                return on_message_delta(s, j, out);
        if (strcmp(type, "message_stop") == 0)
                return on_message_stop(s, out);
        return 0; /* content_block_stop */
}

/* ------------------------------------------------------------------------------------------ */

int translate_stream_event(struct translate_stream *s, const struct sse_event *ev, struct strbuf *out)
{
        if (s->done)
                return 0;
        if (s->dir == TRANSLATE_ANTHROPIC_TO_OPENAI)
                return astream_event(s, ev, out);
        return translate_rstream_event(s, ev, out);
}

static int feed_cb(const struct sse_event *ev, void *userdata)
{
        struct translate_stream *s = userdata;
        int r = translate_stream_event(s, ev, s->cb_out);
        if (r < 0) {
                s->cb_error = r;
                return r;
        }
        return 0;
}

static int parse_failed(struct translate_stream *s, int r, struct strbuf *out)
{
        if (s->cb_error)
                return s->cb_error; /* translate_stream_event() already reported/closed */
        if (r == -ENOMEM)
                return r;
        return protocol_error(s, out, "upstream sent an oversized or malformed event stream");
}

int translate_stream_feed(struct translate_stream *s, const void *data, size_t len, struct strbuf *out)
{
        if (s->done)
                return 0;
        s->cb_out = out;
        s->cb_error = 0;
        int r = sse_parser_feed(s->parser, data, len, feed_cb, s);
        s->cb_out = NULL;
        if (r < 0 && !s->done)
                return parse_failed(s, r, out);
        return r < 0 ? (s->cb_error ? s->cb_error : -EBADMSG) : 0;
}

int translate_stream_abort(struct translate_stream *s, const struct api_error *e, struct strbuf *out)
{
        if (s->done)
                return 0;
        return emit_error(s, e, out);
}

int translate_stream_finish(struct translate_stream *s, bool upstream_ended_cleanly, struct strbuf *out)
{
        int r;

        if (s->done)
                return 0;
        /* A clean end may omit the final blank line: dispatch the pending event. After a
         * transport failure a pending event is a fragment: drop it. */
        s->cb_out = out;
        s->cb_error = 0;
        r = upstream_ended_cleanly ? sse_parser_finish(s->parser, feed_cb, s) : 0;
        s->cb_out = NULL;
        if (r < 0 && !s->done)
                r = parse_failed(s, r, out);
        if (s->done)
                return r == -EBADMSG || r >= 0 ? 0 : r;
        if (r < 0)
                return r;
        if (s->dir == TRANSLATE_OPENAI_TO_ANTHROPIC && s->upstream_finished && upstream_ended_cleanly)
                return translate_rstream_close(s, out); /* finish_reason seen, no [DONE]: fine */
        r = protocol_error(s, out, upstream_ended_cleanly ? "upstream stream ended prematurely"
                                                          : "upstream connection failed");
        return r == -EBADMSG ? 0 : r;
}

/* Shared with translate-rstream.c. */
int translate_stream_protocol_error(struct translate_stream *s, struct strbuf *out, const char *what)
{
        return protocol_error(s, out, what);
}

int translate_stream_emit_error(struct translate_stream *s, const struct api_error *e,
                                struct strbuf *out)
{
        return emit_error(s, e, out);
}
