/* API-shaped errors: one internal description rendered as an OpenAI or Anthropic error body,
 * proxy-originated errors (llm-protocols.md 5.5 table), mapping of upstream errors into the
 * caller's API shape, and mid-stream error events. Pure: no I/O.
 * Trust level: upstream error bodies are untrusted; their text is bounded and, for credential
 * failures, never copied. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/strbuf.h"

/* Which wire API a body/stream speaks. Shared by translate.h and usage.h. */
enum llm_api {
        LLM_API_OPENAI,    /* Chat Completions (and OpenAI-compatible: Ollama /v1, vLLM, ...) */
        LLM_API_ANTHROPIC, /* Messages */
};

enum api_error_kind {
        API_ERROR_INVALID_REQUEST, /* 400 */
        API_ERROR_AUTH,            /* 401 */
        API_ERROR_PERMISSION,      /* 403 */
        API_ERROR_NOT_FOUND,       /* 404 */
        API_ERROR_TOO_LARGE,       /* 413 */
        API_ERROR_RATE_LIMIT,      /* 429 */
        API_ERROR_QUOTA,           /* 429, budget exhausted */
        API_ERROR_UPSTREAM,        /* 502 */
        API_ERROR_TIMEOUT,         /* 504 */
        API_ERROR_OVERLOADED,      /* 503 (upstream 529) */
        API_ERROR_SERVER,          /* 500 */
};

#define API_ERROR_MESSAGE_MAX 512
#define API_ERROR_FIELD_MAX 64

struct api_error {
        int status;                            /* HTTP status to send */
        enum api_error_kind kind;
        char message[API_ERROR_MESSAGE_MAX];   /* human text, "" -> a default per kind */
        char code[API_ERROR_FIELD_MAX];        /* OpenAI "code", "" -> null */
        char param[128];                       /* OpenAI "param", "" -> null */
        /* Optional explicit "type" used only when rendering in the API named by type_api (e.g.
         * OpenAI "requests"/"tokens" for rate limits, an upstream's own type kept verbatim).
         * "" -> derived from kind for both shapes. */
        char type[API_ERROR_FIELD_MAX];
        enum llm_api type_api;
        /* Headers the caller should set on the HTTP response: */
        char retry_after[40];                  /* "retry-after" value, "" -> none */
        int64_t retry_after_ms;                /* "retry-after-ms", < 0 -> none */
        bool no_retry;                         /* "x-should-retry: false" */
        /* Upstream rejected the proxy's own credentials (401/403): alert the admin. The message
         * is generic and contains nothing from the upstream body. */
        bool upstream_auth_failure;
};

/* Proxy-originated cases (llm-protocols.md 5.5, last table). */
enum api_error_case {
        API_ERR_BAD_TOKEN,         /* 401 invalid_request_error / invalid_api_key */
        API_ERR_MODEL_NOT_ALLOWED, /* 403 permission_error / model_not_allowed, no_retry */
        API_ERR_TOOL_NOT_ALLOWED,  /* 403 permission_error / tool_not_allowed, no_retry */
        API_ERR_MODEL_NOT_FOUND,   /* 404 invalid_request_error / model_not_found */
        API_ERR_BUDGET,            /* 429 insufficient_quota / insufficient_quota, no_retry */
        API_ERR_RATE_REQUESTS,     /* 429 requests / rate_limit_exceeded (+ retry-after) */
        API_ERR_RATE_TOKENS,       /* 429 tokens / rate_limit_exceeded (+ retry-after) */
        API_ERR_BAD_REQUEST,       /* 400 invalid_request_error (code null) */
        API_ERR_TOO_LARGE,         /* 413 invalid_request_error / request_too_large */
        API_ERR_UPSTREAM,          /* 502 server_error / upstream_error */
        API_ERR_TIMEOUT,           /* 504 server_error / timeout */
        API_ERR_UNAVAILABLE,       /* 503 server_error / service_unavailable (e.g. audit down) */
        API_ERR_NOT_IMPLEMENTED,   /* 404 invalid_request_error / unknown_url (endpoint) */
        API_ERR_METHOD,            /* 405 invalid_request_error / method_not_allowed */
        _API_ERR_CASE_MAX,
};

/* Fill *e for a proxy-originated case. message may be NULL (default text per case) and is
 * truncated to fit. retry_after_ms < 0 = none; for the rate cases it also sets retry_after to the
 * value in whole seconds, rounded up. Never fails. */
void api_error_proxy(struct api_error *e, enum api_error_case c, const char *message,
                     int64_t retry_after_ms);

/* Generic constructor: status and type derive from kind; message is printf-style (truncated). */
void api_error_set(struct api_error *e, enum api_error_kind kind, const char *code,
                   const char *param, const char *fmt, ...) _printf_(5, 6);

/* Map an upstream error response (status + raw body from either API; body may be NULL/garbage)
 * into *e for replying in any shape (render with api_error_body()):
 *   - status kept, except 529 -> 503; a non-error status (< 400 or > 599) -> 502;
 *   - 401/403 -> 502 upstream_error with a generic message, upstream_auth_failure = true;
 *   - 429 -> rate_limit (or quota if the upstream says insufficient_quota), retry-after header
 *     value (retry_after_header, may be NULL) copied when well-formed, retry_after_ms derived;
 *   - the upstream's message/type/code/param are kept (bounded, control chars replaced) when the
 *     body parses as either error shape; otherwise a generic "Upstream provider returned HTTP N";
 *   - a message that looks like it talks about API keys is replaced by a generic one.
 * Never fails. */
void api_error_from_upstream(struct api_error *e, int upstream_status, const void *body,
                             size_t body_len, const char *retry_after_header);

/* Map an upstream *mid-stream* error event's JSON data (OpenAI `{"error":{...}}` or Anthropic
 * `{"type":"error","error":{...}}`) into *e (status derived from the type: overloaded_error ->
 * 503, rate_limit_error -> 429, ...). Unparseable -> 502 upstream_error. Never fails. */
void api_error_from_stream_event(struct api_error *e, const void *data, size_t len);

/* Append the JSON error body in the given shape:
 *   OpenAI:    {"error":{"message":..,"type":..,"param":..|null,"code":..|null}}
 *   Anthropic: {"type":"error","error":{"type":..,"message":..},"request_id":..|null}
 * request_id may be NULL (used by the Anthropic shape only). Returns 0, -ENOMEM or -E2BIG. */
int api_error_body(const struct api_error *e, enum llm_api shape, const char *request_id,
                   struct strbuf *out);

/* Append a mid-stream error event:
 *   OpenAI:    "data: {\"error\":{...}}\n\n"   (the caller appends "data: [DONE]\n\n" if wanted)
 *   Anthropic: "event: error\ndata: {\"type\":\"error\",\"error\":{...}}\n\n" */
int api_error_stream_event(const struct api_error *e, enum llm_api shape, struct strbuf *out);

/* The "type" string this error renders as in the given shape (never NULL). */
const char *api_error_type(const struct api_error *e, enum llm_api shape);
/* Default HTTP status for a kind. */
int api_error_kind_status(enum api_error_kind kind);
