/* Upstream side of one request: rewrite or translate the body, inject the provider's key (and
 * nothing the agent sent), write the egress record BEFORE the transfer starts, relay the answer
 * buffered or streamed (translated when caller and provider speak different APIs), and write
 * egress_done. Trust level: holds API keys; upstream bytes are untrusted. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/json-util.h"
#include "common/log.h"
#include "common/time-util.h"
#include "proxy/jscan.h"
#include "proxy/relay.h"
#include "proxy/request.h"
#include "proxy/upstream.h"

#define ANTHROPIC_VERSION_DEFAULT "2023-06-01"
#define HDR_VALUE_MAX 512

static uint64_t keepalive_us = 15 * 1000000ULL;

void relay_set_keepalive_ms(uint64_t ms)
{
        keepalive_us = ms * 1000ULL;
}

/* ---- egress_done ---- */

static void log_done(struct request *req, const char *finish, const char *error)
{
        if (!req->egress_logged || req->done_logged)
                return;
        req->done_logged = true;
        struct audit_fields f;
        request_audit_base(req, "egress_done", &f);
        int64_t tin = req->usage.input_tokens, tout = req->usage.output_tokens;
        audit_fields_str(&f, "provider", req->mr.provider->name);
        audit_fields_str(&f, "model", req->mr.model);
        audit_fields_int(&f, "status", req->up_status);
        audit_fields_int(&f, "bytes_down", (int64_t)req->bytes_down);
        audit_fields_int(&f, "tokens_in", tin);
        audit_fields_int(&f, "tokens_out", tout);
        audit_fields_int(&f, "duration_ms", (int64_t)((now_usec() - req->t_start) / 1000));
        const char *fr = finish ? finish : req->finish_reason[0] ? req->finish_reason : NULL;
        audit_fields_str(&f, "finish_reason", fr);
        if (error)
                audit_fields_str(&f, "error", error);
        /* Queued: written at the end of this loop pass, after the response went out. */
        (void)paudit_queue_fields(&f, NULL);
        if (tin + tout > 0)
                limits_add_tokens(req->lim, (uint64_t)(tin + tout), now_realtime_usec());
}

/* ---- stream output ---- */

static size_t out_pending(const struct request *req)
{
        return req->out.len - req->out_off;
}

ssize_t relay_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
        struct request *req = cls;
        size_t avail = out_pending(req);
        if (avail > 0) {
                size_t n = MIN(avail, max);
                memcpy(buf, req->out.data + req->out_off, n);
                req->out_off += n;
                if (req->out_off == req->out.len) {
                        req->out_off = 0;
                        if (req->out.cap > 64 * 1024)
                                strbuf_free(&req->out); /* keep idle streams small */
                        else
                                strbuf_reset(&req->out);
                }
                if (req->curl_paused && out_pending(req) < OUT_HIGH_WATER / 2 && req->up_running) {
                        req->curl_paused = false;
                        curl_easy_pause(req->easy, CURLPAUSE_CONT);
                }
                return (ssize_t)n;
        }
        if (req->out_done)
                return MHD_CONTENT_READER_END_OF_STREAM;
        req->suspended = true;
        MHD_suspend_connection(req->conn);
        return 0;
}

/* An upstream status that means its answer is the thing asked for (not an error to map). */
static bool status_2xx(long code)
{
        return code >= 200 && code < 300;
}

static int stream_start(struct request *req)
{
        struct MHD_Response *r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 8 * 1024,
                                                                   relay_reader, req, NULL);
        if (!r)
                return -ENOMEM;
        MHD_add_response_header(r, "Content-Type", "text/event-stream");
        MHD_add_response_header(r, "Cache-Control", "no-cache");
        MHD_add_response_header(r, req->shape == LLM_API_ANTHROPIC ? "request-id" : "x-request-id",
                                req->id);
        req->resp = r;
        req->resp_status = 200;
        req->state = REQ_STREAMING;
        req->last_out = now_usec();
        return 0;
}

/* Passthrough OpenAI stream where we asked for include_usage on the agent's behalf: re-emit
 * every event except the usage-only chunk the agent did not ask for (choices: []). With
 * include_usage every chunk carries "usage" (null until the last): only "choices" is built,
 * its elements pruned to nothing. */
static const struct jscan_keep keep_nothing[] = { { NULL, NULL } };
static const struct jscan_keep keep_choices[] = { { "choices", keep_nothing }, { NULL, NULL } };

static int strip_usage_cb(const struct sse_event *ev, void *userdata)
{
        struct request *req = userdata;
        usage_observer_event(req->obs, ev);
        if (strstr(ev->data, "\"usage\"") && strstr(ev->data, "\"choices\"")) {
                _cleanup_json_ json_t *j = NULL;
                (void)jscan_load(ev->data, ev->data_len, keep_choices, &j);
                json_t *ch = j ? json_object_get(j, "choices") : NULL;
                if (json_is_array(ch) && json_array_size(ch) == 0)
                        return 0;
        }
        int r = 0;
        if (ev->event[0])
                r = strbuf_appendf(&req->out, "event: %s\n", ev->event);
        if (r >= 0)
                r = strbuf_appends(&req->out, "data: ");
        if (r >= 0)
                r = strbuf_append(&req->out, ev->data, ev->data_len);
        if (r >= 0)
                r = strbuf_appends(&req->out, "\n\n");
        return r;
}

static size_t on_write(char *ptr, size_t size, size_t nmemb, void *userdata)
{
        struct request *req = userdata;
        size_t len = size * nmemb;
        if (req->up_status == 0)
                curl_easy_getinfo(req->easy, CURLINFO_RESPONSE_CODE, &req->up_status);

        if (!req->stream || !status_2xx(req->up_status)) {
                if (strbuf_append(&req->up_buf, ptr, len) < 0)
                        return 0; /* too large: CURLE_WRITE_ERROR -> 502 */
                req->bytes_down += len;
                return len;
        }
        if (out_pending(req) > OUT_HIGH_WATER) {
                req->curl_paused = true;
                return CURL_WRITEFUNC_PAUSE;
        }
        if (req->state != REQ_STREAMING && stream_start(req) < 0)
                return 0;
        req->bytes_down += len;
        size_t before = out_pending(req);
        int r;
        if (req->ts) {
                r = translate_stream_feed(req->ts, ptr, len, &req->out);
                if (r == -EBADMSG)
                        r = 0; /* closed properly in out */
        } else if (req->sse) {
                r = sse_parser_feed(req->sse, ptr, len, strip_usage_cb, req);
        } else {
                usage_observer_feed(req->obs, ptr, len);
                r = strbuf_append(&req->out, ptr, len);
        }
        if (r < 0)
                return 0;
        if (out_pending(req) != before) {
                req->last_out = now_usec();
                request_wake(req);
        }
        return len;
}

static size_t on_header(char *buf, size_t size, size_t nitems, void *userdata)
{
        struct request *req = userdata;
        size_t len = size * nitems;
        if (len > 12 && strncasecmp(buf, "retry-after:", 12) == 0) {
                const char *v = buf + 12;
                size_t n = len - 12;
                while (n && (*v == ' ' || *v == '\t'))
                        v++, n--;
                while (n && (v[n - 1] == '\r' || v[n - 1] == '\n' || v[n - 1] == ' '))
                        n--;
                if (n < sizeof(req->retry_after)) {
                        memcpy(req->retry_after, v, n);
                        req->retry_after[n] = 0;
                }
        }
        return len;
}

/* ---- building the upstream request ---- */

static bool header_value_ok(const char *v)
{
        size_t n = strlen(v);
        if (n == 0 || n > HDR_VALUE_MAX)
                return false;
        for (size_t i = 0; i < n; i++)
                if ((unsigned char)v[i] < 0x20 || (unsigned char)v[i] >= 0x7f)
                        return false;
        return true;
}

/* Append "prefix" + "value" (value may be ""). */
static int add_header(struct curl_slist **l, const char *prefix, const char *v)
{
        char line[HDR_VALUE_MAX + 2048];
        int n = snprintf(line, sizeof(line), "%s%s", prefix, v);
        if (n < 0 || (size_t)n >= sizeof(line))
                return -E2BIG;
        struct curl_slist *nl = curl_slist_append(*l, line);
        explicit_bzero(line, sizeof(line));
        if (!nl)
                return -ENOMEM;
        *l = nl;
        return 0;
}

/* Only these headers go upstream: nothing the agent sent, except the Anthropic API version and
 * beta flags on the native /v1/messages route. Lists that depend on nothing else than the
 * provider and streaming are built once per config snapshot. */
static int build_headers_now(struct request *req, struct curl_slist **ret);

static int build_headers(struct request *req)
{
        const struct proxy_config *cfg = req->snap->config;
        bool per_request = req->mr.provider->type == PROVIDER_ANTHROPIC &&
                           req->route == ROUTE_MESSAGES;
        size_t pi = (size_t)(req->mr.provider - cfg->providers);
        if (per_request || pi >= cfg->n_providers) {
                req->hdrs_cached = false;
                return build_headers_now(req, &req->hdrs);
        }
        if (!req->snap->hdr_cache) {
                req->snap->hdr_cache = calloc(cfg->n_providers * 2, sizeof(struct curl_slist *));
                if (!req->snap->hdr_cache)
                        return -ENOMEM;
        }
        struct curl_slist **slot = &req->snap->hdr_cache[pi * 2 + (req->stream ? 1 : 0)];
        if (!*slot) {
                int r = build_headers_now(req, slot);
                if (r < 0)
                        return r;
        }
        req->hdrs = *slot;
        req->hdrs_cached = true;
        return 0;
}

static int build_headers_now(struct request *req, struct curl_slist **ret)
{
        const struct provider *pv = req->mr.provider;
        struct curl_slist *l = NULL;
        int r = add_header(&l, "Content-Type: application/json", "");
        if (r >= 0)
                r = add_header(&l, "Accept: ",
                               req->stream ? "text/event-stream" : "application/json");
        if (r >= 0)
                r = add_header(&l, "Expect:", "");
        if (r >= 0)
                r = add_header(&l, "User-Agent: qclaw-proxy/", QCLAW_VERSION);
        if (r >= 0 && pv->type == PROVIDER_OPENAI && pv->api_key)
                r = add_header(&l, "Authorization: Bearer ", pv->api_key);
        if (r >= 0 && pv->type == PROVIDER_ANTHROPIC) {
                const char *ver = NULL, *beta = NULL;
                if (req->route == ROUTE_MESSAGES) {
                        ver = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND,
                                                          "anthropic-version");
                        beta = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND,
                                                           "anthropic-beta");
                }
                if (!ver || !header_value_ok(ver) || strlen(ver) > 32)
                        ver = ANTHROPIC_VERSION_DEFAULT;
                r = add_header(&l, "anthropic-version: ", ver);
                if (r >= 0 && beta && header_value_ok(beta))
                        r = add_header(&l, "anthropic-beta: ", beta);
                if (r >= 0 && pv->api_key)
                        r = add_header(&l, "x-api-key: ", pv->api_key);
        }
        if (r < 0) {
                curl_slist_free_all(l);
                return r;
        }
        *ret = l;
        return 0;
}

static int build_url(struct request *req, char **ret)
{
        const struct provider *pv = req->mr.provider;
        /* openai-type base_url ends in /v1 (https://api.openai.com/v1); anthropic's does not. */
        const char *suffix = req->endpoint;
        if (req->translate)
                suffix = pv->type == PROVIDER_ANTHROPIC ? "/v1/messages" : "/v1/chat/completions";
        if (pv->type == PROVIDER_OPENAI)
                suffix += 3; /* drop "/v1" */
        if (asprintf(ret, "%s%s", pv->base_url, suffix) < 0)
                return -ENOMEM;
        return 0;
}

/* `,"stream_options":{"include_usage":true}` spliced in before the body's closing brace: the
 * body is a validated object holding at least "model" and no "stream_options", so the result is
 * the same object with one more member. Spares loading and dumping a body that can be hundreds
 * of KiB (a coding agent's context) to add 40 bytes. */
static int splice_include_usage(struct request *req)
{
        static const char member[] = ",\"stream_options\":{\"include_usage\":true}";
        const char *b = req->body.data;
        size_t n = req->body.len;
        while (n > 0 && (b[n - 1] == ' ' || b[n - 1] == '\t' || b[n - 1] == '\n' ||
                         b[n - 1] == '\r'))
                n--;
        if (n < 2 || b[n - 1] != '}')
                return -EINVAL;
        size_t len = n - 1 + sizeof(member) - 1 + 1;
        char *up = malloc(len + 1);
        if (!up)
                return -ENOMEM;
        memcpy(up, b, n - 1);
        memcpy(up + n - 1, member, sizeof(member) - 1);
        up[len - 1] = '}';
        up[len] = 0;
        req->up_body = up;
        req->up_len = len;
        return 0;
}

/* reqj holds only the members the proxy decides on (model, stream, stream_options: see
 * proxy/server.c); the whole tree is loaded here only when the body must be translated or
 * rewritten as JSON, with duplicate keys refused anywhere in it. */
static int build_body(struct request *req, json_t *keys, struct api_error *e)
{
        const struct provider *pv = req->mr.provider;
        _cleanup_json_ json_t *up = NULL, *full = NULL;
        json_t *reqj = keys;
        bool modified = false;
        struct translate_request_opts o = {
                .model = req->mr.model,
                .default_max_tokens = (int64_t)pv->default_max_tokens,
        };
        bool stream = false;
        if (req->route == ROUTE_CHAT)
                translate_openai_stream_flags(keys, &stream, &req->include_usage);
        bool translate = (req->route == ROUTE_CHAT && pv->type == PROVIDER_ANTHROPIC) ||
                         (req->route == ROUTE_MESSAGES && pv->type == PROVIDER_OPENAI);
        bool inject = req->route == ROUTE_CHAT && pv->type == PROVIDER_OPENAI && req->stream &&
                      !req->include_usage;
        bool rename = strcmp(req->mr.model, req->model) != 0;
        if (inject && !translate && !rename && !json_object_get(keys, "stream_options")) {
                int r = splice_include_usage(req);
                if (r == 0) {
                        req->injected_usage = true;
                        strbuf_free(&req->body);
                        return 0;
                }
                if (r == -ENOMEM)
                        return r;
        }
        if (translate || rename || inject) {
                json_error_t jerr;
                full = json_loadb(req->body.data ? req->body.data : "", req->body.len,
                                  JSON_REJECT_DUPLICATES, &jerr);
                if (!json_is_object(full)) {
                        api_error_proxy(e, API_ERR_BAD_REQUEST,
                                        "The request body is not a JSON object.", -1);
                        return -EINVAL;
                }
                reqj = full;
        }

        if (req->route == ROUTE_CHAT) {
                if (pv->type == PROVIDER_ANTHROPIC) {
                        req->translate = true;
                        req->tdir = TRANSLATE_ANTHROPIC_TO_OPENAI;
                        int r = translate_request_openai_to_anthropic(reqj, &o, &up, e);
                        if (r < 0)
                                return r == -EINVAL ? -EINVAL : -ENOMEM;
                } else if (req->stream && !req->include_usage) {
                        /* Ask for usage so the daily token budget sees streamed tokens; the
                         * extra chunk is stripped again before the agent sees it. */
                        json_t *so = json_object_get(reqj, "stream_options");
                        if (!json_is_object(so)) {
                                so = json_object();
                                json_object_set_new(reqj, "stream_options", so);
                        }
                        json_object_set_new(so, "include_usage", json_true());
                        req->injected_usage = true;
                        modified = true;
                }
        } else if (req->route == ROUTE_MESSAGES && pv->type == PROVIDER_OPENAI) {
                req->translate = true;
                req->tdir = TRANSLATE_OPENAI_TO_ANTHROPIC;
                int r = translate_request_anthropic_to_openai(reqj, &o, &up, e);
                if (r < 0)
                        return r == -EINVAL ? -EINVAL : -ENOMEM;
        }
        if (!up && strcmp(req->mr.model, req->model) != 0) {
                json_object_set_new(reqj, "model", json_string(req->mr.model));
                modified = true;
        }
        if (up || modified) {
                req->up_body = json_dump_compact(up ? up : reqj);
                if (!req->up_body)
                        return -ENOMEM;
                req->up_len = strlen(req->up_body);
        } else {
                req->up_len = req->body.len;
                if (strbuf_steal(&req->body, &req->up_body) < 0)
                        return -ENOMEM;
        }
        return 0;
}

static int stream_setup(struct request *req)
{
        if (!req->stream)
                return 0;
        if (req->translate) {
                struct translate_stream_opts so = {
                        .model = req->model,
                        .created = (int64_t)time(NULL),
                        .include_usage = req->include_usage,
                };
                return translate_stream_new(&req->ts, req->tdir, &so);
        }
        int r = usage_observer_new(&req->obs, req->shape);
        if (r >= 0 && req->injected_usage)
                r = sse_parser_new(&req->sse);
        return r;
}

int relay_begin(struct request *req, json_t *reqj, struct api_error *e)
{
        const struct provider *pv = req->mr.provider;
        int r = build_body(req, reqj, e);
        if (r == -EINVAL)
                return r;
        if (r >= 0)
                r = build_url(req, &req->up_url);
        if (r >= 0)
                r = build_headers(req);
        if (r >= 0)
                r = stream_setup(req);
        if (r >= 0) {
                req->easy = upstream_easy_get();
                if (!req->easy)
                        r = -ENOMEM;
        }
        if (r < 0) {
                api_error_proxy(e, API_ERR_UNAVAILABLE, "The proxy is out of resources.", 1000);
                return r;
        }

        /* The egress record is written before a byte goes upstream; no record, no request:
         * the transfer starts from relay_egress_written() once the record's write(2) returned
         * (paudit_flush, later in this loop pass). */
        struct audit_fields f;
        request_audit_base(req, "egress", &f);
        audit_fields_str(&f, "provider", pv->name);
        audit_fields_str(&f, "model", req->mr.model);
        audit_fields_bool(&f, "stream", req->stream);
        audit_fields_int(&f, "bytes_up", (int64_t)req->up_len);
        r = paudit_queue_fields(&f, req);
        if (r < 0) {
                api_error_proxy(e, API_ERR_UNAVAILABLE,
                                "The audit log cannot be written; nothing was sent.", -1);
                return -EIO;
        }
        req->egress_queued = true;
        return 0;
}

/* Everything a transfer of ours sets (transport options every transfer shares are set when the
 * pooled handle is made, proxy/upstream.c): a reused handle carries nothing over. */
static int transfer_start(struct request *req)
{
        CURL *h = req->easy;
        curl_easy_setopt(h, CURLOPT_URL, req->up_url);
        curl_easy_setopt(h, CURLOPT_PRIVATE, req);
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, req->hdrs);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, req->up_body);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->up_len);
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_write);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, req);
        curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
        curl_easy_setopt(h, CURLOPT_HEADERDATA, req);
        /* Non-streaming: timeout_ms bounds the whole request. A stream may rightly run for
         * longer (long reasoning, large outputs), so it is bounded by silence instead: no byte
         * from upstream for timeout_ms (in curl's whole seconds) ends it. */
        uint64_t tmo = req->mr.provider->timeout_ms;
        curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, req->stream ? 0L : (long)tmo);
        curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, req->stream ? 1L : 0L);
        curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, req->stream ? (long)((tmo + 999) / 1000) : 0L);
        return upstream_start(h);
}

void relay_egress_written(struct request *req, int r)
{
        req->egress_queued = false;
        struct api_error e;
        if (r < 0) {
                api_error_proxy(&e, API_ERR_UNAVAILABLE,
                                "The audit log cannot be written; nothing was sent.", -1);
                request_deny(req, "audit_unavailable", &e);
                request_wake(req);
                return;
        }
        req->egress_logged = true;
        P.egress_total++;
        if (transfer_start(req) < 0) {
                log_done(req, "internal_error", "cannot start transfer");
                api_error_proxy(&e, API_ERR_UPSTREAM, NULL, -1);
                request_set_error(req, &e);
                request_wake(req);
                return;
        }
        req->up_running = true;
}

/* ---- completion ---- */

static void stream_finish(struct request *req, CURLcode res)
{
        bool clean = res == CURLE_OK;
        if (req->up_status != 0 && !status_2xx(req->up_status)) {
                /* The stream was committed while the upstream was silent, and its answer is an
                 * error: that error, in the caller's shape, ends the stream. */
                struct api_error e;
                api_error_from_upstream(&e, (int)req->up_status, req->up_buf.data,
                                        req->up_buf.len,
                                        req->retry_after[0] ? req->retry_after : NULL);
                (void)api_error_stream_event(&e, req->shape, &req->out);
                if (req->shape == LLM_API_OPENAI)
                        (void)strbuf_appends(&req->out, "data: [DONE]\n\n");
                strbuf_free(&req->up_buf);
                req->out_done = true;
                log_done(req, "upstream_error", clean ? NULL : curl_easy_strerror(res));
                request_wake(req);
                return;
        }
        if (req->ts) {
                (void)translate_stream_finish(req->ts, clean, &req->out);
                translate_stream_usage(req->ts, &req->usage);
                const char *fr = translate_stream_finish_reason(req->ts);
                if (fr)
                        snprintf(req->finish_reason, sizeof(req->finish_reason), "%s", fr);
        } else {
                if (req->sse)
                        (void)sse_parser_finish(req->sse, strip_usage_cb, req);
                struct usage_result ur;
                usage_observer_result(req->obs, &ur);
                req->usage = ur.usage;
                snprintf(req->finish_reason, sizeof(req->finish_reason), "%s", ur.finish_reason);
                if ((!clean || !ur.completed) && !ur.error) {
                        struct api_error e;
                        if (res == CURLE_OPERATION_TIMEDOUT)
                                api_error_proxy(&e, API_ERR_TIMEOUT, NULL, -1);
                        else
                                api_error_proxy(&e, API_ERR_UPSTREAM,
                                                clean ? "upstream stream ended prematurely"
                                                      : "upstream connection failed",
                                                -1);
                        (void)api_error_stream_event(&e, req->shape, &req->out);
                        if (req->shape == LLM_API_OPENAI)
                                (void)strbuf_appends(&req->out, "data: [DONE]\n\n");
                }
        }
        req->out_done = true;
        log_done(req, NULL, clean ? NULL : curl_easy_strerror(res));
        request_wake(req);
}

static void finish_reason_of(struct request *req, const json_t *j)
{
        const char *fr = NULL;
        if (req->shape == LLM_API_ANTHROPIC)
                fr = json_get_str(j, "stop_reason", NULL);
        else {
                json_t *c0 = json_array_get(json_object_get(j, "choices"), 0);
                fr = json_get_str(c0, "finish_reason", NULL);
        }
        if (fr)
                snprintf(req->finish_reason, sizeof(req->finish_reason), "%s", fr);
}

/* What a relayed (untranslated) answer is read for: usage (proxy/usage.c) and finish reason
 * (finish_reason_of). The rest is validated but not built: the bytes go out as they came. */
static const struct jscan_keep keep_finish[] = { { "finish_reason", NULL }, { NULL, NULL } };
static const struct jscan_keep keep_usage[] = { { "usage", NULL }, { NULL, NULL } };
static const struct jscan_keep keep_openai[] = {
        { "usage", NULL },
        { "choices", keep_finish },
        { NULL, NULL },
};
static const struct jscan_keep keep_anthropic[] = {
        { "usage", NULL },
        { "message", keep_usage },
        { "stop_reason", NULL },
        { NULL, NULL },
};

static void respond_ok(struct request *req)
{
        const char *body = req->up_buf.data ? req->up_buf.data : "";
        _cleanup_json_ json_t *j = NULL;
        if (req->translate)
                j = json_loadb(body, req->up_buf.len, 0, NULL);
        else
                (void)jscan_load(body, req->up_buf.len,
                                 req->shape == LLM_API_ANTHROPIC ? keep_anthropic : keep_openai,
                                 &j);
        struct api_error e;
        if (!j || !json_is_object(j)) {
                api_error_proxy(&e, API_ERR_UPSTREAM, "The upstream returned an invalid response.",
                                -1);
                request_set_error(req, &e);
                log_done(req, "invalid_response", NULL);
                return;
        }
        if (req->translate) {
                struct translate_response_opts o = { .model = req->model,
                                                     .created = (int64_t)time(NULL) };
                _cleanup_json_ json_t *out = NULL;
                int r = req->tdir == TRANSLATE_ANTHROPIC_TO_OPENAI
                                ? translate_response_anthropic_to_openai(j, &o, &out, &req->usage)
                                : translate_response_openai_to_anthropic(j, &o, &out, &req->usage);
                char *s = r >= 0 ? json_dump_compact(out) : NULL;
                if (!s) {
                        api_error_proxy(&e, API_ERR_UPSTREAM,
                                        "The upstream returned an invalid response.", -1);
                        request_set_error(req, &e);
                        log_done(req, "invalid_response", NULL);
                        return;
                }
                finish_reason_of(req, out);
                request_set_body(req, 200, s, strlen(s), "application/json");
        } else {
                if (req->shape == LLM_API_ANTHROPIC)
                        (void)usage_from_anthropic(j, &req->usage);
                else
                        (void)usage_from_openai(j, &req->usage);
                finish_reason_of(req, j);
                size_t len = req->up_buf.len;
                char *s = NULL;
                if (strbuf_steal(&req->up_buf, &s) < 0)
                        return;
                request_set_body(req, (unsigned)req->up_status, s, len, "application/json");
        }
        log_done(req, NULL, NULL);
}

void relay_upstream_done(struct request *req, CURLcode res)
{
        req->up_running = false;
        curl_easy_getinfo(req->easy, CURLINFO_RESPONSE_CODE, &req->up_status);
        if (req->state == REQ_STREAMING) {
                stream_finish(req, res);
                return;
        }
        struct api_error e;
        if (res != CURLE_OK) {
                if (res == CURLE_OPERATION_TIMEDOUT)
                        api_error_proxy(&e, API_ERR_TIMEOUT, NULL, -1);
                else
                        api_error_proxy(&e, API_ERR_UPSTREAM,
                                        res == CURLE_WRITE_ERROR
                                                ? "The upstream response is too large."
                                                : "The upstream provider could not be reached.",
                                        -1);
                request_set_error(req, &e);
                log_done(req, "upstream_error", curl_easy_strerror(res));
        } else if (status_2xx(req->up_status)) {
                if (req->stream) { /* 2xx stream that sent nothing at all */
                        if (stream_start(req) < 0)
                                return;
                        stream_finish(req, res);
                        return;
                }
                respond_ok(req);
        } else {
                api_error_from_upstream(&e, (int)req->up_status, req->up_buf.data, req->up_buf.len,
                                        req->retry_after[0] ? req->retry_after : NULL);
                if (e.upstream_auth_failure)
                        log_error("provider %s rejected the proxy's API key (HTTP %ld): check "
                                  "api_key for it in %s", req->mr.provider->name, req->up_status,
                                  req->snap->config->path);
                request_set_error(req, &e);
                log_done(req, "upstream_error", NULL);
        }
        strbuf_free(&req->up_buf);
        request_wake(req);
}

void relay_cancel(struct request *req, const char *why)
{
        if (req->egress_queued) { /* never started: no egress record either */
                paudit_forget(req);
                req->egress_queued = false;
        }
        if (req->up_running) {
                upstream_cancel(req->easy);
                req->up_running = false;
                if (req->ts)
                        translate_stream_usage(req->ts, &req->usage);
                else if (req->obs) {
                        struct usage_result ur;
                        usage_observer_result(req->obs, &ur);
                        req->usage = ur.usage;
                }
                log_done(req, why, NULL);
        }
        req->out_done = true;
}

void relay_keepalive(struct request *req)
{
        uint64_t now = now_usec();
        if (req->state == REQ_UPSTREAM && req->stream) {
                /* An upstream silent before it answers at all (a model loading, a queue): the
                 * stream is committed (200, text/event-stream) after keepalive_us, so the client
                 * sees keepalives too; an error status that comes later ends it with an error
                 * event (stream_finish). Not once an error status has arrived: that error is
                 * then answered as an HTTP status. */
                long code = 0;
                if (!req->up_running || now - req->t_start < keepalive_us)
                        return; /* (not before its egress record is written and it left) */
                curl_easy_getinfo(req->easy, CURLINFO_RESPONSE_CODE, &code);
                if (code != 0 && !status_2xx(code))
                        return;
                if (stream_start(req) < 0)
                        return;
                req->last_out = 0;
        }
        if (req->state != REQ_STREAMING || req->out_done || out_pending(req) > 0 ||
            now - req->last_out < keepalive_us)
                return;
        if (strbuf_appends(&req->out, ": keepalive\n\n") < 0)
                return;
        req->last_out = now;
        request_wake(req);
}

void relay_free(struct request *req)
{
        if (req->egress_queued) {
                paudit_forget(req);
                req->egress_queued = false;
        }
        free(req->up_url);
        req->up_url = NULL;
        if (req->up_running) {
                upstream_cancel(req->easy);
                req->up_running = false;
        }
        upstream_easy_put(req->easy);
        req->easy = NULL;
        if (!req->hdrs_cached)
                curl_slist_free_all(req->hdrs);
        req->hdrs = NULL;
        req->hdrs_cached = false;
        free(req->up_body);
        req->up_body = NULL;
        strbuf_free(&req->up_buf);
        strbuf_free(&req->out);
        req->ts = translate_stream_free(req->ts);
        req->obs = usage_observer_free(req->obs);
        req->sse = sse_parser_free(req->sse);
}
