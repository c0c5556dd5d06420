/* OpenAI chunk stream -> Anthropic event stream (reverse direction, Claude Code -> Ollama/vLLM):
 * message_start, content_block_start/delta/stop per text run and tool call, message_delta,
 * message_stop. Trust level: parses untrusted upstream chunks; bounded state. Pure: no I/O. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/json-util.h"
#include "proxy/translate-internal.h"
#include "proxy/translate.h"

/* Anthropic allows one open content block at a time, indexes strictly increasing, each block's
 * deltas between its start and its stop. An OpenAI upstream may interleave the argument pieces of
 * parallel tool calls (tool_calls index 0, 1, 0, ...). So the open tool block stays open until its
 * arguments form a balanced JSON value (or a new call takes over its index); a block that begins
 * meanwhile waits in a FIFO with its bytes buffered (at most rpending_max bytes in all, else an
 * error event ends the stream) and is emitted whole, in order, once the blocks before it are done.
 * Upstreams that send calls one after another (OpenAI, vLLM, Ollama) finish a call's arguments
 * before the next call begins: nothing waits, everything streams as it arrives. */

struct rblk {             /* a content block not yet stopped: the open one or a queued one */
        bool tool;
        int tidx;         /* tool: its OpenAI index */
        char *id;         /* tool: upstream id; NULL -> "toolu_<block index>" */
        char *name;       /* tool */
        struct strbuf buf; /* queued: argument / text bytes not yet sent */
        size_t held;      /* bytes of this block counted in rstream.held while queued */
        int depth;        /* tool: JSON nesting over all argument bytes so far */
        bool in_str, esc, value_seen;
        bool superseded;  /* a later call took its index: no more pieces can reach it */
};

struct rslot {            /* OpenAI tool index -> its latest call */
        char *id;         /* that call's upstream id ("" when it had none); NULL: index unused */
        struct rblk *blk; /* open or queued; NULL once its block was stopped */
};

struct rstream {
        struct rblk *open; /* the open block, NULL when none */
        int open_index;
        int next_block;    /* next Anthropic block index */
        struct rblk **queue; /* blocks waiting for the open one to complete: [q_head, q_len) */
        size_t q_head, q_len, q_cap;
        size_t held;       /* queued blocks' bytes + slot ids, against the cap */
        struct rslot *slots;
        size_t n_slots;
        bool any_tool;
};

static struct rblk *rblk_free(struct rblk *b)
{
        if (!b)
                return NULL;
        free(b->id);
        free(b->name);
        strbuf_free(&b->buf);
        free(b);
        return NULL;
}

void translate_rstream_free(struct rstream *rs)
{
        if (!rs)
                return;
        rblk_free(rs->open);
        for (size_t i = rs->q_head; i < rs->q_len; i++)
                rblk_free(rs->queue[i]);
        free(rs->queue);
        for (size_t i = 0; i < rs->n_slots; i++)
                free(rs->slots[i].id);
        free(rs->slots);
        free(rs);
}

static int emit(struct strbuf *out, const char *name, json_t *j)
{
        return translate_emit(out, name, j);
}

static int ensure_started(struct translate_stream *s, struct strbuf *out)
{
        if (s->started)
                return 0;
        s->started = true;
        return emit(out, "message_start",
                    json_pack("{s:s, s:{s:s, s:s, s:s, s:[], s:s, s:n, s:n, s:{s:i, s:i}}}", "type",
                              "message_start", "message", "id", s->id, "type", "message", "role",
                              "assistant", "content", "model", s->model, "stop_reason",
                              "stop_sequence", "usage", "input_tokens", 0, "output_tokens", 0));
}

static size_t pending_max(const struct translate_stream *s)
{
        return s->rpending_max ? s->rpending_max : TRANSLATE_MAX_PENDING;
}

/* Count n more buffered bytes; past the cap the stream ends with an error event. */
static int hold(struct translate_stream *s, size_t n, struct strbuf *out)
{
        s->rs->held += n;
        if (s->rs->held > pending_max(s))
                return translate_stream_protocol_error(
                        s, out, "upstream interleaved tool calls beyond the proxy's buffer limit");
        return 0;
}

/* Track the JSON nesting of a tool call's arguments (strings and escapes skipped). */
static void scan_args(struct rblk *b, const char *p, size_t n)
{
        for (; n > 0; p++, n--) {
                if (b->in_str) {
                        if (b->esc)
                                b->esc = false;
                        else if (*p == '\\')
                                b->esc = true;
                        else if (*p == '"')
                                b->in_str = false;
                } else if (*p == '"') {
                        b->in_str = true;
                } else if (*p == '{' || *p == '[') {
                        if (b->depth < INT_MAX)
                                b->depth++;
                } else if ((*p == '}' || *p == ']') && b->depth > 0) {
                        if (--b->depth == 0)
                                b->value_seen = true;
                }
        }
}

/* Can no more pieces be expected for b? Text: yes (more text makes a new block). Tool: once its
 * arguments are a balanced object/array, or a new call took its index. */
static bool blk_complete(const struct rblk *b)
{
        return !b->tool || b->superseded || (b->value_seen && b->depth == 0 && !b->in_str);
}

static bool queue_empty(const struct rstream *rs)
{
        return rs->q_head == rs->q_len;
}

/* May a new block be started right now (nothing waits, the open block is done)? */
static bool can_start(const struct rstream *rs)
{
        return queue_empty(rs) && (!rs->open || blk_complete(rs->open));
}

static int close_open(struct translate_stream *s, struct strbuf *out)
{
        struct rstream *rs = s->rs;
        struct rblk *b = rs->open;
        if (!b)
                return 0;
        rs->open = NULL;
        if (b->tool && rs->slots[b->tidx].blk == b)
                rs->slots[b->tidx].blk = NULL;
        rblk_free(b);
        return emit(out, "content_block_stop",
                    json_pack("{s:s, s:i}", "type", "content_block_stop", "index", rs->open_index));
}

/* Open b (owned by the stream from now on) as the next block; the previous one is closed. */
static int start_block(struct translate_stream *s, struct rblk *b, struct strbuf *out)
{
        struct rstream *rs = s->rs;
        int r = close_open(s, out);
        rs->open = b;
        if (r < 0)
                return r;
        if (rs->next_block >= TRANSLATE_MAX_BLOCKS) /* enqueue() keeps us below */
                return translate_stream_protocol_error(s, out,
                                                       "upstream sent too many content blocks");
        rs->open_index = rs->next_block++;
        json_t *cb;
        if (b->tool) {
                char gen[32];
                snprintf(gen, sizeof(gen), "toolu_%d", rs->open_index);
                cb = json_pack("{s:s, s:s, s:s, s:{}}", "type", "tool_use", "id",
                               b->id ? b->id : gen, "name", b->name, "input");
        } else {
                cb = json_pack("{s:s, s:s}", "type", "text", "text", "");
        }
        return emit(out, "content_block_start",
                    json_pack("{s:s, s:i, s:o}", "type", "content_block_start", "index",
                              rs->open_index, "content_block", cb));
}

/* A delta into the open block. */
static int emit_delta(struct translate_stream *s, const char *p, size_t n, struct strbuf *out)
{
        bool tool = s->rs->open->tool;
        json_t *v = json_stringn(p, n);
        if (!v)
                return -ENOMEM;
        return emit(out, "content_block_delta",
                    json_pack("{s:s, s:i, s:{s:s, s:o}}", "type", "content_block_delta", "index",
                              s->rs->open_index, "delta", "type",
                              tool ? "input_json_delta" : "text_delta",
                              tool ? "partial_json" : "text", v));
}

static int enqueue(struct translate_stream *s, struct rblk *b, struct strbuf *out)
{
        struct rstream *rs = s->rs;
        if ((size_t)rs->next_block + (rs->q_len - rs->q_head) >= TRANSLATE_MAX_BLOCKS) {
                rblk_free(b);
                return translate_stream_protocol_error(s, out,
                                                       "upstream sent too many content blocks");
        }
        if (rs->q_len == rs->q_cap && rs->q_head > 0) {
                memmove(rs->queue, rs->queue + rs->q_head,
                        (rs->q_len - rs->q_head) * sizeof(*rs->queue));
                rs->q_len -= rs->q_head;
                rs->q_head = 0;
        }
        if (rs->q_len == rs->q_cap) {
                size_t n = MIN(MAX(rs->q_cap * 2, (size_t)8), (size_t)TRANSLATE_MAX_BLOCKS);
                struct rblk **q = realloc(rs->queue, n * sizeof(*q));
                if (!q) {
                        rblk_free(b);
                        return -ENOMEM;
                }
                rs->queue = q;
                rs->q_cap = n;
        }
        rs->queue[rs->q_len++] = b;
        b->held = (b->id ? strlen(b->id) : 0) + (b->name ? strlen(b->name) : 0);
        return hold(s, b->held, out);
}

/* Bytes for a queued block. */
static int buffer(struct translate_stream *s, struct rblk *b, const char *p, size_t n,
                  struct strbuf *out)
{
        int r = hold(s, n, out);
        if (r < 0)
                return r;
        b->held += n;
        return strbuf_append(&b->buf, p, n);
}

/* While the open block is complete (always when force), stop it and start the next queued block
 * with its buffered bytes. */
static int advance(struct translate_stream *s, bool force, struct strbuf *out)
{
        struct rstream *rs = s->rs;
        int r;
        while (!queue_empty(rs) && (force || !rs->open || blk_complete(rs->open))) {
                struct rblk *b = rs->queue[rs->q_head++];
                rs->held -= b->held;
                b->held = 0;
                if ((r = start_block(s, b, out)) < 0)
                        return r;
                if (b->buf.len > 0 && (r = emit_delta(s, b->buf.data, b->buf.len, out)) < 0)
                        return r;
                strbuf_free(&b->buf);
        }
        if (queue_empty(rs))
                rs->q_head = rs->q_len = 0;
        return 0;
}

static int on_text(struct translate_stream *s, const char *t, size_t n, struct strbuf *out)
{
        struct rstream *rs = s->rs;
        int r;
        if (rs->open && !rs->open->tool && queue_empty(rs))
                return emit_delta(s, t, n, out);
        struct rblk *b = queue_empty(rs) ? NULL : rs->queue[rs->q_len - 1];
        if (!b || b->tool) {
                if (!(b = calloc(1, sizeof(*b))))
                        return -ENOMEM;
                b->buf = (struct strbuf)STRBUF_INIT(pending_max(s));
                if (can_start(rs)) {
                        if ((r = start_block(s, b, out)) < 0)
                                return r;
                        return emit_delta(s, t, n, out);
                }
                if ((r = enqueue(s, b, out)) < 0)
                        return r;
        }
        return buffer(s, b, t, n, out);
}

static int grow_slots(struct rstream *rs, int tidx)
{
        if ((size_t)tidx < rs->n_slots)
                return 0;
        size_t n = MIN(MAX((size_t)tidx + 1, rs->n_slots * 2), (size_t)TRANSLATE_MAX_TOOLS);
        struct rslot *p = realloc(rs->slots, n * sizeof(*p));
        if (!p)
                return -ENOMEM;
        memset(p + rs->n_slots, 0, (n - rs->n_slots) * sizeof(*p));
        rs->slots = p;
        rs->n_slots = n;
        return 0;
}

/* A new tool call at index tidx: a block of its own, started now or queued. */
static int new_call(struct translate_stream *s, int tidx, const char *id, const char *name,
                    struct strbuf *out)
{
        struct rstream *rs = s->rs;
        struct rslot *sl = &rs->slots[tidx];
        struct rblk *b = calloc(1, sizeof(*b));
        char *sid = strdup(id ? id : "");
        if (!b || !sid || (id && !(b->id = strdup(id))) || !(b->name = strdup(name))) {
                rblk_free(b);
                free(sid);
                return -ENOMEM;
        }
        b->tool = true;
        b->tidx = tidx;
        b->buf = (struct strbuf)STRBUF_INIT(pending_max(s));
        if (sl->blk)
                sl->blk->superseded = true;
        if (sl->id)
                rs->held -= strlen(sl->id);
        free(sl->id);
        sl->id = sid;
        sl->blk = b;
        rs->any_tool = true;
        int r = hold(s, strlen(sid), out);
        if (r < 0) {
                rblk_free(b);
                sl->blk = NULL;
                return r;
        }
        if (can_start(rs))
                return start_block(s, b, out);
        return enqueue(s, b, out);
}

static int on_tool_call(struct translate_stream *s, const json_t *tc, size_t pos, struct strbuf *out)
{
        struct rstream *rs = s->rs;
        int r;
        const json_t *vi = json_object_get(tc, "index");
        json_int_t ti = json_is_integer(vi) ? json_integer_value(vi) : (json_int_t)pos;
        if (ti < 0 || ti >= TRANSLATE_MAX_TOOLS)
                return translate_stream_protocol_error(s, out, "upstream sent a bad tool call index");
        int tidx = (int)ti;
        const json_t *fn = json_object_get(tc, "function");
        const char *id = json_get_str(tc, "id", NULL);
        const char *name = json_get_str(fn, "name", NULL);
        const json_t *args = json_object_get(fn, "arguments");
        _cleanup_free_ char *argbuf = NULL;
        const char *piece = NULL;
        if (json_is_string(args))
                piece = json_string_value(args);
        else if (json_is_object(args) && !(piece = argbuf = json_dump_compact(args)))
                return -ENOMEM; /* Ollama-style whole object */
        if ((r = grow_slots(rs, tidx)) < 0)
                return r;

        /* A new tool call begins when the index is new, when the id differs from the one this
         * index had (servers that number every call 0), or when a name comes without an id (a
         * continuation never repeats the name). */
        struct rslot *sl = &rs->slots[tidx];
        bool has_id = id && *id;
        if (!sl->id || (has_id && strcmp(id, sl->id) != 0) || (!has_id && name && *name)) {
                if (!name || !*name)
                        return translate_stream_protocol_error(s, out,
                                                               "upstream sent a tool call without a name");
                if ((r = new_call(s, tidx, has_id ? id : NULL, name, out)) < 0)
                        return r;
        }
        size_t n = piece ? strlen(piece) : 0;
        struct rblk *b = sl->blk;
        if (n > 0 && !b)
                return translate_stream_protocol_error(
                        s, out, "upstream sent tool call arguments after the call had ended");
        if (n > 0) {
                scan_args(b, piece, n);
                r = b == rs->open ? emit_delta(s, piece, n, out) : buffer(s, b, piece, n, out);
                if (r < 0)
                        return r;
        }
        /* Superseded or now complete: queued blocks may follow. */
        return advance(s, false, out);
}

int translate_rstream_close(struct translate_stream *s, struct strbuf *out)
{
        int r;
        if ((r = ensure_started(s, out)) < 0)
                return r;
        if (s->rs && ((r = advance(s, true, out)) < 0 || (r = close_open(s, out)) < 0))
                return r;
        const char *sr = translate_stop_reason_from_openai(s->upstream_finish);
        if (s->upstream_finish && strcmp(s->upstream_finish, "stop") == 0 && s->rs &&
            s->rs->any_tool)
                sr = "tool_use";
        s->finish_reason = sr;
        json_t *u = translate_anthropic_usage(&s->usage);
        r = emit(out, "message_delta",
                 json_pack("{s:s, s:{s:s, s:n}, s:o}", "type", "message_delta", "delta",
                           "stop_reason", sr, "stop_sequence", "usage", u));
        if (r < 0)
                return r;
        s->done = true;
        return emit(out, "message_stop", json_pack("{s:s}", "type", "message_stop"));
}

int translate_rstream_event(struct translate_stream *s, const struct sse_event *ev, struct strbuf *out)
{
        int r;

        if (strcmp(ev->data, "[DONE]") == 0)
                return translate_rstream_close(s, out);

        json_error_t jerr;
        _cleanup_json_ json_t *j = json_loadb(ev->data, ev->data_len, 0, &jerr);
        if (!json_is_object(j))
                return translate_stream_protocol_error(s, out, "upstream sent malformed chunk data");
        const json_t *e = json_object_get(j, "error");
        if (e && !json_is_null(e)) {
                struct api_error ae;
                api_error_from_stream_event(&ae, ev->data, ev->data_len);
                return translate_stream_emit_error(s, &ae, out);
        }

        if (!s->rs && !(s->rs = calloc(1, sizeof(*s->rs))))
                return -ENOMEM;
        if ((r = ensure_started(s, out)) < 0)
                return r;
        usage_from_openai(j, &s->usage);

        const json_t *choice = json_array_get(json_object_get(j, "choices"), 0);
        if (!json_is_object(choice))
                return 0; /* usage-only chunk */
        const json_t *delta = json_object_get(choice, "delta");
        const json_t *text = json_object_get(delta, "content");
        if (json_is_string(text) && json_string_length(text) > 0 &&
            (r = on_text(s, json_string_value(text), json_string_length(text), out)) < 0)
                return r;
        const json_t *calls = json_object_get(delta, "tool_calls");
        size_t i;
        const json_t *tc;
        json_array_foreach(calls, i, tc)
                if ((r = on_tool_call(s, tc, i, out)) < 0)
                        return r;

        const char *fr = json_get_str(choice, "finish_reason", NULL);
        if (fr) {
                static const char *const known[] = { "stop", "length", "tool_calls",
                                                     "function_call", "content_filter" };
                s->upstream_finish = "stop";
                for (size_t k = 0; k < ELEMENTSOF(known); k++)
                        if (strcmp(fr, known[k]) == 0)
                                s->upstream_finish = known[k];
                s->upstream_finished = true;
        }
        return 0;
}
