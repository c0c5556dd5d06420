/* Fuzz target: the proxy's handling of an agent's request body, per endpoint (first byte % 5:
 * chat/completions, messages, responses, embeddings, completions). There is no pure
 * "parse and validate a body" function in proxy/ yet: request_process() (server.c) and
 * build_body() (relay.c) are static and tied to libmicrohttpd/libcurl. This target runs the same
 * chain on the same library calls: json_loadb(JSON_REJECT_DUPLICATES) + object check, "model"
 * string, model_decide() against a fixed config and profile, the "stream" check, the body rewrite
 * or translation for the route and provider type, and the API-shaped error body for each denial.
 * Keep it in step with server.c/relay.c. Oracles: verdicts are consistent with the profile's
 * globs, every error body is valid JSON in the caller's shape, the upstream body names the
 * provider's model id, and the provider's API key never appears in anything produced. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/json-util.h"
#include "policy/config.h"
#include "policy/model.h"
#include "policy/profile.h"
#include "proxy/api-error.h"
#include "proxy/translate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x)                                                                                   \
        do {                                                                                       \
                if (!(x))                                                                          \
                        abort();                                                                   \
        } while (0)

#define KEY "sk-FUZZ-KEY-MARKER"

static const char config_text[] =
        "{\"qclaw_proxy\":1,\"listen\":[\"127.0.0.1:32125\"],\"audit_log\":\"/a\","
        "\"profiles_dir\":\"/p\",\"providers\":{"
        "\"anthropic\":{\"type\":\"anthropic\",\"base_url\":\"https://api.anthropic.com\","
        "\"api_key\":\"${KEY}\",\"models\":[\"claude-*\"]},"
        "\"openai\":{\"type\":\"openai\",\"base_url\":\"https://api.openai.com/v1\","
        "\"api_key\":\"${KEY}\",\"models\":[\"gpt-4o\",\"o?-mini\"]},"
        "\"ollama\":{\"type\":\"openai\",\"base_url\":\"http://127.0.0.1:11434/v1\","
        "\"models\":[\"*\"]}}}";
static const char profile_text[] =
        "{\"qclaw_profile\":1,\"name\":\"fuzz\",\"models\":[\"anthropic/claude-sonnet-*\","
        "\"openai/*\",\"ollama/llama*\",\"ollama/*/x?\"]}";

enum route { CHAT, MESSAGES, RESPONSES, EMBEDDINGS, COMPLETIONS };
static const char *const endpoints[] = { "/v1/chat/completions", "/v1/messages", "/v1/responses",
                                         "/v1/embeddings", "/v1/completions" };

static struct proxy_config *cfg;
static struct profile *prof;
static bool input_has_marker;

static const char *fuzz_getenv(const char *name, void *userdata)
{
        return strcmp(name, "KEY") == 0 ? KEY : NULL;
}

static void init(void)
{
        char err[POLICY_ERR_MAX];
        if (cfg)
                return;
        if (proxy_config_load_string("cfg", config_text, strlen(config_text), fuzz_getenv, NULL,
                                     &cfg, err) < 0 ||
            profile_load_string("prof", profile_text, strlen(profile_text), NULL, &prof, err) < 0)
                abort();
}

static void no_secret(const char *s, size_t len)
{
        CHECK(input_has_marker || !memmem(s, len, KEY, strlen(KEY)));
}

/* What server.c does on a denial: the error body in the caller's shape. */
static void deny(enum llm_api shape, enum api_error_case c, const char *msg)
{
        struct api_error e;
        api_error_proxy(&e, c, msg, -1);
        struct strbuf b = STRBUF_INIT(64 * 1024);
        CHECK(api_error_body(&e, shape, "req_1", &b) == 0);
        json_error_t jerr;
        json_t *j = json_loadb(b.data, b.len, JSON_REJECT_DUPLICATES, &jerr);
        CHECK(json_is_object(j));
        const json_t *err = json_object_get(j, "error");
        CHECK(json_get_str(err, "message", NULL) && json_get_str(err, "type", NULL));
        if (shape == LLM_API_ANTHROPIC)
                CHECK(strcmp(json_get_str(j, "type", ""), "error") == 0);
        no_secret(b.data, b.len);
        json_decref(j);
        strbuf_free(&b);
}

/* relay.c build_body(): the bytes that go upstream, or -EINVAL with *e filled. */
static int build_body(enum route route, const struct model_route *mr, bool stream, json_t *reqj,
                      const char *model, char **ret, struct api_error *e)
{
        const struct provider *pv = mr->provider;
        _cleanup_json_ json_t *up = NULL;
        struct translate_request_opts o = { .model = mr->model,
                                            .default_max_tokens = (int64_t)pv->default_max_tokens };
        if (route == CHAT) {
                bool st, include_usage;
                translate_openai_stream_flags(reqj, &st, &include_usage);
                if (pv->type == PROVIDER_ANTHROPIC) {
                        int r = translate_request_openai_to_anthropic(reqj, &o, &up, e);
                        if (r < 0)
                                return r;
                } else if (stream && !include_usage) {
                        json_t *so = json_object_get(reqj, "stream_options");
                        if (!json_is_object(so)) {
                                so = json_object();
                                json_object_set_new(reqj, "stream_options", so);
                        }
                        json_object_set_new(so, "include_usage", json_true());
                }
        } else if (route == MESSAGES && pv->type == PROVIDER_OPENAI) {
                int r = translate_request_anthropic_to_openai(reqj, &o, &up, e);
                if (r < 0)
                        return r;
        }
        if (!up && strcmp(mr->model, model) != 0)
                json_object_set_new(reqj, "model", json_string(mr->model));
        *ret = json_dump_compact(up ? up : reqj);
        return *ret ? 0 : -ENOMEM;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        if (size == 0)
                return 0;
        init();
        enum route route = (enum route)(data[0] % 5);
        enum llm_api shape = route == MESSAGES ? LLM_API_ANTHROPIC : LLM_API_OPENAI;
        const char *body = (const char *)data + 1;
        size_t len = size - 1;
        input_has_marker = memmem(body, len, "FUZZ", 4) || memchr(body, '\\', len);

        json_error_t jerr;
        _cleanup_json_ json_t *j = json_loadb(len ? body : "", len, JSON_REJECT_DUPLICATES, &jerr);
        if (!j || !json_is_object(j)) {
                deny(shape, API_ERR_BAD_REQUEST, "The request body is not a JSON object.");
                return 0;
        }
        const char *model = json_get_str(j, "model", NULL);
        if (!model) {
                deny(shape, API_ERR_BAD_REQUEST, "The request needs a \"model\" string.");
                return 0;
        }
        char req_model[MODEL_ID_MAX + 1];
        snprintf(req_model, sizeof(req_model), "%s", model);
        struct model_route mr;
        memset(&mr, 0, sizeof(mr));
        enum model_verdict v = model_decide(cfg, prof, model, &mr);
        char msg[MODEL_ID_MAX + 128];
        switch (v) {
        case MODEL_ALLOW:
        case MODEL_DENY_NOT_ALLOWED:
                /* Resolved: a configured provider, its own id, and the verdict is the glob's. */
                CHECK(proxy_config_find_provider(cfg, mr.provider->name) == mr.provider);
                CHECK(memchr(mr.model, 0, sizeof(mr.model)) && mr.model[0]);
                CHECK(strlen(model) <= MODEL_ID_MAX);
                CHECK(model_allowed(prof, mr.provider->name, mr.model) == (v == MODEL_ALLOW));
                if (v == MODEL_ALLOW)
                        break;
                snprintf(msg, sizeof(msg), "The model `%s` is not allowed for profile %s.",
                         req_model, prof->name);
                deny(shape, API_ERR_MODEL_NOT_ALLOWED, msg);
                return 0;
        case MODEL_UNKNOWN:
                snprintf(msg, sizeof(msg),
                         "The model `%s` does not exist or you do not have access to it.",
                         req_model);
                deny(shape, API_ERR_MODEL_NOT_FOUND, msg);
                return 0;
        case MODEL_INVALID:
                deny(shape, API_ERR_BAD_REQUEST, "Invalid model name.");
                return 0;
        default:
                abort();
        }
        if (route != CHAT && route != MESSAGES && mr.provider->type != PROVIDER_OPENAI) {
                snprintf(msg, sizeof(msg), "%s is not available for model `%s` (an Anthropic "
                         "provider).", endpoints[route], req_model);
                deny(shape, API_ERR_BAD_REQUEST, msg);
                return 0;
        }
        json_t *js = json_object_get(j, "stream");
        if (js && !json_is_boolean(js)) {
                deny(shape, API_ERR_BAD_REQUEST, "\"stream\" must be a boolean.");
                return 0;
        }
        bool stream = json_is_true(js);

        struct api_error e;
        memset(&e, 0, sizeof(e));
        _cleanup_free_ char *up = NULL;
        int r = build_body(route, &mr, stream, j, model, &up, &e);
        if (r == -EINVAL) {
                CHECK(e.status == 400 && e.message[0]);
                struct strbuf b = STRBUF_INIT(64 * 1024);
                CHECK(api_error_body(&e, shape, NULL, &b) == 0);
                json_t *ej = json_loadb(b.data, b.len, 0, &jerr);
                CHECK(json_is_object(ej));
                json_decref(ej);
                no_secret(b.data, b.len);
                strbuf_free(&b);
                return 0;
        }
        CHECK(r == 0 || r == -ENOMEM);
        if (r < 0)
                return 0;
        /* What goes upstream: a JSON object naming the provider's model id, never the key. */
        no_secret(up, strlen(up));
        json_t *uj = json_loads(up, 0, &jerr);
        CHECK(json_is_object(uj));
        CHECK(strcmp(json_get_str(uj, "model", ""), mr.model) == 0);
        if (route == CHAT && mr.provider->type == PROVIDER_OPENAI && stream)
                CHECK(json_is_true(json_object_get(json_object_get(uj, "stream_options"),
                                                   "include_usage")));
        json_decref(uj);
        return 0;
}
