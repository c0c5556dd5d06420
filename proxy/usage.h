/* Token usage extraction for budgets and the audit record: from OpenAI and Anthropic bodies,
 * stream chunks/events, and a small observer for streams the proxy relays without translating.
 * Pure: no I/O. Trust level: parses untrusted upstream JSON; negative/absurd counts are clamped. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proxy/api-error.h"
#include "proxy/sse.h"

/* Counts use OpenAI semantics whatever the API: input_tokens INCLUDES cached tokens. */
struct llm_usage {
        int64_t input_tokens;          /* prompt tokens (Anthropic: input + cache_read + cache_creation) */
        int64_t output_tokens;         /* completion tokens */
        int64_t cached_tokens;         /* of input_tokens, read from cache (Anthropic cache_read) */
        int64_t cache_creation_tokens; /* of input_tokens, written to cache (Anthropic only) */
        bool present;                  /* some usage object was seen */
};

static inline int64_t llm_usage_total(const struct llm_usage *u)
{
        return u->input_tokens + u->output_tokens;
}

/* OpenAI: obj is a chat.completion / completion / responses body or a chunk; reads obj.usage
 * (prompt_tokens|input_tokens, completion_tokens|output_tokens,
 * prompt_tokens_details.cached_tokens|input_tokens_details.cached_tokens). Returns 1 and fills
 * *ret when a usage object was present, 0 when absent or null (*ret untouched). */
int usage_from_openai(const json_t *obj, struct llm_usage *ret);

/* Anthropic: obj is a message body, a message_start event (reads message.usage) or a
 * message_delta event (reads usage; output_tokens there is cumulative). Fields present in the
 * object overwrite those in *ret, absent ones are kept, so feeding message_start then
 * message_delta into the same struct yields the final totals. Returns 1 if a usage object was
 * present, 0 otherwise. */
int usage_from_anthropic(const json_t *obj, struct llm_usage *ret);

/* Same from raw body bytes (non-streaming passthrough). Returns 1/0, or -EBADMSG if the body is
 * not a JSON object. */
int usage_from_body(enum llm_api api, const void *body, size_t len, struct llm_usage *ret);

/* Streaming observer for passthrough streams (either API). Feed it the raw bytes relayed to the
 * client (or already-parsed events); it never fails the relay: errors only stop observing. */
struct usage_observer;

#define USAGE_FINISH_MAX 48

struct usage_result {
        struct llm_usage usage;
        char finish_reason[USAGE_FINISH_MAX]; /* as the API said it (OpenAI finish_reason or
                                               * Anthropic stop_reason); "" if none seen */
        bool completed;    /* saw "data: [DONE]" (OpenAI) or message_stop (Anthropic) */
        bool error;        /* saw an error event/chunk */
        bool parse_failed; /* the stream exceeded SSE limits; counts are what was seen before */
};

int usage_observer_new(struct usage_observer **ret, enum llm_api api);
struct usage_observer *usage_observer_free(struct usage_observer *o);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct usage_observer *, usage_observer_free);

/* Raw stream bytes, split anywhere. Always returns 0 (problems are recorded in the result). */
int usage_observer_feed(struct usage_observer *o, const void *data, size_t len);
/* One already-parsed SSE event (if the caller runs its own sse_parser). */
void usage_observer_event(struct usage_observer *o, const struct sse_event *ev);
/* Flush the internal SSE parser (end of stream) and report. Can be called more than once. */
void usage_observer_result(struct usage_observer *o, struct usage_result *ret);
