/* API-shaped error bodies (OpenAI / Anthropic), proxy-originated errors and upstream error mapping.
 * Trust level: upstream error bodies are untrusted; their text is bounded, control characters are
 * replaced, and credential failures never carry upstream text. Pure: no I/O. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/json-util.h"
#include "proxy/api-error.h"

static const struct {
        int status;
        const char *openai_type;
        const char *anthropic_type;
        const char *message;
} kind_table[] = {
        [API_ERROR_INVALID_REQUEST] = { 400, "invalid_request_error", "invalid_request_error",
                                        "Invalid request" },
        [API_ERROR_AUTH] = { 401, "invalid_request_error", "authentication_error",
                             "Invalid authentication" },
        [API_ERROR_PERMISSION] = { 403, "permission_error", "permission_error",
                                   "Permission denied" },
        [API_ERROR_NOT_FOUND] = { 404, "invalid_request_error", "not_found_error", "Not found" },
        [API_ERROR_TOO_LARGE] = { 413, "invalid_request_error", "request_too_large",
                                  "Request too large" },
        [API_ERROR_RATE_LIMIT] = { 429, "requests", "rate_limit_error", "Rate limit exceeded" },
        [API_ERROR_QUOTA] = { 429, "insufficient_quota", "rate_limit_error",
                              "Budget exhausted" },
        [API_ERROR_UPSTREAM] = { 502, "server_error", "api_error",
                                 "The upstream provider could not be reached or sent a bad response" },
        [API_ERROR_TIMEOUT] = { 504, "server_error", "api_error",
                                "The upstream provider timed out" },
        [API_ERROR_OVERLOADED] = { 503, "server_error", "overloaded_error",
                                   "The upstream provider is overloaded" },
        [API_ERROR_SERVER] = { 500, "server_error", "api_error", "Internal server error" },
};

static const struct {
        enum api_error_kind kind;
        int status;
        const char *type; /* OpenAI type override, NULL -> from kind */
        const char *code;
        bool no_retry;
        const char *message;
} case_table[] = {
        [API_ERR_BAD_TOKEN] = { API_ERROR_AUTH, 401, "invalid_request_error", "invalid_api_key",
                                false, "Missing or invalid proxy token" },
        [API_ERR_MODEL_NOT_ALLOWED] = { API_ERROR_PERMISSION, 403, NULL, "model_not_allowed", true,
                                        "This model is not allowed for this agent" },
        [API_ERR_TOOL_NOT_ALLOWED] = { API_ERROR_PERMISSION, 403, NULL, "tool_not_allowed", true,
                                       "This provider-side tool is not allowed for this agent" },
        [API_ERR_MODEL_NOT_FOUND] = { API_ERROR_NOT_FOUND, 404, NULL, "model_not_found", false,
                                      "The model does not exist" },
        [API_ERR_BUDGET] = { API_ERROR_QUOTA, 429, NULL, "insufficient_quota", true,
                             "The token budget for this agent is exhausted" },
        [API_ERR_RATE_REQUESTS] = { API_ERROR_RATE_LIMIT, 429, "requests", "rate_limit_exceeded",
                                    false, "Rate limit reached for requests" },
        [API_ERR_RATE_TOKENS] = { API_ERROR_RATE_LIMIT, 429, "tokens", "rate_limit_exceeded", false,
                                  "Rate limit reached for tokens" },
        [API_ERR_BAD_REQUEST] = { API_ERROR_INVALID_REQUEST, 400, NULL, NULL, false,
                                  "Invalid request" },
        [API_ERR_TOO_LARGE] = { API_ERROR_TOO_LARGE, 413, NULL, "request_too_large", false,
                                "Request body too large" },
        [API_ERR_UPSTREAM] = { API_ERROR_UPSTREAM, 502, NULL, "upstream_error", false, NULL },
        [API_ERR_TIMEOUT] = { API_ERROR_TIMEOUT, 504, NULL, "timeout", false, NULL },
        [API_ERR_UNAVAILABLE] = { API_ERROR_OVERLOADED, 503, NULL, "service_unavailable", false,
                                  "Service temporarily unavailable" },
        [API_ERR_NOT_IMPLEMENTED] = { API_ERROR_NOT_FOUND, 404, NULL, "unknown_url", false,
                                      "Unknown endpoint" },
        [API_ERR_METHOD] = { API_ERROR_INVALID_REQUEST, 405, NULL, "method_not_allowed", false,
                             "Method not allowed" },
};

int api_error_kind_status(enum api_error_kind kind)
{
        if ((unsigned)kind >= ELEMENTSOF(kind_table))
                return 500;
        return kind_table[kind].status;
}

/* Bounded copy of untrusted text: control characters become spaces, UTF-8 is not cut mid-way. */
static void copy_text(char *dst, size_t size, const char *src)
{
        size_t n = 0;
        if (!src)
                src = "";
        for (; *src && n + 1 < size; src++)
                dst[n++] = ((unsigned char)*src < 0x20 || *src == 0x7f) ? ' ' : *src;
        if (*src) {
                /* Truncated: back off over a partial UTF-8 sequence. */
                while (n > 0 && ((unsigned char)dst[n - 1] & 0xC0) == 0x80)
                        n--;
                if (n > 0 && ((unsigned char)dst[n - 1] & 0xC0) == 0xC0)
                        n--;
        }
        dst[n] = '\0';
}

/* Identifier-like fields (type/code/param): printable ASCII only, else dropped. */
static void copy_ident(char *dst, size_t size, const char *src)
{
        dst[0] = '\0';
        if (!src || strlen(src) >= size)
                return;
        for (const char *c = src; *c; c++)
                if ((unsigned char)*c <= 0x20 || (unsigned char)*c >= 0x7f)
                        return;
        memcpy(dst, src, strlen(src) + 1);
}

static void api_error_clear(struct api_error *e, enum api_error_kind kind)
{
        memset(e, 0, sizeof(*e));
        e->kind = kind;
        e->status = api_error_kind_status(kind);
        e->retry_after_ms = -1;
}

void api_error_set(struct api_error *e, enum api_error_kind kind, const char *code,
                   const char *param, const char *fmt, ...)
{
        api_error_clear(e, kind);
        copy_ident(e->code, sizeof(e->code), code);
        copy_text(e->param, sizeof(e->param), param);
        if (fmt) {
                char buf[API_ERROR_MESSAGE_MAX];
                va_list ap;
                va_start(ap, fmt);
                vsnprintf(buf, sizeof(buf), fmt, ap);
                va_end(ap);
                copy_text(e->message, sizeof(e->message), buf);
        }
}

void api_error_proxy(struct api_error *e, enum api_error_case c, const char *message,
                     int64_t retry_after_ms)
{
        if ((unsigned)c >= _API_ERR_CASE_MAX)
                c = API_ERR_UPSTREAM;
        api_error_clear(e, case_table[c].kind);
        e->status = case_table[c].status;
        copy_ident(e->code, sizeof(e->code), case_table[c].code);
        if (case_table[c].type) {
                copy_ident(e->type, sizeof(e->type), case_table[c].type);
                e->type_api = LLM_API_OPENAI;
        }
        e->no_retry = case_table[c].no_retry;
        copy_text(e->message, sizeof(e->message), message ? message : case_table[c].message);
        if (retry_after_ms >= 0 && (c == API_ERR_RATE_REQUESTS || c == API_ERR_RATE_TOKENS)) {
                e->retry_after_ms = retry_after_ms;
                snprintf(e->retry_after, sizeof(e->retry_after), "%lld",
                         (long long)((retry_after_ms + 999) / 1000));
        }
}

const char *api_error_type(const struct api_error *e, enum llm_api shape)
{
        if (e->type[0] && e->type_api == shape)
                return e->type;
        enum api_error_kind k = (unsigned)e->kind < ELEMENTSOF(kind_table) ? e->kind
                                                                            : API_ERROR_SERVER;
        return shape == LLM_API_ANTHROPIC ? kind_table[k].anthropic_type : kind_table[k].openai_type;
}

static const char *api_error_message(const struct api_error *e)
{
        if (e->message[0])
                return e->message;
        enum api_error_kind k = (unsigned)e->kind < ELEMENTSOF(kind_table) ? e->kind
                                                                            : API_ERROR_SERVER;
        return kind_table[k].message;
}

static json_t *error_object(const struct api_error *e, enum llm_api shape)
{
        if (shape == LLM_API_ANTHROPIC)
                return json_pack("{s:s, s:s}", "type", api_error_type(e, shape), "message",
                                 api_error_message(e));
        return json_pack("{s:s, s:s, s:o, s:o}", "message", api_error_message(e), "type",
                         api_error_type(e, shape), "param",
                         e->param[0] ? json_string(e->param) : json_null(), "code",
                         e->code[0] ? json_string(e->code) : json_null());
}

static int append_json(struct strbuf *out, json_t *j)
{
        if (!j)
                return -ENOMEM;
        _cleanup_free_ char *s = json_dump_compact(j);
        if (!s)
                return -ENOMEM;
        return strbuf_appends(out, s);
}

int api_error_body(const struct api_error *e, enum llm_api shape, const char *request_id,
                   struct strbuf *out)
{
        json_t *inner = error_object(e, shape);
        if (!inner)
                return -ENOMEM;
        _cleanup_json_ json_t *body = NULL;
        if (shape == LLM_API_ANTHROPIC)
                body = json_pack("{s:s, s:o, s:o}", "type", "error", "error", inner, "request_id",
                                 request_id ? json_string(request_id) : json_null());
        else
                body = json_pack("{s:o}", "error", inner);
        return append_json(out, body);
}

int api_error_stream_event(const struct api_error *e, enum llm_api shape, struct strbuf *out)
{
        json_t *inner = error_object(e, shape);
        if (!inner)
                return -ENOMEM;
        _cleanup_json_ json_t *body = NULL;
        int r;
        if (shape == LLM_API_ANTHROPIC) {
                body = json_pack("{s:s, s:o}", "type", "error", "error", inner);
                r = strbuf_appends(out, "event: error\ndata: ");
        } else {
                body = json_pack("{s:o}", "error", inner);
                r = strbuf_appends(out, "data: ");
        }
        if (r < 0)
                return r;
        r = append_json(out, body);
        if (r < 0)
                return r;
        return strbuf_appends(out, "\n\n");
}

static enum api_error_kind kind_from_status(int status)
{
        switch (status) {
        case 400: case 409: case 422: return API_ERROR_INVALID_REQUEST;
        case 401: return API_ERROR_AUTH;
        case 403: return API_ERROR_PERMISSION;
        case 404: return API_ERROR_NOT_FOUND;
        case 413: return API_ERROR_TOO_LARGE;
        case 429: return API_ERROR_RATE_LIMIT;
        case 408: case 504: return API_ERROR_TIMEOUT;
        case 502: return API_ERROR_UPSTREAM;
        case 503: case 529: return API_ERROR_OVERLOADED;
        }
        if (status >= 400 && status < 500)
                return API_ERROR_INVALID_REQUEST;
        return API_ERROR_SERVER;
}

/* Anthropic/OpenAI error types that name a kind (for stream events, which have no status). */
static bool kind_from_type(const char *type, enum api_error_kind *ret)
{
        static const struct { const char *type; enum api_error_kind kind; } map[] = {
                { "invalid_request_error", API_ERROR_INVALID_REQUEST },
                { "authentication_error", API_ERROR_AUTH },
                { "permission_error", API_ERROR_PERMISSION },
                { "not_found_error", API_ERROR_NOT_FOUND },
                { "request_too_large", API_ERROR_TOO_LARGE },
                { "rate_limit_error", API_ERROR_RATE_LIMIT },
                { "requests", API_ERROR_RATE_LIMIT },
                { "tokens", API_ERROR_RATE_LIMIT },
                { "insufficient_quota", API_ERROR_QUOTA },
                { "api_error", API_ERROR_SERVER },
                { "server_error", API_ERROR_SERVER },
                { "overloaded_error", API_ERROR_OVERLOADED },
                { "timeout_error", API_ERROR_TIMEOUT },
        };
        if (!type)
                return false;
        for (size_t i = 0; i < ELEMENTSOF(map); i++)
                if (strcmp(map[i].type, type) == 0) {
                        *ret = map[i].kind;
                        return true;
                }
        return false;
}

static bool mentions_credentials(const char *m)
{
        static const char *const needles[] = { "api key", "api_key", "apikey", "api-key",
                                               "authorization", "bearer", "credential" };
        char low[API_ERROR_MESSAGE_MAX];
        size_t n = 0;
        for (; m[n] && n + 1 < sizeof(low); n++)
                low[n] = (char)tolower((unsigned char)m[n]);
        low[n] = '\0';
        for (size_t i = 0; i < ELEMENTSOF(needles); i++)
                if (strstr(low, needles[i]))
                        return true;
        /* Key-looking words: "sk-..." at a word start. */
        for (const char *p = strstr(low, "sk-"); p; p = strstr(p + 1, "sk-"))
                if (p == low || !isalnum((unsigned char)p[-1]))
                        return true;
        return false;
}

/* Parse either error shape; fills message/type/code/param. Returns the shape or -1. */
static int parse_error_json(const json_t *body, struct api_error *e)
{
        if (!json_is_object(body))
                return -1;
        const json_t *err = json_object_get(body, "error");
        int shape;
        if (json_is_string(err)) {
                /* Ollama and others: {"error":"message"} */
                copy_text(e->message, sizeof(e->message), json_string_value(err));
                return LLM_API_OPENAI;
        }
        if (!json_is_object(err))
                return -1;
        shape = json_is_string(json_object_get(body, "type")) ? LLM_API_ANTHROPIC : LLM_API_OPENAI;
        const char *msg = json_get_str(err, "message", NULL);
        if (msg)
                copy_text(e->message, sizeof(e->message), msg);
        const char *type = json_get_str(err, "type", NULL);
        if (type) {
                copy_ident(e->type, sizeof(e->type), type);
                e->type_api = shape;
        }
        if (shape == LLM_API_OPENAI) {
                const json_t *code = json_object_get(err, "code");
                if (json_is_string(code))
                        copy_ident(e->code, sizeof(e->code), json_string_value(code));
                else if (json_is_integer(code))
                        snprintf(e->code, sizeof(e->code), "%lld",
                                 (long long)json_integer_value(code));
                copy_text(e->param, sizeof(e->param), json_get_str(err, "param", ""));
        }
        return shape;
}

static bool header_value_ok(const char *v)
{
        size_t n = strlen(v);
        if (n == 0 || n >= 40)
                return false;
        for (const char *c = v; *c; c++)
                if ((unsigned char)*c < 0x20 || (unsigned char)*c >= 0x7f)
                        return false;
        return true;
}

void api_error_from_upstream(struct api_error *e, int upstream_status, const void *body,
                             size_t body_len, const char *retry_after_header)
{
        int status = upstream_status;
        if (status == 529)
                status = 503;
        if (status < 400 || status > 599)
                status = 502;

        if (upstream_status == 401 || upstream_status == 403) {
                /* Our key is broken or lacks rights: nothing of the upstream text goes out. */
                api_error_proxy(e, API_ERR_UPSTREAM,
                                "The upstream provider rejected the proxy's credentials; "
                                "the administrator has been notified",
                                -1);
                e->upstream_auth_failure = true;
                return;
        }

        api_error_clear(e, kind_from_status(status));
        e->status = status;
        if (upstream_status < 400 || upstream_status > 599)
                e->kind = API_ERROR_UPSTREAM;

        int shape = -1;
        if (body && body_len > 0 && body_len <= 1024 * 1024) {
                json_error_t jerr;
                _cleanup_json_ json_t *j = json_loadb(body, body_len, 0, &jerr);
                shape = parse_error_json(j, e);
        }
        if (shape < 0 || !e->message[0] || mentions_credentials(e->message)) {
                bool parsed = shape >= 0;
                snprintf(e->message, sizeof(e->message), "Upstream provider returned HTTP %d%s",
                         upstream_status, parsed ? " (details withheld)" : "");
        }
        if (e->kind == API_ERROR_UPSTREAM) {
                /* A "successful" status with an error body: do not echo upstream types. */
                e->type[0] = '\0';
                copy_ident(e->code, sizeof(e->code), "upstream_error");
        }

        if (status == 429) {
                enum api_error_kind k;
                if (strcmp(e->code, "insufficient_quota") == 0 ||
                    (kind_from_type(e->type, &k) && k == API_ERROR_QUOTA))
                        e->kind = API_ERROR_QUOTA;
                else if (!e->code[0])
                        copy_ident(e->code, sizeof(e->code), "rate_limit_exceeded");
                if (retry_after_header && header_value_ok(retry_after_header)) {
                        copy_ident(e->retry_after, sizeof(e->retry_after), retry_after_header);
                        char *end;
                        errno = 0;
                        unsigned long long secs = strtoull(retry_after_header, &end, 10);
                        if (errno == 0 && *end == '\0' && end != retry_after_header &&
                            secs < 86400ULL * 365)
                                e->retry_after_ms = (int64_t)secs * 1000;
                }
        }
}

void api_error_from_stream_event(struct api_error *e, const void *data, size_t len)
{
        api_error_clear(e, API_ERROR_UPSTREAM);
        copy_ident(e->code, sizeof(e->code), "upstream_error");
        if (!data || len == 0 || len > 1024 * 1024)
                return;
        json_error_t jerr;
        _cleanup_json_ json_t *j = json_loadb(data, len, 0, &jerr);
        struct api_error tmp;
        api_error_clear(&tmp, API_ERROR_UPSTREAM);
        int shape = parse_error_json(j, &tmp);
        if (shape < 0)
                return;
        enum api_error_kind k = API_ERROR_UPSTREAM;
        if (kind_from_type(tmp.type, &k)) {
                tmp.kind = k;
                tmp.status = api_error_kind_status(k);
        } else {
                tmp.status = 502;
        }
        if (k == API_ERROR_AUTH || k == API_ERROR_PERMISSION || !tmp.message[0] ||
            mentions_credentials(tmp.message)) {
                bool auth = tmp.type[0] && (k == API_ERROR_AUTH || k == API_ERROR_PERMISSION);
                api_error_proxy(e, API_ERR_UPSTREAM,
                                auth ? "The upstream provider rejected the proxy's credentials"
                                     : "The upstream provider reported an error",
                                -1);
                e->upstream_auth_failure = auth;
                return;
        }
        if (!tmp.code[0] && tmp.kind == API_ERROR_UPSTREAM)
                copy_ident(tmp.code, sizeof(tmp.code), "upstream_error");
        *e = tmp;
}
