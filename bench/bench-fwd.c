/* A bare forwarder on qclaw-proxy's two libraries, a peer for bench/bench-proxy.sh: libmicrohttpd
 * takes a request, libcurl (a keep-alive easy handle per client connection) sends it upstream,
 * and the answer goes back. No identity, policy, audit record or parsing: what the two libraries
 * cost per request on this machine, a floor under what qclaw-proxy adds. One thread (as
 * qclaw-proxy), and each request's upstream call blocks it (curl_easy_perform): the shortest path
 * through the two libraries for one request at a time, so a latency peer only, not a throughput
 * one.
 *   bench-fwd PORT UPSTREAM_BASE     e.g. bench-fwd 40123 http://127.0.0.1:35000
 * Prints "listening on 127.0.0.1:PORT" once ready. Trust level: bench tool, loopback only. */
#include <curl/curl.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BODY_MAX (8u << 20)

static const char *upstream;
static struct curl_slist *hdrs;

struct buf {
        char *data;
        size_t len, cap;
};

static int buf_add(struct buf *b, const char *p, size_t n)
{
        if (b->len + n > BODY_MAX)
                return -1;
        if (b->len + n + 1 > b->cap) {
                size_t cap = (b->len + n + 1) * 2;
                char *d = realloc(b->data, cap);
                if (!d)
                        return -1;
                b->data = d;
                b->cap = cap;
        }
        memcpy(b->data + b->len, p, n);
        b->len += n;
        return 0;
}

static size_t on_data(char *p, size_t s, size_t n, void *u)
{
        return buf_add(u, p, s * n) < 0 ? 0 : s * n;
}

/* per client connection: its upstream keep-alive handle */
static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
        if (code == MHD_CONNECTION_NOTIFY_STARTED)
                *socket_context = curl_easy_init();
        else if (*socket_context)
                curl_easy_cleanup(*socket_context);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
        struct buf *b = *con_cls;
        if (b)
                free(b->data);
        free(b);
        *con_cls = NULL;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
        struct buf *body = *con_cls;
        if (!body) {
                *con_cls = calloc(1, sizeof(struct buf));
                return *con_cls ? MHD_YES : MHD_NO;
        }
        if (*upload_data_size) {
                if (buf_add(body, upload_data, *upload_data_size) < 0)
                        return MHD_NO;
                *upload_data_size = 0;
                return MHD_YES;
        }
        const union MHD_ConnectionInfo *ci =
                MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
        CURL *h = ci ? ci->socket_context : NULL;
        if (!h)
                return MHD_NO;
        char target[2048];
        snprintf(target, sizeof(target), "%s%s", upstream, url);
        struct buf out = { 0 };
        long status = 502;
        curl_easy_setopt(h, CURLOPT_URL, target);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body->data ? body->data : "");
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body->len);
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, &out);
        curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
        curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(h, CURLOPT_PROXY, "");
        if (curl_easy_perform(h) == CURLE_OK)
                curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
        struct MHD_Response *r = MHD_create_response_from_buffer(out.len, out.data ? out.data : "",
                                                                 MHD_RESPMEM_MUST_COPY);
        free(out.data);
        if (!r)
                return MHD_NO;
        MHD_add_response_header(r, "Content-Type", "application/json");
        enum MHD_Result ret = MHD_queue_response(c, (unsigned)status, r);
        MHD_destroy_response(r);
        return ret;
}

int main(int argc, char **argv)
{
        if (argc != 3) {
                fprintf(stderr, "usage: bench-fwd PORT UPSTREAM_BASE\n");
                return 2;
        }
        int port = (int)strtol(argv[1], NULL, 10);
        upstream = argv[2];
        curl_global_init(CURL_GLOBAL_DEFAULT);
        hdrs = curl_slist_append(NULL, "Content-Type: application/json");
        hdrs = curl_slist_append(hdrs, "Expect:");
        struct MHD_Daemon *d = MHD_start_daemon(
                MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_TURBO |
                        MHD_USE_ERROR_LOG,
                (uint16_t)port, NULL, NULL, on_request, NULL, MHD_OPTION_NOTIFY_CONNECTION,
                on_connection, NULL, MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
                MHD_OPTION_CONNECTION_LIMIT, 4096u, MHD_OPTION_END);
        if (!d) {
                fprintf(stderr, "bench-fwd: cannot listen on port %d\n", port);
                return 1;
        }
        printf("listening on 127.0.0.1:%d\n", port);
        fflush(stdout);
        for (;;)
                pause();
}
