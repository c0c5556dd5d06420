/* Unit tests for proxy/api-error.c: proxy-originated errors in both shapes, upstream mapping
 * (529 -> 503, 401/403 never leak, retry-after carried, garbage bodies), stream error events. */
#include <string.h>

#include "common/json-util.h"
#include "common/strbuf.h"
#include "proxy/api-error.h"
#include "tap.h"

static json_t *render(const struct api_error *e, enum llm_api shape, const char *rid, char **raw)
{
        struct strbuf b = STRBUF_INIT(1 << 16);
        CHECK(api_error_body(e, shape, rid, &b) == 0);
        json_error_t jerr;
        json_t *j = json_loads(b.data ? b.data : "", 0, &jerr);
        CHECK(j != NULL);
        if (raw)
                strbuf_steal(&b, raw);
        else
                strbuf_free(&b);
        return j;
}

static const struct {
        enum api_error_case c;
        int status;
        const char *oa_type, *oa_code, *an_type;
        bool no_retry;
} proxy_cases[] = {
        { API_ERR_BAD_TOKEN, 401, "invalid_request_error", "invalid_api_key", "authentication_error", false },
        { API_ERR_MODEL_NOT_ALLOWED, 403, "permission_error", "model_not_allowed", "permission_error", true },
        { API_ERR_MODEL_NOT_FOUND, 404, "invalid_request_error", "model_not_found", "not_found_error", false },
        { API_ERR_BUDGET, 429, "insufficient_quota", "insufficient_quota", "rate_limit_error", true },
        { API_ERR_RATE_REQUESTS, 429, "requests", "rate_limit_exceeded", "rate_limit_error", false },
        { API_ERR_RATE_TOKENS, 429, "tokens", "rate_limit_exceeded", "rate_limit_error", false },
        { API_ERR_BAD_REQUEST, 400, "invalid_request_error", NULL, "invalid_request_error", false },
        { API_ERR_TOO_LARGE, 413, "invalid_request_error", "request_too_large", "request_too_large", false },
        { API_ERR_UPSTREAM, 502, "server_error", "upstream_error", "api_error", false },
        { API_ERR_TIMEOUT, 504, "server_error", "timeout", "api_error", false },
        { API_ERR_UNAVAILABLE, 503, "server_error", "service_unavailable", "overloaded_error", false },
};

static void test_proxy_cases(void)
{
        for (size_t i = 0; i < ELEMENTSOF(proxy_cases); i++) {
                struct api_error e;
                api_error_proxy(&e, proxy_cases[i].c, NULL, 1500);
                CHECK(e.status == proxy_cases[i].status);
                CHECK(e.no_retry == proxy_cases[i].no_retry);

                _cleanup_json_ json_t *o = render(&e, LLM_API_OPENAI, NULL, NULL);
                const json_t *err = json_object_get(o, "error");
                CHECK(json_is_object(err));
                CHECK_STREQ(json_get_str(err, "type", NULL), proxy_cases[i].oa_type);
                if (proxy_cases[i].oa_code)
                        CHECK_STREQ(json_get_str(err, "code", NULL), proxy_cases[i].oa_code);
                else
                        CHECK(json_is_null(json_object_get(err, "code")));
                CHECK(json_is_null(json_object_get(err, "param")));
                CHECK(json_get_str(err, "message", "")[0] != '\0');

                _cleanup_json_ json_t *a = render(&e, LLM_API_ANTHROPIC, "req_1", NULL);
                CHECK_STREQ(json_get_str(a, "type", NULL), "error");
                CHECK_STREQ(json_get_str(a, "request_id", NULL), "req_1");
                err = json_object_get(a, "error");
                CHECK_STREQ(json_get_str(err, "type", NULL), proxy_cases[i].an_type);
                CHECK(json_get_str(err, "message", "")[0] != '\0');
                CHECK(json_object_get(err, "code") == NULL);

                bool rate = proxy_cases[i].c == API_ERR_RATE_REQUESTS ||
                            proxy_cases[i].c == API_ERR_RATE_TOKENS;
                CHECK(rate ? strcmp(e.retry_after, "2") == 0 : e.retry_after[0] == '\0');
                CHECK(rate ? e.retry_after_ms == 1500 : e.retry_after_ms < 0);
        }
}

static void test_param_and_message(void)
{
        struct api_error e;
        api_error_set(&e, API_ERROR_INVALID_REQUEST, NULL, "messages[0].role", "bad %s", "role");
        _cleanup_json_ json_t *o = render(&e, LLM_API_OPENAI, NULL, NULL);
        const json_t *err = json_object_get(o, "error");
        CHECK_STREQ(json_get_str(err, "param", NULL), "messages[0].role");
        CHECK_STREQ(json_get_str(err, "message", NULL), "bad role");
        CHECK(e.status == 400);
        _cleanup_json_ json_t *a = render(&e, LLM_API_ANTHROPIC, NULL, NULL);
        CHECK(json_is_null(json_object_get(a, "request_id")));
}

#define SECRET_MSG "Incorrect API key provided: sk-proj-abc***xyz. SECRET-DETAIL-42"

static void test_upstream_auth_never_leaks(void)
{
        const char *bodies[] = {
                "{\"error\":{\"message\":\"" SECRET_MSG "\",\"type\":\"invalid_request_error\","
                "\"param\":null,\"code\":\"invalid_api_key\"}}",
                "{\"type\":\"error\",\"error\":{\"type\":\"authentication_error\",\"message\":\""
                SECRET_MSG "\"},\"request_id\":\"req_x\"}",
        };
        int statuses[] = { 401, 403 };
        for (size_t s = 0; s < ELEMENTSOF(statuses); s++)
                for (size_t i = 0; i < ELEMENTSOF(bodies); i++)
                        for (int shape = 0; shape < 2; shape++) {
                                struct api_error e;
                                api_error_from_upstream(&e, statuses[s], bodies[i],
                                                        strlen(bodies[i]), NULL);
                                CHECK(e.status == 502);
                                CHECK(e.upstream_auth_failure);
                                _cleanup_free_ char *raw = NULL;
                                _cleanup_json_ json_t *j = render(&e, shape, NULL, &raw);
                                CHECK(strstr(raw, "SECRET-DETAIL-42") == NULL);
                                CHECK(strstr(raw, "sk-proj") == NULL);
                                CHECK(strstr(raw, "invalid_api_key") == NULL);
                                if (shape == LLM_API_OPENAI)
                                        CHECK_STREQ(json_get_str(json_object_get(j, "error"),
                                                                 "code", NULL),
                                                    "upstream_error");
                        }
}

static void test_upstream_mapping(void)
{
        struct api_error e;
        const char *overloaded = "{\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\","
                                 "\"message\":\"Overloaded\"}}";
        api_error_from_upstream(&e, 529, overloaded, strlen(overloaded), NULL);
        CHECK(e.status == 503);
        CHECK(e.kind == API_ERROR_OVERLOADED);
        CHECK_STREQ(e.message, "Overloaded");
        CHECK_STREQ(api_error_type(&e, LLM_API_ANTHROPIC), "overloaded_error");
        CHECK_STREQ(api_error_type(&e, LLM_API_OPENAI), "server_error");

        const char *rl = "{\"type\":\"error\",\"error\":{\"type\":\"rate_limit_error\","
                         "\"message\":\"Number of request tokens has exceeded your per-minute rate limit\"}}";
        api_error_from_upstream(&e, 429, rl, strlen(rl), "17");
        CHECK(e.status == 429);
        CHECK(e.kind == API_ERROR_RATE_LIMIT);
        CHECK_STREQ(e.retry_after, "17");
        CHECK(e.retry_after_ms == 17000);
        CHECK_STREQ(e.code, "rate_limit_exceeded");
        CHECK_STREQ(api_error_type(&e, LLM_API_ANTHROPIC), "rate_limit_error");
        CHECK(strstr(e.message, "per-minute") != NULL);

        /* Header injection attempt in retry-after is dropped. */
        api_error_from_upstream(&e, 429, rl, strlen(rl), "1\r\nSet-Cookie: x");
        CHECK(e.retry_after[0] == '\0');
        CHECK(e.retry_after_ms < 0);

        const char *quota = "{\"error\":{\"message\":\"You exceeded your current quota\","
                            "\"type\":\"insufficient_quota\",\"param\":null,\"code\":\"insufficient_quota\"}}";
        api_error_from_upstream(&e, 429, quota, strlen(quota), NULL);
        CHECK(e.kind == API_ERROR_QUOTA);
        CHECK_STREQ(api_error_type(&e, LLM_API_OPENAI), "insufficient_quota");

        const char *ctx = "{\"error\":{\"message\":\"This model's maximum context length is 8192 tokens\","
                          "\"type\":\"invalid_request_error\",\"param\":\"messages\",\"code\":\"context_length_exceeded\"}}";
        api_error_from_upstream(&e, 400, ctx, strlen(ctx), NULL);
        CHECK(e.status == 400);
        CHECK_STREQ(e.code, "context_length_exceeded");
        CHECK_STREQ(e.param, "messages");
        CHECK(strstr(e.message, "8192") != NULL);

        /* Garbage body: generic message naming the status. */
        api_error_from_upstream(&e, 500, "<html>oops SECRETHTML</html>", 28, NULL);
        CHECK(e.status == 500);
        CHECK(strstr(e.message, "500") != NULL);
        CHECK(strstr(e.message, "SECRETHTML") == NULL);
        api_error_from_upstream(&e, 502, NULL, 0, NULL);
        CHECK(e.status == 502);

        /* Non-error status -> 502. */
        api_error_from_upstream(&e, 200, "{}", 2, NULL);
        CHECK(e.status == 502);
        CHECK_STREQ(e.code, "upstream_error");

        /* A non-401 message that talks about keys is withheld. */
        const char *keymsg = "{\"error\":{\"message\":\"Your api key sk-abc is restricted\"}}";
        api_error_from_upstream(&e, 400, keymsg, strlen(keymsg), NULL);
        CHECK(strstr(e.message, "sk-abc") == NULL);

        /* Ollama-style {"error":"string"} */
        const char *ol = "{\"error\":\"model 'x' not found\"}";
        api_error_from_upstream(&e, 404, ol, strlen(ol), NULL);
        CHECK(e.status == 404);
        CHECK_STREQ(e.message, "model 'x' not found");

        /* Control characters in upstream text are neutralised. */
        const char *cc = "{\"error\":{\"message\":\"a\\nb\\u0000c\"}}";
        api_error_from_upstream(&e, 400, cc, strlen(cc), NULL);
        CHECK(strchr(e.message, '\n') == NULL);
}

static void test_stream_events(void)
{
        struct api_error e;
        const char *ev = "{\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}";
        api_error_from_stream_event(&e, ev, strlen(ev));
        CHECK(e.status == 503);

        struct strbuf b = STRBUF_INIT(4096);
        CHECK(api_error_stream_event(&e, LLM_API_OPENAI, &b) == 0);
        CHECK(strncmp(b.data, "data: {\"error\":{", 16) == 0);
        CHECK(b.len > 2 && strcmp(b.data + b.len - 2, "\n\n") == 0);
        json_error_t jerr;
        _cleanup_json_ json_t *j = json_loadb(b.data + 6, b.len - 8, 0, &jerr);
        CHECK_STREQ(json_get_str(json_object_get(j, "error"), "message", NULL), "Overloaded");
        strbuf_reset(&b);

        CHECK(api_error_stream_event(&e, LLM_API_ANTHROPIC, &b) == 0);
        CHECK(strncmp(b.data, "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\"",
                      strlen("event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\"")) == 0);
        strbuf_free(&b);

        api_error_from_stream_event(&e, "nonsense", 8);
        CHECK(e.status == 502);
        CHECK_STREQ(e.code, "upstream_error");

        const char *auth = "{\"type\":\"error\",\"error\":{\"type\":\"authentication_error\",\"message\":\"bad key SECRETX\"}}";
        api_error_from_stream_event(&e, auth, strlen(auth));
        CHECK(strstr(e.message, "SECRETX") == NULL);
        CHECK(e.upstream_auth_failure);
}

int main(void)
{
        test_proxy_cases();
        test_param_and_message();
        test_upstream_auth_never_leaks();
        test_upstream_mapping();
        test_stream_events();
        return TEST_DONE();
}
