/* OpenAI Chat Completions <-> Anthropic Messages translation (llm-protocols.md 5.2-5.6):
 * requests, non-streaming responses and SSE streams, both directions. Pure: no I/O, no threads.
 * Trust level: requests come from the (untrusted) agent, responses and streams from the
 * upstream; every input is validated and every output buffer is the caller's bounded strbuf.
 *
 *   /v1/chat/completions -> anthropic provider:  translate_request_openai_to_anthropic(),
 *       translate_response_anthropic_to_openai(), translate_stream (TRANSLATE_ANTHROPIC_TO_OPENAI)
 *   /v1/messages -> openai-type provider (Claude Code -> Ollama/vLLM):
 *       translate_request_anthropic_to_openai(), translate_response_openai_to_anthropic(),
 *       translate_stream (TRANSLATE_OPENAI_TO_ANTHROPIC)
 */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/strbuf.h"
#include "proxy/api-error.h"
#include "proxy/sse.h"
#include "proxy/usage.h"

#define TRANSLATE_DEFAULT_MAX_TOKENS 4096
#define TRANSLATE_MAX_MESSAGES 10000   /* more -> 400 */
#define TRANSLATE_MAX_TOOLS 1024       /* tools[] / tool calls per message / tool blocks per stream */

/* ------------------------------------------------------------------------------------------ */
/* Requests */

struct translate_request_opts {
        const char *model;          /* upstream model id that replaces "model" (required) */
        int64_t default_max_tokens; /* OpenAI->Anthropic when the request sets none (the
                                     * provider's default_max_tokens); <= 0 -> 4096 */
};

/* OpenAI chat request -> Anthropic Messages request (table 5.2). *ret is a new object.
 * Returns 0; -EINVAL for an invalid request, with *err filled (400 invalid_request_error, message
 * and param naming the offending field, e.g. "messages[2].tool_calls[0].function.arguments");
 * -ENOMEM. Rejected: not an object, messages missing/empty/not an array, unknown role, bad
 * content parts, n != 1, unparseable tool arguments, nothing but system messages.
 * Dropped silently: logprobs, top_logprobs, logit_bias, presence/frequency_penalty, seed,
 * service_tier, store, metadata, modalities, audio, prediction, response_format,
 * reasoning_effort, stream_options, tools[].function.strict. */
int translate_request_openai_to_anthropic(const json_t *req, const struct translate_request_opts *o,
                                          json_t **ret, struct api_error *err);

/* Anthropic Messages request -> OpenAI chat request (reverse direction). system -> system
 * message; text/image blocks -> content / parts; tool_use -> assistant tool_calls (arguments =
 * compact JSON of input); tool_result -> role "tool" messages (placed before any remaining user
 * text of the same turn); tools[].input_schema -> function.parameters; tool_choice
 * (auto/any/tool/none, disable_parallel_tool_use -> parallel_tool_calls:false); stop_sequences ->
 * stop; max_tokens, temperature, top_p, top_k (extension); stream -> stream +
 * stream_options.include_usage:true; metadata.user_id -> user. thinking blocks dropped.
 * Returns like translate_request_openai_to_anthropic(). */
int translate_request_anthropic_to_openai(const json_t *req, const struct translate_request_opts *o,
                                          json_t **ret, struct api_error *err);

/* Read "stream" and "stream_options.include_usage" of an OpenAI request (false when absent). */
void translate_openai_stream_flags(const json_t *req, bool *ret_stream, bool *ret_include_usage);

/* ------------------------------------------------------------------------------------------ */
/* Non-streaming responses */

struct translate_response_opts {
        const char *id;    /* id to report; NULL -> derived from the upstream id
                            * ("chatcmpl-<msg id>" / "msg_<chatcmpl id>") */
        const char *model; /* the model name the caller asked for (reported back); NULL -> upstream's */
        int64_t created;   /* unix seconds for OpenAI "created" */
};

/* Anthropic message -> OpenAI chat.completion (table 5.3). thinking blocks dropped; text blocks
 * concatenated (content null when none); tool_use -> tool_calls with arguments = JSON string of
 * input; stop_reason mapped; usage with prompt_tokens_details.cached_tokens. ret_usage (may be
 * NULL) receives the usage. Returns 0, -EBADMSG if resp is not an Anthropic message, -ENOMEM. */
int translate_response_anthropic_to_openai(const json_t *resp, const struct translate_response_opts *o,
                                           json_t **ret, struct llm_usage *ret_usage);

/* OpenAI chat.completion -> Anthropic message. choices[0] only. finish_reason -> stop_reason
 * (stop->end_turn, length->max_tokens, tool_calls/function_call->tool_use,
 * content_filter->refusal); tool_calls -> tool_use blocks (arguments parsed; unparseable -> {}).
 * Returns 0, -EBADMSG, -ENOMEM. */
int translate_response_openai_to_anthropic(const json_t *resp, const struct translate_response_opts *o,
                                           json_t **ret, struct llm_usage *ret_usage);

/* Value maps (never NULL; unknown -> "stop" / "end_turn"). */
const char *translate_finish_reason_from_anthropic(const char *stop_reason);
const char *translate_stop_reason_from_openai(const char *finish_reason);

/* ------------------------------------------------------------------------------------------ */
/* Streams */

enum translate_dir {
        TRANSLATE_ANTHROPIC_TO_OPENAI, /* upstream Anthropic events -> client OpenAI chunks */
        TRANSLATE_OPENAI_TO_ANTHROPIC, /* upstream OpenAI chunks -> client Anthropic events */
};

struct translate_stream_opts {
        const char *id;      /* chunk/message id for the client ("chatcmpl-..." / "msg_..."); NULL -> derived */
        const char *model;   /* model name the caller asked for */
        int64_t created;     /* unix seconds (OpenAI chunks) */
        bool include_usage;  /* OpenAI client sent stream_options.include_usage: final usage chunk
                              * with "choices":[] and "usage":null on all other chunks */
};

struct translate_stream;

int translate_stream_new(struct translate_stream **ret, enum translate_dir dir,
                         const struct translate_stream_opts *o);
struct translate_stream *translate_stream_free(struct translate_stream *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct translate_stream *, translate_stream_free);

/* Feed one parsed upstream SSE event; appends the client bytes (zero or more complete SSE events)
 * to out. Anthropic->OpenAI follows the 5.4 state machine: message_start -> role chunk;
 * text_delta -> content; tool_use start -> tool_calls[{index: ordinal, id, type, function:{name,
 * arguments:""}}]; input_json_delta -> argument pieces; message_delta -> finish chunk;
 * message_stop -> [usage chunk] + "data: [DONE]"; ping -> ": ping"; error -> error chunk +
 * [DONE]; unknown events ignored. OpenAI->Anthropic: message_start on the first chunk, a
 * content block per text run / tool call (content_block_start/delta/stop), message_delta with
 * stop_reason and usage, message_stop on "[DONE]" (or the usage chunk after a finish_reason);
 * an error chunk -> "event: error".
 * Returns 0; -EBADMSG when the upstream violated the protocol (bad JSON in a known event, too
 * many tool calls): the stream is then closed properly in out (error event + terminator) and
 * marked done; -E2BIG/-ENOMEM when out cannot take the bytes. Events after done are ignored. */
int translate_stream_event(struct translate_stream *s, const struct sse_event *ev, struct strbuf *out);

/* Raw upstream bytes, split anywhere: runs an internal sse_parser and translate_stream_event().
 * An SSE limit violation is handled like -EBADMSG above. */
int translate_stream_feed(struct translate_stream *s, const void *data, size_t len, struct strbuf *out);

/* Upstream finished (upstream_ended_cleanly = transport completed without error). On a clean end
 * the internal parser is flushed (a last event without its blank line is dispatched); after a
 * transport failure a pending partial event is dropped. Then: if the stream already ended properly, nothing more; otherwise a
 * well-formed error event (502 upstream_error: "upstream stream ended prematurely" or "upstream
 * connection failed") and the terminator. OpenAI->Anthropic: a stream that reported a
 * finish_reason but lacked "[DONE]" is closed normally. Idempotent. Returns 0 (a protocol
 * problem is not an error here: check translate_stream_failed()), or -E2BIG/-ENOMEM. */
int translate_stream_finish(struct translate_stream *s, bool upstream_ended_cleanly, struct strbuf *out);

/* The proxy aborts the stream (timeout, limit): error event in the client's shape + terminator. */
int translate_stream_abort(struct translate_stream *s, const struct api_error *e, struct strbuf *out);

/* Terminal bytes have been produced; the caller may stop reading upstream. */
bool translate_stream_done(const struct translate_stream *s);
/* An error event was produced (upstream error event, truncation, abort). */
bool translate_stream_failed(const struct translate_stream *s);
/* Accumulated usage (OpenAI semantics, see usage.h) for budgets and audit. */
void translate_stream_usage(const struct translate_stream *s, struct llm_usage *ret);
/* Finish reason in the CLIENT's vocabulary (OpenAI finish_reason or Anthropic stop_reason);
 * NULL if none yet. */
const char *translate_stream_finish_reason(const struct translate_stream *s);
