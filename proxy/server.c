/* The agent-facing HTTP server: libmicrohttpd in external-epoll mode inside the proxy's loop,
 * no listen socket of its own (proxy/listener.c accepts and attaches identity). Here: identity
 * check, routing, model policy, limits, /v1/models, health, error responses in the caller's API
 * shape, request completion. Trust level: parses untrusted agent requests. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <unistd.h>

#include "common/fd-util.h"
#include "common/json-util.h"
#include "common/log.h"
#include "common/time-util.h"
#include "policy/provider-tools.h"
#include "proxy/jscan.h"
#include "proxy/relay.h"
#include "proxy/request.h"

static struct loop_source mhd_src = { .fd = -1 };
static struct request *requests; /* all live requests */
static struct conn_ident *pending_ident; /* identity for the connection being added */
static int pending_fd = -1;
static uint64_t req_counter;
static uint64_t req_prefix;

static const struct {
        const char *path;
        const char *method;
        enum route route;
        enum llm_api shape;
} routes[] = {
        { "/v1/chat/completions", "POST", ROUTE_CHAT, LLM_API_OPENAI },
        { "/v1/messages", "POST", ROUTE_MESSAGES, LLM_API_ANTHROPIC },
        { "/v1/responses", "POST", ROUTE_RESPONSES, LLM_API_OPENAI },
        { "/v1/embeddings", "POST", ROUTE_EMBEDDINGS, LLM_API_OPENAI },
        { "/v1/completions", "POST", ROUTE_COMPLETIONS, LLM_API_OPENAI },
        { "/v1/models", "GET", ROUTE_MODELS, LLM_API_OPENAI },
        { "/healthz", "GET", ROUTE_HEALTHZ, LLM_API_OPENAI },
        { "/readyz", "GET", ROUTE_READYZ, LLM_API_OPENAI },
};

/* ---- responses ---- */

static void add_common_headers(struct request *req, struct MHD_Response *r)
{
        MHD_add_response_header(r, req->shape == LLM_API_ANTHROPIC ? "request-id" : "x-request-id",
                                req->id);
}

void request_set_body(struct request *req, unsigned status, char *body, size_t len,
                      const char *ctype)
{
        struct MHD_Response *r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
        if (!r) {
                free(body);
                return;
        }
        MHD_add_response_header(r, "Content-Type", ctype);
        add_common_headers(req, r);
        if (req->resp)
                MHD_destroy_response(req->resp);
        req->resp = r;
        req->resp_status = status;
        req->state = REQ_RESPOND;
}

void request_set_error(struct request *req, const struct api_error *e)
{
        struct strbuf b = STRBUF_INIT(64 * 1024);
        char *data = NULL;
        if (api_error_body(e, req->shape, req->id, &b) < 0 || strbuf_steal(&b, &data) < 0) {
                strbuf_free(&b);
                data = strdup("{\"error\":{\"message\":\"internal error\"}}");
                if (!data)
                        return;
        }
        request_set_body(req, (unsigned)e->status, data, strlen(data), "application/json");
        if (!req->resp)
                return;
        if (e->no_retry)
                MHD_add_response_header(req->resp, "x-should-retry", "false");
        if (e->retry_after[0])
                MHD_add_response_header(req->resp, "retry-after", e->retry_after);
        if (e->retry_after_ms >= 0) {
                char v[32];
                snprintf(v, sizeof(v), "%lld", (long long)e->retry_after_ms);
                MHD_add_response_header(req->resp, "retry-after-ms", v);
        }
}

void request_audit_base(struct request *req, const char *event, struct audit_fields *f)
{
        audit_fields_begin(f, event);
        if (req->session)
                audit_fields_str(f, "session", req->session->id);
        if (req->client)
                audit_fields_str(f, "client", req->client);
        if (req->profile)
                audit_fields_str(f, "profile", req->profile->name);
        audit_fields_str(f, "request_id", req->id);
        if (req->endpoint)
                audit_fields_str(f, "endpoint", req->endpoint);
}

void request_deny(struct request *req, const char *reason, const struct api_error *e)
{
        P.denied_total++;
        struct audit_fields f;
        request_audit_base(req, "deny", &f);
        audit_fields_str(&f, "reason", reason);
        audit_fields_int(&f, "status", e->status);
        if (req->model[0])
                audit_fields_str(&f, "model", req->model);
        (void)paudit_queue_fields(&f, NULL);
        request_set_error(req, e);
}

static void deny_case(struct request *req, const char *reason, enum api_error_case c,
                      const char *msg, int64_t retry_ms)
{
        struct api_error e;
        api_error_proxy(&e, c, msg, retry_ms);
        request_deny(req, reason, &e);
}

/* In external-polling mode MHD has no wakeup channel of its own: a resumed connection is only
 * processed by the next MHD_run(), which the loop does when server_kicked() says so. */
static bool kicked;

void request_wake(struct request *req)
{
        if (req->suspended) {
                req->suspended = false;
                MHD_resume_connection(req->conn);
                kicked = true;
        }
}

bool server_kicked(void)
{
        bool k = kicked;
        kicked = false;
        return k;
}

/* ---- /v1/models, health ---- */

/* One /v1/models entry: the bare id when it resolves to this provider, else provider/model. */
static void models_add(struct request *req, json_t *data, const struct provider *p, const char *m,
                       bool anthropic_shape)
{
        const struct proxy_config *cfg = req->snap->config;
        if (strpbrk(m, "*?") || !model_allowed(req->profile, p->name, m))
                return;
        struct model_route mr;
        char full[2 * MODEL_ID_MAX + 2];
        const char *id = m;
        if (model_decide(cfg, req->profile, m, &mr) != MODEL_ALLOW || mr.provider != p) {
                snprintf(full, sizeof(full), "%s/%s", p->name, m);
                id = full;
        }
        size_t i;
        json_t *v;
        json_array_foreach(data, i, v)
                if (strcmp(json_string_value(json_object_get(v, "id")), id) == 0)
                        return;
        json_t *o = anthropic_shape
                ? json_pack("{s:s, s:s, s:s, s:s}", "type", "model", "id", id, "display_name", id,
                            "created_at", "1970-01-01T00:00:00Z")
                : json_pack("{s:s, s:s, s:i, s:s}", "id", id, "object", "model", "created", 0,
                            "owned_by", p->name);
        json_array_append_new(data, o);
}

/* Concrete names only (globs cannot be enumerated without asking the upstream): the providers'
 * literal model ids and the profile's literal "provider/model" entries the caller may use. */
static void respond_models(struct request *req, bool anthropic_shape)
{
        const struct proxy_config *cfg = req->snap->config;
        _cleanup_json_ json_t *data = json_array();
        for (size_t i = 0; i < cfg->n_providers; i++) {
                const struct provider *p = &cfg->providers[i];
                for (size_t k = 0; k < p->models.n; k++)
                        models_add(req, data, p, p->models.items[k], anthropic_shape);
        }
        for (size_t k = 0; k < req->profile->models.n; k++) {
                const char *g = req->profile->models.items[k];
                const char *slash = strchr(g, '/');
                if (!slash || (size_t)(slash - g) >= MODEL_ID_MAX)
                        continue;
                char pname[MODEL_ID_MAX + 1];
                memcpy(pname, g, (size_t)(slash - g));
                pname[slash - g] = 0;
                const struct provider *p = proxy_config_find_provider(cfg, pname);
                if (!p)
                        continue;
                struct model_route mr;
                if (model_decide(cfg, req->profile, g, &mr) == MODEL_ALLOW)
                        models_add(req, data, p, slash + 1, anthropic_shape);
        }
        size_t n = json_array_size(data);
        json_t *first = n ? json_object_get(json_array_get(data, 0), "id") : NULL;
        json_t *last = n ? json_object_get(json_array_get(data, n - 1), "id") : NULL;
        _cleanup_json_ json_t *body =
                anthropic_shape ? json_pack("{s:O, s:b, s:O, s:O}", "data", data, "has_more", 0,
                                            "first_id", first ? first : json_null(), "last_id",
                                            last ? last : json_null())
                                : json_pack("{s:s, s:O}", "object", "list", "data", data);
        char *s = body ? json_dump_compact(body) : NULL;
        if (s)
                request_set_body(req, 200, s, strlen(s), "application/json");
}

static void respond_text(struct request *req, unsigned status, const char *text)
{
        char *s = strdup(text);
        if (s)
                request_set_body(req, status, s, strlen(s), "application/json");
}

/* ---- identity ---- */

static const char *bearer_token(struct MHD_Connection *c)
{
        const char *a = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
        if (a && strncasecmp(a, "Bearer ", 7) == 0) {
                a += 7;
                while (*a == ' ')
                        a++;
                return *a ? a : NULL;
        }
        a = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "x-api-key");
        return a && *a ? a : NULL;
}

/* Find the caller's profile. false: a 401/403 is set. */
static bool identify(struct request *req)
{
        if (req->ident && req->ident->session) {
                struct session *s = req->ident->session;
                if (s->ended) {
                        deny_case(req, "session_ended", API_ERR_BAD_TOKEN,
                                  "This session has ended.", -1);
                        return false;
                }
                req->session = session_ref(s);
                s->requests++;
                s->active++;
                req->profile = profile_set_find(req->snap->profiles, s->profile);
                if (!req->profile) {
                        struct api_error e;
                        api_error_set(&e, API_ERROR_PERMISSION, "profile_not_found", NULL,
                                      "The session's profile is no longer configured.");
                        e.no_retry = true;
                        request_deny(req, "profile_not_found", &e);
                        return false;
                }
                return true;
        }
        if (!req->ident || !req->ident->needs_token) {
                deny_case(req, "unauthenticated", API_ERR_BAD_TOKEN, NULL, -1);
                return false;
        }
        const char *tok = bearer_token(req->conn);
        const struct client *cl = tok ? proxy_config_find_client_by_token(req->snap->config, tok)
                                      : NULL;
        if (!cl) {
                deny_case(req, "unauthenticated", API_ERR_BAD_TOKEN,
                          tok ? "Invalid API key for this proxy."
                              : "Missing API key: send Authorization: Bearer <client token>.",
                          -1);
                return false;
        }
        req->client = cl->name;
        req->profile = profile_set_find(req->snap->profiles, cl->profile);
        if (!req->profile) {
                deny_case(req, "unauthenticated", API_ERR_BAD_TOKEN, NULL, -1);
                return false;
        }
        return true;
}

/* ---- request lifecycle ---- */

static struct request *request_new(struct MHD_Connection *c)
{
        struct request *req = calloc(1, sizeof(*req));
        if (!req)
                return NULL;
        req->conn = c;
        const union MHD_ConnectionInfo *ci =
                MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
        req->ident = ci ? ci->socket_context : NULL;
        req->snap = snapshot_ref(P.snap);
        req->t_start = now_usec();
        req->body = (struct strbuf)STRBUF_INIT(REQ_BODY_HARD_MAX);
        req->up_buf = (struct strbuf)STRBUF_INIT(UPSTREAM_BODY_MAX);
        req->out = (struct strbuf)STRBUF_INIT(OUT_MAX);
        snprintf(req->id, sizeof(req->id), "r-%08llx%08llx", (unsigned long long)req_prefix,
                 (unsigned long long)++req_counter);
        if (req->ident)
                req->ident->req = req;
        req->next = requests;
        if (requests)
                requests->prev = req;
        requests = req;
        P.requests_total++;
        P.active_requests++;
        return req;
}

static void request_free(struct request *req)
{
        if (req->ident && req->ident->req == req)
                req->ident->req = NULL;
        relay_free(req);
        if (req->holds_slot)
                limits_release(req->lim);
        if (req->session && req->session->active > 0)
                req->session->active--;
        if (req->resp)
                MHD_destroy_response(req->resp);
        strbuf_free(&req->body);
        session_unref(req->session);
        snapshot_unref(req->snap);
        if (req->prev)
                req->prev->next = req->next;
        else
                requests = req->next;
        if (req->next)
                req->next->prev = req->prev;
        P.active_requests--;
        free(req);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
        struct request *req = *con_cls;
        if (!req)
                return;
        *con_cls = NULL;
        if (toe != MHD_REQUEST_TERMINATED_COMPLETED_OK)
                relay_cancel(req, "client_disconnect");
        request_free(req);
}

static enum MHD_Result queue(struct request *req)
{
        if (!req->resp)
                return MHD_NO;
        enum MHD_Result r = MHD_queue_response(req->conn, req->resp_status, req->resp);
        MHD_destroy_response(req->resp);
        req->resp = NULL;
        req->state = req->state == REQ_STREAMING ? REQ_STREAMING : REQ_FINISHED;
        return r;
}

static bool route_find(struct request *req, const char *url, const char *method)
{
        for (size_t i = 0; i < ELEMENTSOF(routes); i++)
                if (strcmp(url, routes[i].path) == 0) {
                        req->route = routes[i].route;
                        req->endpoint = routes[i].path;
                        req->shape = routes[i].shape;
                        if (strcmp(method, routes[i].method) != 0) {
                                deny_case(req, "bad_request", API_ERR_METHOD, NULL, -1);
                                return false;
                        }
                        return true;
                }
        if (strncmp(url, "/v1/messages", 12) == 0)
                req->shape = LLM_API_ANTHROPIC;
        deny_case(req, "unknown_endpoint", API_ERR_NOT_IMPLEMENTED, NULL, -1);
        return false;
}

static enum MHD_Result count_framing(void *cls, enum MHD_ValueKind kind, const char *key,
                                     const char *value)
{
        unsigned *n = cls;
        if (strcasecmp(key, "Content-Length") == 0)
                (*n)++;
        else if (strcasecmp(key, "Transfer-Encoding") == 0)
                *n += value && strcasecmp(value, "chunked") == 0 ? 1 : 2;
        return MHD_YES;
}

/* Request smuggling: at most one framing header, Content-Length or "Transfer-Encoding: chunked",
 * never both, no other coding (RFC 9112 6.1, 6.3). libmicrohttpd would pick one of them (or wait
 * for a body it cannot delimit) and keep the connection open. */
static bool framing_ok(struct MHD_Connection *c)
{
        unsigned n = 0;
        MHD_get_connection_values(c, MHD_HEADER_KIND, count_framing, &n);
        return n <= 1;
}

/* First call: route, identity, size precheck. false when a response is set already. */
static bool request_start(struct request *req, const char *url, const char *method)
{
        if (!route_find(req, url, method))
                return false;
        if (!framing_ok(req->conn)) {
                deny_case(req, "bad_request", API_ERR_BAD_REQUEST,
                          "Conflicting or unsupported Content-Length / Transfer-Encoding.", -1);
                return false;
        }
        if (req->route == ROUTE_HEALTHZ) {
                respond_text(req, 200, "{\"status\":\"ok\"}");
                return false;
        }
        if (req->route == ROUTE_READYZ) {
                /* ready: config loaded, not draining, and an audit record still fits (no
                 * request leaves unlogged, so a full log file system is not ready) */
                uint64_t space = 0;
                bool ok = P.ready && !P.draining && P.audit &&
                          audit_log_space(P.audit, &space) == 0 && space >= AUDIT_LINE_MAX;
                respond_text(req, ok ? 200 : 503,
                             ok ? "{\"status\":\"ready\"}" : "{\"status\":\"not ready\"}");
                return false;
        }
        if (P.draining) {
                deny_case(req, "shutting_down", API_ERR_UNAVAILABLE,
                          "The proxy is shutting down; retry shortly.", 1000);
                return false;
        }
        if (!identify(req))
                return false;
        if (req->route == ROUTE_MODELS) {
                respond_models(req, MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND,
                                                                "anthropic-version") != NULL);
                return false;
        }
        req->max_body = req->profile->limits.max_request_bytes;
        if (req->max_body == 0 || req->max_body > REQ_BODY_HARD_MAX)
                req->max_body = REQ_BODY_HARD_MAX;
        req->body.max = req->max_body;
        const char *cl = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND,
                                                     "Content-Length");
        unsigned long long n;
        if (cl && parse_u64(cl, &n) >= 0 && n > req->max_body) {
                deny_case(req, "too_large", API_ERR_TOO_LARGE, NULL, -1);
                return false;
        }
        return true;
}

/* The members of a request body the proxy decides on (proxy/relay.c reads the same): the
 * model, streaming, and what says which provider-side tools it uses (policy/provider-tools.h).
 * Duplicates among these are refused, a duplicated tool "type" too. */
static const struct jscan_keep keep_none[] = { { NULL, NULL } };
static const struct jscan_keep keep_tool_type[] = { { "type", NULL }, { NULL, NULL } };
static const struct jscan_keep keep_request[] = {
        { "model", NULL },
        { "stream", NULL },
        { "stream_options", NULL },
        { "tools", keep_tool_type },
        { "mcp_servers", keep_none },
        { "web_search_options", keep_none },
        { NULL, NULL },
};

/* Body complete: parse, decide, limit, hand to the relay. */
static void request_process(struct request *req)
{
        if (req->too_large) {
                deny_case(req, "too_large", API_ERR_TOO_LARGE, NULL, -1);
                return;
        }
        /* Validated whole, built only where the proxy reads it (the relay loads the whole tree
         * only for a body it must rewrite or translate). */
        _cleanup_json_ json_t *j = NULL;
        int jr = jscan_load_flags(req->body.data ? req->body.data : "", req->body.len,
                                  keep_request, JSCAN_REJECT_DUPLICATES, &j);
        if (jr == -ENOMEM) {
                deny_case(req, "internal", API_ERR_UNAVAILABLE, NULL, -1);
                return;
        }
        if (jr < 0 || !json_is_object(j)) {
                deny_case(req, "bad_request", API_ERR_BAD_REQUEST,
                          "The request body is not a JSON object.", -1);
                return;
        }
        const char *model = json_get_str(j, "model", NULL);
        if (!model) {
                deny_case(req, "bad_request", API_ERR_BAD_REQUEST,
                          "The request needs a \"model\" string.", -1);
                return;
        }
        snprintf(req->model, sizeof(req->model), "%s", model);
        enum model_verdict v = model_decide(req->snap->config, req->profile, model, &req->mr);
        char msg[MODEL_ID_MAX + 128];
        switch (v) {
        case MODEL_ALLOW:
                break;
        case MODEL_DENY_NOT_ALLOWED:
                snprintf(msg, sizeof(msg), "The model `%s` is not allowed for profile %s.",
                         req->model, req->profile->name);
                deny_case(req, "model_not_allowed", API_ERR_MODEL_NOT_ALLOWED, msg, -1);
                return;
        case MODEL_UNKNOWN:
                snprintf(msg, sizeof(msg),
                         "The model `%s` does not exist or you do not have access to it.",
                         req->model);
                deny_case(req, "unknown_model", API_ERR_MODEL_NOT_FOUND, msg, -1);
                return;
        default:
                deny_case(req, "bad_request", API_ERR_BAD_REQUEST, "Invalid model name.", -1);
                return;
        }
        int tool = provider_tools_first_denied(provider_tools_used(j),
                                               req->profile->provider_tools);
        if (tool >= 0) {
                snprintf(msg, sizeof(msg), "The provider-side tool `%s` is not allowed for "
                         "profile %s.", provider_tool_name(tool), req->profile->name);
                deny_case(req, "tool_not_allowed", API_ERR_TOOL_NOT_ALLOWED, msg, -1);
                return;
        }
        if (req->route != ROUTE_CHAT && req->route != ROUTE_MESSAGES &&
            req->mr.provider->type != PROVIDER_OPENAI) {
                snprintf(msg, sizeof(msg), "%s is not available for model `%s` (an Anthropic "
                         "provider).", req->endpoint, req->model);
                deny_case(req, "bad_request", API_ERR_BAD_REQUEST, msg, -1);
                return;
        }
        json_t *js = json_object_get(j, "stream");
        if (js && !json_is_boolean(js)) {
                deny_case(req, "bad_request", API_ERR_BAD_REQUEST, "\"stream\" must be a boolean.",
                          -1);
                return;
        }
        req->stream = json_is_true(js);

        req->lim = limits_get(req->profile->name);
        if (!req->lim) {
                deny_case(req, "internal", API_ERR_UNAVAILABLE, NULL, -1);
                return;
        }
        int64_t retry_ms;
        switch (limits_acquire(req->lim, &req->profile->limits, now_usec(), &retry_ms)) {
        case LIMITS_OK:
                req->holds_slot = true;
                break;
        case LIMITS_RATE:
                deny_case(req, "rate_limited", API_ERR_RATE_REQUESTS,
                          "Requests per minute limit of this profile reached.", retry_ms);
                return;
        case LIMITS_CONCURRENCY:
                deny_case(req, "concurrency", API_ERR_RATE_REQUESTS,
                          "Too many concurrent requests for this profile.", retry_ms);
                return;
        case LIMITS_BUDGET:
                deny_case(req, "budget", API_ERR_BUDGET,
                          "The daily token budget of this profile is used up.", -1);
                return;
        }
        struct api_error e;
        int r = relay_begin(req, j, &e);
        if (r < 0) {
                request_deny(req, r == -EINVAL ? "bad_request" : "audit_unavailable", &e);
                return;
        }
        req->state = REQ_UPSTREAM;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
        struct request *req = *con_cls;
        if (!req) {
                req = request_new(c);
                if (!req)
                        return MHD_NO;
                *con_cls = req;
                if (!request_start(req, url, method))
                        return queue(req);
                return MHD_YES;
        }
        switch (req->state) {
        case REQ_RECEIVING:
                if (*upload_data_size > 0) {
                        if (!req->too_large &&
                            strbuf_append(&req->body, upload_data, *upload_data_size) < 0) {
                                req->too_large = true;
                                strbuf_free(&req->body);
                        }
                        *upload_data_size = 0;
                        return MHD_YES;
                }
                request_process(req);
                strbuf_free(&req->body);
                if (req->state == REQ_RESPOND)
                        return queue(req);
                if (req->state == REQ_UPSTREAM) {
                        req->suspended = true;
                        MHD_suspend_connection(c);
                }
                return MHD_YES;
        case REQ_RESPOND:
        case REQ_STREAMING:
                if (req->resp)
                        return queue(req);
                /* resumed without a response: keep waiting */
                req->suspended = true;
                MHD_suspend_connection(c);
                return MHD_YES;
        case REQ_UPSTREAM:
                req->suspended = true;
                MHD_suspend_connection(c);
                return MHD_YES;
        case REQ_GONE:
                return MHD_NO; /* MHD closes the connection */
        default:
                return MHD_YES;
        }
}

/* ---- connections ---- */

/* The client hung up (or reset) while its request waits, suspended, for the upstream: MHD does
 * not watch suspended connections, so cancel the upstream transfer here and let MHD close. A
 * stream suspended between chunks ends the same way (the reader sees out_done). */
static void on_conn_hup(struct loop_source *s, uint32_t events)
{
        struct conn_ident *id = (struct conn_ident *)s;
        struct request *req = id->req;
        if (!req || !req->suspended || !(events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)))
                return;
        relay_cancel(req, "client_disconnect");
        if (req->state != REQ_STREAMING) {
                if (req->resp) {
                        MHD_destroy_response(req->resp);
                        req->resp = NULL;
                }
                req->state = REQ_GONE;
        }
        request_wake(req);
}

static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
        if (code == MHD_CONNECTION_NOTIFY_STARTED) {
                const union MHD_ConnectionInfo *ci =
                        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
                if (pending_ident && ci && ci->connect_fd == pending_fd) {
                        struct conn_ident *id = pending_ident;
                        *socket_context = id;
                        pending_ident = NULL;
                        id->src.fd = ci->connect_fd;
                        id->src.handler = on_conn_hup;
                        if (loop_add(&id->src, EPOLLRDHUP | EPOLLET) < 0)
                                id->src.fd = -1; /* no early cancel for this one */
                } else
                        *socket_context = NULL; /* no identity: every request gets 401 */
                return;
        }
        struct conn_ident *id = *socket_context;
        if (id) {
                loop_del(&id->src); /* before MHD closes the socket */
                session_unref(id->session);
                loop_free_source(id);
                *socket_context = NULL;
        }
}

int server_add_connection(int fd, const struct sockaddr *sa, socklen_t salen,
                          struct session *session, bool needs_token)
{
        struct conn_ident *id = calloc(1, sizeof(*id));
        if (!id) {
                session_unref(session);
                close(fd);
                return -ENOMEM;
        }
        id->src.fd = -1;
        id->session = session;
        id->needs_token = needs_token;
        pending_ident = id;
        pending_fd = fd;
        /* External polling: MHD processes the new connection (and our notify callback) before
         * returning. On failure MHD closes fd. */
        enum MHD_Result r = MHD_add_connection(P.mhd, fd, sa, salen);
        if (pending_ident) { /* not consumed */
                session_unref(id->session);
                free(id);
                pending_ident = NULL;
        }
        pending_fd = -1;
        return r == MHD_YES ? 0 : -EIO;
}

static void on_mhd(struct loop_source *s, uint32_t events)
{
        MHD_run(P.mhd);
}

void server_run(void)
{
        MHD_run(P.mhd);
}

int server_timeout_ms(void)
{
        MHD_UNSIGNED_LONG_LONG t;
        if (MHD_get_timeout(P.mhd, &t) != MHD_YES)
                return -1;
        return t > 1000 ? 1000 : (int)t;
}

void server_tick(uint64_t now)
{
        for (struct request *r = requests; r; r = r->next)
                if (r->state == REQ_STREAMING || (r->state == REQ_UPSTREAM && r->stream))
                        relay_keepalive(r);
}

bool server_idle(void)
{
        return requests == NULL;
}

/* Shutdown: wake every suspended request so MHD can close it. */
void server_abort_all(void)
{
        for (struct request *r = requests; r; r = r->next) {
                relay_cancel(r, "shutdown");
                request_wake(r);
        }
}

int server_start(void)
{
        uint64_t seed = 0;
        (void)!getrandom(&seed, sizeof(seed), GRND_NONBLOCK);
        req_prefix = seed & 0xffffffffu;
        /* 16 KiB per connection holds request headers far beyond what SDKs send (MHD answers
         * 431 past it) and one 8 KiB stream block; 32 KiB cost 8 MiB more at 1,000 streams. */
        P.mhd = MHD_start_daemon(
                MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_NO_LISTEN_SOCKET |
                        MHD_USE_TURBO,
                0, NULL, NULL, on_request, NULL, MHD_OPTION_NOTIFY_CONNECTION, on_connection,
                NULL, MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
                MHD_OPTION_CONNECTION_LIMIT, (unsigned)65536, MHD_OPTION_CONNECTION_TIMEOUT,
                (unsigned)300, MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(16 * 1024),
                MHD_OPTION_END);
        if (!P.mhd)
                return -EIO;
        const union MHD_DaemonInfo *di = MHD_get_daemon_info(P.mhd, MHD_DAEMON_INFO_EPOLL_FD);
        if (!di)
                return -EIO;
        mhd_src.fd = di->epoll_fd;
        mhd_src.handler = on_mhd;
        return loop_add(&mhd_src, EPOLLIN);
}

void server_stop(void)
{
        if (!P.mhd)
                return;
        loop_del(&mhd_src);
        mhd_src.fd = -1;
        MHD_stop_daemon(P.mhd);
        P.mhd = NULL;
}
