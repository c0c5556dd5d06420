/* mock-llm replies: JSON responses, API-shaped errors and paced server-sent-event streams.
 * Trust level: test tool; writes only what the request handlers built. */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/json-util.h"
#include "common/macro.h"
#include "mock-llm.h"

#define STREAM_MAX_CHUNK (64u * 1024 * 1024)

static void add_request_id(struct mock_req *r, enum mock_api api, struct MHD_Response *resp)
{
        char id[64];
        snprintf(id, sizeof(id), "req_mock_%lu", r->id);
        MHD_add_response_header(resp, api == API_ANTHROPIC ? "request-id" : "x-request-id", id);
}

static enum MHD_Result queue(struct mock_req *r, unsigned status, struct MHD_Response *resp)
{
        r->status = status;
        enum MHD_Result ret = MHD_queue_response(r->conn, status, resp);
        MHD_destroy_response(resp);
        return ret;
}

enum MHD_Result reply_json(struct mock_req *r, enum mock_api api, unsigned status, json_t *j)
{
        _cleanup_json_ json_t *owned = j;
        char *text = owned ? json_dump_compact(owned) : NULL;
        if (!text)
                return MHD_NO;
        size_t len = strlen(text);
        struct MHD_Response *resp =
                MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
        if (!resp) {
                free(text);
                return MHD_NO;
        }
        MHD_add_response_header(resp, "content-type", "application/json");
        add_request_id(r, api, resp);
        if (status == 429) {
                MHD_add_response_header(resp, "retry-after", "1");
                MHD_add_response_header(resp, "retry-after-ms", "1000");
        }
        return queue(r, status, resp);
}

enum MHD_Result reply_error(struct mock_req *r, enum mock_api api, unsigned status,
                            const char *type, const char *code, const char *fmt, ...)
{
        char msg[512];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);

        json_t *j;
        if (api == API_ANTHROPIC) {
                char rid[64];
                snprintf(rid, sizeof(rid), "req_mock_%lu", r->id);
                j = json_pack("{s:s, s:{s:s, s:s}, s:s}", "type", "error", "error", "type", type,
                              "message", msg, "request_id", rid);
        } else
                j = json_pack("{s:{s:s, s:s, s:n, s:s?}}", "error", "message", msg, "type", type,
                              "param", "code", code);
        return reply_json(r, api, status, j);
}

bool wait_client(int fd, unsigned ms)
{
        struct timespec start;
        clock_gettime(CLOCK_MONOTONIC, &start);
        for (;;) {
                if (atomic_load(&mock_stopping))
                        return false;
                struct timespec now;
                clock_gettime(CLOCK_MONOTONIC, &now);
                long long elapsed = (now.tv_sec - start.tv_sec) * 1000LL +
                                    (now.tv_nsec - start.tv_nsec) / 1000000;
                if (elapsed >= (long long)ms)
                        return true;
                long long left = (long long)ms - elapsed;
                int slice = (int)MIN(left, 100LL);
                if (fd < 0) {
                        struct timespec ts = { slice / 1000, (slice % 1000) * 1000000L };
                        nanosleep(&ts, NULL);
                        continue;
                }
                /* Only hang-up conditions: data from a pipelining client is no reason to stop. */
                struct pollfd p = { .fd = fd, .events = POLLRDHUP };
                int n = poll(&p, 1, slice);
                if (n < 0 && errno != EINTR)
                        return false;
                if (n > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL)))
                        return false;
        }
}

/* ---- streams ---- */

struct stream {
        struct strbuf *chunks;
        size_t n;
        size_t idx;   /* chunk being sent */
        size_t off;   /* bytes of it already sent */
        size_t reset_before; /* SIZE_MAX: none */
        int fd;
};

struct stream *stream_new(struct mock_req *r)
{
        struct stream *s = calloc(1, sizeof(*s));
        if (!s)
                return NULL;
        s->fd = r->fd;
        s->reset_before = SIZE_MAX;
        return s;
}

void stream_free(struct stream *s)
{
        if (!s)
                return;
        for (size_t i = 0; i < s->n; i++)
                strbuf_free(&s->chunks[i]);
        free(s->chunks);
        free(s);
}

int stream_chunk(struct stream *s)
{
        struct strbuf *c = reallocarray(s->chunks, s->n + 1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        s->chunks = c;
        s->chunks[s->n++] = (struct strbuf)STRBUF_INIT(STREAM_MAX_CHUNK);
        return 0;
}

int stream_raw(struct stream *s, const char *text)
{
        if (s->n == 0) {
                int r = stream_chunk(s);
                if (r < 0)
                        return r;
        }
        return strbuf_appends(&s->chunks[s->n - 1], text);
}

int stream_event(struct stream *s, const char *event, json_t *data)
{
        _cleanup_json_ json_t *owned = data;
        if (!owned)
                return -ENOMEM;
        _cleanup_free_ char *text = json_dump_compact(owned);
        if (!text)
                return -ENOMEM;
        int r = 0;
        if (event) {
                r = stream_raw(s, "event: ");
                if (r >= 0)
                        r = stream_raw(s, event);
                if (r >= 0)
                        r = stream_raw(s, "\n");
        }
        if (r >= 0)
                r = stream_raw(s, "data: ");
        if (r >= 0)
                r = stream_raw(s, text);
        if (r >= 0)
                r = stream_raw(s, "\n\n");
        return r;
}

void stream_reset_before(struct stream *s, size_t n)
{
        s->reset_before = n;
}

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
        struct stream *s = cls;
        if (s->off == 0) {
                if (s->idx == s->reset_before)
                        return MHD_CONTENT_READER_END_WITH_ERROR;
                if (s->idx >= s->n)
                        return MHD_CONTENT_READER_END_OF_STREAM;
                if (s->idx > 0 && mock_cfg.delay_ms > 0 && !wait_client(s->fd, mock_cfg.delay_ms))
                        return MHD_CONTENT_READER_END_WITH_ERROR;
        }
        struct strbuf *c = &s->chunks[s->idx];
        size_t k = MIN(max, c->len - s->off);
        if (k > 0)
                memcpy(buf, c->data + s->off, k);
        s->off += k;
        if (s->off >= c->len) {
                s->idx++;
                s->off = 0;
        }
        if (k == 0) /* an empty chunk: MHD must not see 0 (it means "try again") */
                return stream_read(cls, pos, buf, max);
        return (ssize_t)k;
}

static void stream_free_cb(void *cls)
{
        stream_free(cls);
}

enum MHD_Result stream_queue(struct mock_req *r, enum mock_api api, struct stream *s)
{
        struct MHD_Response *resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16 * 1024,
                                                                      stream_read, s,
                                                                      stream_free_cb);
        if (!resp) {
                stream_free(s);
                return MHD_NO;
        }
        MHD_add_response_header(resp, "content-type", "text/event-stream");
        MHD_add_response_header(resp, "cache-control", "no-cache");
        add_request_id(r, api, resp);
        return queue(r, 200, resp);
}
