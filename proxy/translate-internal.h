/* Helpers shared by the translate-*.c files (not part of the public interface). */
#pragma once

#include <jansson.h>
#include <stdbool.h>

#include "proxy/api-error.h"

/* Fill err as a 400 invalid_request_error naming param; returns -EINVAL. */
int translate_bad(struct api_error *err, const char *param, const char *fmt, ...) _printf_(3, 4);
/* Append/set consuming v (NULL v -> -ENOMEM). */
int translate_append(json_t *a, json_t *v);
int translate_set(json_t *o, const char *key, json_t *v);
/* Is v absent or JSON null? */
static inline bool translate_absent(const json_t *v)
{
        return !v || json_is_null(v);
}

#include <stdbool.h>
#include <stdint.h>

#include "common/strbuf.h"
#include "proxy/sse.h"
#include "proxy/translate.h"
#include "proxy/usage.h"

#define TRANSLATE_MAX_BLOCKS 4096 /* Anthropic content block index / OpenAI tool index bound */
#define TRANSLATE_MAX_PENDING (1024 * 1024) /* O->A: bytes held back while tool calls interleave */

/* OpenAI usage object from our usage struct: prompt/completion/total + cached_tokens details. */
json_t *translate_openai_usage(const struct llm_usage *u);
/* OpenAI tool_calls entry from an Anthropic tool_use block's id, name and input (arguments: input
 * as compact JSON, "{}" when it is not an object). NULL on OOM. */
json_t *translate_openai_tool_call(const char *id, const char *name, const json_t *input);
/* The id of a translated response: o->id when set, else prefix + the upstream "id" ("0" when
 * missing). NULL on OOM. */
char *translate_response_id(const struct translate_response_opts *o, const json_t *resp,
                            const char *prefix);
/* Append "data: <compact json>\n\n" (OpenAI) or "event: NAME\ndata: <json>\n\n" (name non-NULL).
 * Consumes j. */
int translate_emit(struct strbuf *out, const char *name, json_t *j);

struct translate_stream {
        enum translate_dir dir;
        char *id;
        char *model;
        int64_t created;
        bool include_usage;
        struct sse_parser *parser;
        struct strbuf *cb_out; /* output buffer during translate_stream_feed() */
        int cb_error;

        bool started;      /* first chunk / message_start emitted */
        bool done;         /* terminal bytes emitted */
        bool failed;       /* an error event was emitted */
        bool finish_sent;  /* A->O: finish chunk emitted */
        const char *finish_reason; /* client vocabulary, static string */
        struct llm_usage usage;

        /* A->O: Anthropic block index -> tool ordinal + 1 (0 = not a tool block) */
        int *tool_of_block;
        size_t n_tool_of_block;
        int next_tool;

        /* O->A */
        struct rstream *rs;      /* blocks and tool calls (translate-rstream.c); NULL until the
                                  * first chunk */
        size_t rpending_max;     /* cap on bytes buffered for interleaved tool calls;
                                  * 0 -> TRANSLATE_MAX_PENDING (tests set less) */
        bool upstream_finished;  /* a finish_reason was seen */
        const char *upstream_finish; /* OpenAI finish_reason seen (static string) */
};

void translate_rstream_free(struct rstream *rs);
int translate_rstream_event(struct translate_stream *s, const struct sse_event *ev, struct strbuf *out);
/* Close normally (message_delta + message_stop). */
int translate_rstream_close(struct translate_stream *s, struct strbuf *out);
/* Emit a 502 upstream_error event + terminator in the client's shape; returns -EBADMSG. */
int translate_stream_protocol_error(struct translate_stream *s, struct strbuf *out, const char *what);
int translate_stream_emit_error(struct translate_stream *s, const struct api_error *e,
                                struct strbuf *out);
/* Anthropic usage object (input_tokens excludes cache tokens) from our usage struct. */
json_t *translate_anthropic_usage(const struct llm_usage *u);
/* Tool arguments string -> object; unparseable or non-object -> {}. */
json_t *translate_parse_arguments(const char *args);
