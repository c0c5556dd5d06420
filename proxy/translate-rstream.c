/* OpenAI chunk stream -> Anthropic event stream (reverse direction, Claude Code -> Ollama/vLLM):
 * message_start, content_block_start/delta/stop per text run and tool call, message_delta,
 * message_stop. Trust level: parses untrusted upstream chunks; bounded state. Pure: no I/O. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/json-util.h"
#include "proxy/translate-internal.h"
#include "proxy/translate.h"

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

static int close_block(struct translate_stream *s, struct strbuf *out)
{
        if (s->open == RBLOCK_NONE)
                return 0;
        s->open = RBLOCK_NONE;
        return emit(out, "content_block_stop",
                    json_pack("{s:s, s:i}", "type", "content_block_stop", "index", s->open_index));
}

static int open_block(struct translate_stream *s, enum rblock kind, json_t *block, struct strbuf *out)
{
        int r = close_block(s, out);
        if (r < 0) {
                json_decref(block);
                return r;
        }
        if (s->next_block >= TRANSLATE_MAX_BLOCKS) {
                json_decref(block);
                return translate_stream_protocol_error(s, out, "upstream sent too many content blocks");
        }
        s->open = kind;
        s->open_index = s->next_block++;
        return emit(out, "content_block_start",
                    json_pack("{s:s, s:i, s:o}", "type", "content_block_start", "index",
                              s->open_index, "content_block", block));
}

static int on_text(struct translate_stream *s, const json_t *t, struct strbuf *out)
{
        int r;
        if (s->open != RBLOCK_TEXT &&
            (r = open_block(s, RBLOCK_TEXT, json_pack("{s:s, s:s}", "type", "text", "text", ""),
                            out)) < 0)
                return r;
        return emit(out, "content_block_delta",
                    json_pack("{s:s, s:i, s:{s:s, s:O}}", "type", "content_block_delta", "index",
                              s->open_index, "delta", "type", "text_delta", "text", t));
}

static int tool_block(const struct translate_stream *s, int tidx)
{
        if (tidx < 0 || (size_t)tidx >= s->n_block_of_tool)
                return -1;
        return s->block_of_tool[tidx] - 1;
}

static int set_tool_block(struct translate_stream *s, int tidx, int block, const char *id)
{
        if ((size_t)tidx >= s->n_block_of_tool) {
                size_t n = MIN(MAX((size_t)tidx + 1, s->n_block_of_tool * 2),
                               (size_t)TRANSLATE_MAX_TOOLS);
                char **ids = realloc(s->id_of_tool, n * sizeof(char *));
                if (!ids)
                        return -ENOMEM;
                s->id_of_tool = ids;
                memset(ids + s->n_block_of_tool, 0, (n - s->n_block_of_tool) * sizeof(char *));
                int *p = realloc(s->block_of_tool, n * sizeof(int));
                if (!p)
                        return -ENOMEM;
                memset(p + s->n_block_of_tool, 0, (n - s->n_block_of_tool) * sizeof(int));
                s->block_of_tool = p;
                s->n_block_of_tool = n;
        }
        char *dup = strdup(id);
        if (!dup)
                return -ENOMEM;
        free(s->id_of_tool[tidx]);
        s->id_of_tool[tidx] = dup;
        s->block_of_tool[tidx] = block + 1;
        return 0;
}

static int on_tool_call(struct translate_stream *s, const json_t *tc, size_t pos, struct strbuf *out)
{
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
        else if (json_is_object(args)) /* Ollama-style whole object */
                piece = argbuf = json_dump_compact(args);

        /* A new tool call begins when the index is new, when the id differs from the one this
         * index had (servers that number every call 0), or when a name comes without an id (a
         * continuation never repeats the name). */
        int block = tool_block(s, tidx);
        bool has_id = id && *id;
        if (block < 0 || (has_id && strcmp(id, s->id_of_tool[tidx]) != 0) ||
            (!has_id && name && *name)) {
                if (!name || !*name)
                        return translate_stream_protocol_error(s, out,
                                                               "upstream sent a tool call without a name");
                char gen[32];
                snprintf(gen, sizeof(gen), "toolu_%d", s->next_block);
                r = open_block(s, RBLOCK_TOOL,
                               json_pack("{s:s, s:s, s:s, s:{}}", "type", "tool_use", "id",
                                         has_id ? id : gen, "name", name, "input"),
                               out);
                if (r < 0)
                        return r;
                if ((r = set_tool_block(s, tidx, s->open_index, has_id ? id : gen)) < 0)
                        return r;
                block = s->open_index;
        }
        if (!piece || !*piece)
                return 0;
        return emit(out, "content_block_delta",
                    json_pack("{s:s, s:i, s:{s:s, s:s}}", "type", "content_block_delta", "index",
                              block, "delta", "type", "input_json_delta", "partial_json", piece));
}

int translate_rstream_close(struct translate_stream *s, struct strbuf *out)
{
        int r;
        if ((r = ensure_started(s, out)) < 0 || (r = close_block(s, out)) < 0)
                return r;
        const char *sr = translate_stop_reason_from_openai(s->upstream_finish);
        if (s->upstream_finish && strcmp(s->upstream_finish, "stop") == 0 && s->n_block_of_tool > 0)
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

        if ((r = ensure_started(s, out)) < 0)
                return r;
        usage_from_openai(j, &s->usage);

        const json_t *choice = json_array_get(json_object_get(j, "choices"), 0);
        if (!json_is_object(choice))
                return 0; /* usage-only chunk */
        const json_t *delta = json_object_get(choice, "delta");
        const json_t *text = json_object_get(delta, "content");
        if (json_is_string(text) && json_string_length(text) > 0 && (r = on_text(s, text, out)) < 0)
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
