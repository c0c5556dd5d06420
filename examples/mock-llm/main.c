/* mock-llm: offline OpenAI + Anthropic compatible model server (the only fake in qclaw; the demo,
 * the tests and the benchmarks talk to it). Options, listening socket, request routing, and the
 * /_mock/ introspection endpoints. Trust level: test tool; bodies are untrusted and bounded. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include "common/json-util.h"
#include "common/log.h"
#include "common/macro.h"
#include "mock-llm.h"

static const char *default_models[] = {
        "gpt-4o",          "gpt-4o-mini", "o3-mini",
        "claude-sonnet-4-5", "claude-opus-4-1", "claude-3-5-haiku-latest",
        "llama3:8b",       "text-embedding-3-small", NULL,
};

struct mock_config mock_cfg = {
        .chunks = 4,
        .slow_ms = 3000,
        .models = (char **)default_models,
};
atomic_bool mock_stopping;

static atomic_ulong next_id;
static atomic_ulong n_requests;
static pthread_mutex_t last_lock = PTHREAD_MUTEX_INITIALIZER;
static json_t *last_request; /* immutable once stored */

/* ---- /_mock/last ---- */

static enum MHD_Result add_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                  const char *value)
{
        char name[256];
        size_t i;
        for (i = 0; key[i] && i < sizeof(name) - 1; i++)
                name[i] = (char)tolower((unsigned char)key[i]);
        name[i] = '\0';
        json_object_set_new(cls, name, value ? json_string(value) : json_null());
        return MHD_YES;
}

static void record(struct mock_req *r)
{
        json_t *headers = json_object();
        MHD_get_connection_values(r->conn, MHD_HEADER_KIND, add_header, headers);
        json_t *body;
        if (r->json)
                body = json_incref(r->json);
        else if (r->body.len > 0)
                body = json_stringn(r->body.data, r->body.len); /* NULL if not UTF-8 */
        else
                body = NULL;
        json_t *j = json_pack("{s:s, s:s, s:o, s:o*, s:b}", "method", r->method, "path", r->path,
                              "headers", headers, "body", body ? body : json_null(), "truncated",
                              r->too_large);
        if (!j)
                return;
        pthread_mutex_lock(&last_lock);
        json_t *old = last_request;
        last_request = j;
        pthread_mutex_unlock(&last_lock);
        json_decref(old);
}

static enum MHD_Result mock_last(struct mock_req *r)
{
        pthread_mutex_lock(&last_lock);
        json_t *j = json_incref(last_request);
        pthread_mutex_unlock(&last_lock);
        if (!j)
                return reply_error(r, API_OPENAI, 404, "invalid_request_error", NULL,
                                   "no request recorded yet");
        return reply_json(r, API_OPENAI, 200, j);
}

/* ---- routing ---- */

static bool key_ok(struct mock_req *r, enum mock_api api)
{
        const char *key = mock_cfg.require_key;
        if (!key)
                return true;
        const char *auth = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "authorization");
        if (auth && strncasecmp(auth, "Bearer ", 7) == 0 && strcmp(auth + 7, key) == 0)
                return true;
        const char *x = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "x-api-key");
        return api == API_ANTHROPIC && x && strcmp(x, key) == 0;
}

static enum MHD_Result route(struct mock_req *r)
{
        const char *p = r->path;
        bool get = !strcmp(r->method, "GET"), post = !strcmp(r->method, "POST");

        if (!strcmp(p, "/_mock/last") && get)
                return mock_last(r);
        if (!strcmp(p, "/_mock/stats") && get)
                return reply_json(r, API_OPENAI, 200,
                                  json_pack("{s:I}", "requests",
                                            (json_int_t)atomic_load(&n_requests)));

        atomic_fetch_add(&n_requests, 1);
        record(r);

        bool is_models = !strcmp(p, "/v1/models") || !strncmp(p, "/v1/models/", 11);
        enum mock_api api = !strncmp(p, "/v1/messages", 12) ||
                                            (is_models && MHD_lookup_connection_value(
                                                                  r->conn, MHD_HEADER_KIND,
                                                                  "anthropic-version"))
                ? API_ANTHROPIC
                : API_OPENAI;

        if (r->too_large)
                return reply_error(r, api, 413,
                                   api == API_ANTHROPIC ? "request_too_large"
                                                        : "invalid_request_error",
                                   "request_too_large", "Request body exceeds %u bytes",
                                   MOCK_MAX_BODY);
        if (!key_ok(r, api))
                return api == API_ANTHROPIC
                        ? reply_error(r, api, 401, "authentication_error", NULL,
                                      "invalid x-api-key")
                        : reply_error(r, api, 401, "invalid_request_error", "invalid_api_key",
                                      "Incorrect API key provided.");

        if (is_models && get) {
                const char *id = p[10] == '/' ? p + 11 : NULL;
                return api == API_ANTHROPIC ? anthropic_models(r, id) : openai_models(r, id);
        }

        static const struct {
                const char *path;
                enum MHD_Result (*handler)(struct mock_req *r);
        } posts[] = {
                { "/v1/chat/completions", openai_chat },
                { "/v1/completions", openai_completions },
                { "/v1/responses", openai_responses },
                { "/v1/embeddings", openai_embeddings },
                { "/v1/messages", anthropic_messages },
                { "/v1/messages/count_tokens", anthropic_count_tokens },
        };
        for (size_t i = 0; i < ELEMENTSOF(posts); i++) {
                if (strcmp(p, posts[i].path) != 0)
                        continue;
                if (!post)
                        return reply_error(r, api, 405, "invalid_request_error", NULL,
                                           "Method %s not allowed on %s", r->method, p);
                if (!json_is_object(r->json))
                        return reply_error(r, api, 400, "invalid_request_error", NULL,
                                           "We could not parse the JSON body of your request.");
                return posts[i].handler(r);
        }
        return reply_error(r, API_OPENAI, 404, "invalid_request_error", "unknown_url",
                           "Unknown request URL: %s %s.", r->method, p);
}

/* jansson parses and dumps recursively (up to 2048 levels): keep bodies well inside the
 * connection threads' stacks. */
#define MOCK_MAX_DEPTH 256

static bool json_depth_ok(const char *s, size_t len)
{
        unsigned depth = 0;
        bool in_string = false, escaped = false;
        for (size_t i = 0; i < len; i++) {
                char ch = s[i];
                if (in_string) {
                        if (escaped)
                                escaped = false;
                        else if (ch == '\\')
                                escaped = true;
                        else if (ch == '"')
                                in_string = false;
                } else if (ch == '"')
                        in_string = true;
                else if (ch == '[' || ch == '{') {
                        if (++depth > MOCK_MAX_DEPTH)
                                return false;
                } else if ((ch == ']' || ch == '}') && depth > 0)
                        depth--;
        }
        return true;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
        struct mock_req *r = *con_cls;
        if (!r) {
                r = calloc(1, sizeof(*r));
                if (!r)
                        return MHD_NO;
                r->conn = conn;
                r->body = (struct strbuf)STRBUF_INIT(MOCK_MAX_BODY);
                r->method = strdup(method);
                r->path = strdup(url);
                r->id = atomic_fetch_add(&next_id, 1) + 1;
                const union MHD_ConnectionInfo *ci =
                        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
                r->fd = ci ? ci->connect_fd : -1;
                *con_cls = r;
                return r->method && r->path ? MHD_YES : MHD_NO;
        }
        if (*upload_data_size > 0) {
                if (!r->too_large && strbuf_append(&r->body, upload_data, *upload_data_size) < 0)
                        r->too_large = true;
                *upload_data_size = 0;
                return MHD_YES;
        }
        if (r->body.len > 0 && !r->too_large && json_depth_ok(r->body.data, r->body.len))
                r->json = json_loadb(r->body.data, r->body.len, 0, NULL);
        return route(r);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
        struct mock_req *r = *con_cls;
        if (!r)
                return;
        if (!mock_cfg.quiet) {
                if (r->status)
                        log_info("%s %s %u%s", r->method, r->path, r->status,
                                 toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? "" : " (broken off)");
                else
                        log_info("%s %s dropped", r->method, r->path);
        }
        json_decref(r->json);
        strbuf_free(&r->body);
        free(r->method);
        free(r->path);
        free(r);
        *con_cls = NULL;
}

/* ---- startup ---- */

static int parse_uint(const char *s, unsigned max, unsigned *ret)
{
        char *end;
        errno = 0;
        unsigned long v = strtoul(s, &end, 10);
        if (errno || end == s || *end || v > max)
                return -EINVAL;
        *ret = (unsigned)v;
        return 0;
}

static int split_models(const char *list)
{
        size_t n = 1;
        for (const char *c = list; *c; c++)
                n += *c == ',';
        char **models = calloc(n + 1, sizeof(char *));
        char *copy = strdup(list);
        if (!models || !copy)
                return -ENOMEM;
        size_t k = 0;
        char *save = NULL;
        for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save))
                models[k++] = t;
        mock_cfg.models = models; /* lives until exit */
        return 0;
}

/* "HOST:PORT" or "[V6]:PORT" → bound, listening socket; *ret_port is the real port. */
static int listen_on(const char *spec, char *host, size_t hostlen, unsigned *ret_port)
{
        const char *colon = strrchr(spec, ':');
        if (!colon || colon == spec)
                return -EINVAL;
        const char *h = spec;
        size_t hl = (size_t)(colon - spec);
        if (h[0] == '[' && hl >= 2 && h[hl - 1] == ']') {
                h++;
                hl -= 2;
        }
        if (hl >= hostlen)
                return -EINVAL;
        memcpy(host, h, hl);
        host[hl] = '\0';
        unsigned port;
        if (parse_uint(colon + 1, 65535, &port) < 0)
                return -EINVAL;

        struct addrinfo hints = { .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV,
                                  .ai_socktype = SOCK_STREAM };
        struct addrinfo *ai;
        char pstr[8];
        snprintf(pstr, sizeof(pstr), "%u", port);
        if (getaddrinfo(host, pstr, &hints, &ai) != 0)
                return -EINVAL;
        int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
        int one = 1;
        int r = 0;
        if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
            bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 4096) < 0)
                r = NEG_ERRNO();
        freeaddrinfo(ai);
        struct sockaddr_storage ss;
        socklen_t sl = sizeof(ss);
        if (r == 0 && getsockname(fd, (struct sockaddr *)&ss, &sl) < 0)
                r = NEG_ERRNO();
        if (r < 0) {
                safe_close(fd);
                return r;
        }
        *ret_port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                                   : ((struct sockaddr_in *)&ss)->sin_port);
        return fd;
}

static void usage(FILE *f)
{
        fputs("usage: mock-llm [--listen HOST:PORT] [--chunks N] [--delay-ms D] [--slow-ms S]\n"
              "                [--models a,b,c] [--require-key KEY] [--quiet]\n"
              "Serves OpenAI (/v1/chat/completions, /v1/completions, /v1/responses,\n"
              "/v1/embeddings, /v1/models) and Anthropic (/v1/messages) on one port.\n"
              "The reply echoes the last user message; 'call_tool:NAME {JSON}' answers with a\n"
              "tool call; 'fail:reset|500|429|401|529|slow|garbage|hang' fails on purpose.\n"
              "GET /_mock/last shows the last request's headers and body, /_mock/stats counts.\n",
              f);
}

int main(int argc, char **argv)
{
        static const struct option opts[] = {
                { "listen", required_argument, NULL, 'l' },
                { "chunks", required_argument, NULL, 'c' },
                { "delay-ms", required_argument, NULL, 'd' },
                { "slow-ms", required_argument, NULL, 's' },
                { "models", required_argument, NULL, 'm' },
                { "require-key", required_argument, NULL, 'k' },
                { "quiet", no_argument, NULL, 'q' },
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, 'V' },
                {},
        };
        const char *listen_spec = "127.0.0.1:0";
        int c;
        log_init(argv[0]);
        while ((c = getopt_long(argc, argv, "l:c:d:s:m:k:qhV", opts, NULL)) >= 0) {
                int r = 0;
                switch (c) {
                case 'l': listen_spec = optarg; break;
                case 'c':
                        r = parse_uint(optarg, 10000, &mock_cfg.chunks);
                        if (r == 0 && mock_cfg.chunks == 0)
                                r = -EINVAL;
                        break;
                case 'd': r = parse_uint(optarg, 3600000, &mock_cfg.delay_ms); break;
                case 's': r = parse_uint(optarg, 3600000, &mock_cfg.slow_ms); break;
                case 'm': r = split_models(optarg); break;
                case 'k': mock_cfg.require_key = optarg; break;
                case 'q': mock_cfg.quiet = true; break;
                case 'h': usage(stdout); return 0;
                case 'V': printf("mock-llm (qclaw) %s\n", QCLAW_VERSION); return 0;
                default: usage(stderr); return 2;
                }
                if (r < 0) {
                        log_error("invalid option value: %s", optarg);
                        return 2;
                }
        }
        if (optind < argc) {
                usage(stderr);
                return 2;
        }

        /* 1,000+ concurrent streams need more descriptors than the usual soft limit. */
        struct rlimit rl;
        if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
                rl.rlim_cur = MIN(rl.rlim_max, (rlim_t)65536);
                (void)setrlimit(RLIMIT_NOFILE, &rl);
        }
        signal(SIGPIPE, SIG_IGN);
        /* Blocked in every thread; the main thread waits for them with sigwait(). */
        sigset_t stop;
        sigemptyset(&stop);
        sigaddset(&stop, SIGTERM);
        sigaddset(&stop, SIGINT);
        pthread_sigmask(SIG_BLOCK, &stop, NULL);

        char host[256];
        unsigned port;
        int fd = listen_on(listen_spec, host, sizeof(host), &port);
        if (fd < 0) {
                log_error("cannot listen on %s: %s", listen_spec, strerror(-fd));
                return 1;
        }
        unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
                         MHD_USE_POLL | (mock_cfg.quiet ? 0 : MHD_USE_ERROR_LOG);
        struct MHD_Daemon *d = MHD_start_daemon(
                flags, 0, NULL, NULL, on_request, NULL, MHD_OPTION_LISTEN_SOCKET, fd,
                MHD_OPTION_CONNECTION_LIMIT, 8192u, MHD_OPTION_THREAD_STACK_SIZE,
                (size_t)512 * 1024, MHD_OPTION_CONNECTION_TIMEOUT, 0u,
                MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL, MHD_OPTION_END);
        if (!d) {
                log_error("cannot start the HTTP server");
                return 1;
        }
        bool v6 = strchr(host, ':') != NULL;
        printf("listening on %s%s%s:%u\n", v6 ? "[" : "", host, v6 ? "]" : "", port);
        fflush(stdout);

        int sig;
        sigwait(&stop, &sig);
        atomic_store(&mock_stopping, true);
        MHD_stop_daemon(d);
        pthread_mutex_lock(&last_lock);
        json_decref(last_request);
        last_request = NULL;
        pthread_mutex_unlock(&last_lock);
        return 0;
}
