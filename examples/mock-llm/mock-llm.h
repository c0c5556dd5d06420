/* mock-llm: offline OpenAI + Anthropic compatible model server for the demo, tests and benchmarks.
 * Shared types between the files of this program. Trust level: test tool; parses untrusted HTTP
 * bodies (bounded), holds no secrets. */
#pragma once

#include <jansson.h>
#include <microhttpd.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "common/strbuf.h"

#define MOCK_MAX_BODY (16u * 1024 * 1024)

struct mock_config {
        unsigned chunks;    /* stream deltas per reply text */
        unsigned delay_ms;  /* between stream chunks */
        unsigned slow_ms;   /* fail:slow first-byte delay */
        char **models;      /* NULL-terminated */
        const char *require_key;
        bool quiet;
};

extern struct mock_config mock_cfg;
extern atomic_bool mock_stopping;

enum mock_api { API_OPENAI, API_ANTHROPIC };

/* One HTTP request, from its headers to its completion. */
struct mock_req {
        struct MHD_Connection *conn;
        int fd;               /* the client socket, to notice a client that went away */
        char *method;
        char *path;
        struct strbuf body;
        bool too_large;
        json_t *json;         /* parsed body, NULL if empty or not JSON */
        unsigned long id;     /* request sequence number, for ids */
        unsigned status;      /* status queued, for the log line */
};

/* ---- reply.c: responses, errors, streams ---- */

/* Queue a JSON response (takes j). Adds the API's request-id header. */
enum MHD_Result reply_json(struct mock_req *r, enum mock_api api, unsigned status, json_t *j);
/* Queue an error in the API's shape; 429 adds retry-after: 1. code may be NULL. */
enum MHD_Result reply_error(struct mock_req *r, enum mock_api api, unsigned status,
                            const char *type, const char *code, const char *fmt, ...)
        __attribute__((format(printf, 6, 7)));
/* Wait ms milliseconds; false if the client went away or the server is stopping. */
bool wait_client(int fd, unsigned ms);

struct stream;
struct stream *stream_new(struct mock_req *r);
void stream_free(struct stream *s);
/* Start a new chunk: chunks are separated by --delay-ms. */
int stream_chunk(struct stream *s);
/* Append an SSE event to the current chunk; event may be NULL (unnamed). Takes data. */
int stream_event(struct stream *s, const char *event, json_t *data);
int stream_raw(struct stream *s, const char *text);
/* Make the stream break off (no terminating chunk) before chunk index n. */
void stream_reset_before(struct stream *s, size_t n);
/* Queue the stream as a text/event-stream response; takes s in every case. */
enum MHD_Result stream_queue(struct mock_req *r, enum mock_api api, struct stream *s);

/* ---- prompt.c: what the request says ---- */

struct prompt {
        char *last_user;      /* text of the last user (or tool result) message */
        unsigned long words;  /* whitespace-separated words across all message texts, >= 1 */
};
void prompt_done(struct prompt *p);
/* Collect text from a string or an array of content parts/blocks into b; words counted. */
int prompt_add_content(struct strbuf *b, const json_t *content);
/* Count the words of b's text into p. With candidate, the text becomes p->last_user and b is
 * empty again; without, b is freed. */
int prompt_text(struct prompt *p, struct strbuf *b, bool candidate);
/* Every message's "content" counted; the last message whose "role" is in roles (NULL-terminated)
 * becomes p->last_user. */
int prompt_add_messages(struct prompt *p, const json_t *messages, const char *const *roles);
/* After the texts: last_user defaults to "", words to at least 1. */
int prompt_finish(struct prompt *p);
unsigned long count_words(const char *s);

enum fail_mode {
        FAIL_NONE,
        FAIL_RESET,
        FAIL_500,
        FAIL_429,
        FAIL_401,
        FAIL_529,
        FAIL_SLOW,
        FAIL_GARBAGE,
        FAIL_HANG,
};
enum fail_mode fail_mode_of(const char *text);
/* Handle failures that do not depend on the reply format. Returns true when a response (or a
 * dropped connection) was decided and *ret is set; fail:slow waits and returns false. */
bool fail_handle(struct mock_req *r, enum mock_api api, enum fail_mode f, bool stream,
                 enum MHD_Result *ret);

struct toolcall {
        char *name;
        char *args;     /* compact JSON text */
        json_t *input;  /* the parsed object */
};
void toolcall_done(struct toolcall *t);
/* 1 and *ret filled if text is "call_tool:NAME {JSON}", 0 if not, -EINVAL if the JSON is not an
 * object. */
int toolcall_parse(const char *text, struct toolcall *ret);

/* Split s into at most n pieces at UTF-8 boundaries; offs gets count+1 offsets. Returns count. */
size_t split_utf8(const char *s, size_t len, size_t n, size_t *offs);
/* "echo: " + text; NULL on OOM. */
char *echo_text(const char *text);

/* ---- gen.c: what a generating endpoint answers ---- */

struct gen {
        char id[64];
        json_int_t created;
        const char *model;
        struct toolcall tool; /* name NULL: plain text reply */
        char *reply;
        json_int_t in, out;   /* tokens */
        bool stream;
        bool include_usage;
        enum fail_mode fail;
};
/* Common preamble of a generating endpoint: failures, then the echo or (with tools) the tool
 * call. Returns true when a response was already decided (*ret set). Takes p. */
bool gen_prepare(struct mock_req *r, enum mock_api api, struct gen *g, struct prompt *p,
                 bool tools, enum MHD_Result *ret);
void gen_done(struct gen *g);
/* What g streams: the tool call's arguments or the reply text. */
const char *gen_text(const struct gen *g);
/* gen_text() cut into --chunks pieces for stream deltas (tool arguments: at least two):
 * *ret_n + 1 offsets. Caller frees; NULL on OOM. */
size_t *gen_pieces(const struct gen *g, size_t *ret_n);

/* ---- openai.c / anthropic.c ---- */
enum MHD_Result openai_chat(struct mock_req *r);
enum MHD_Result openai_completions(struct mock_req *r);
enum MHD_Result openai_responses(struct mock_req *r);
enum MHD_Result openai_embeddings(struct mock_req *r);
enum MHD_Result openai_models(struct mock_req *r, const char *id);
enum MHD_Result anthropic_messages(struct mock_req *r);
enum MHD_Result anthropic_count_tokens(struct mock_req *r);
enum MHD_Result anthropic_models(struct mock_req *r, const char *id);
