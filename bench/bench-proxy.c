/* Load generator for bench/bench-proxy.sh (libcurl multi, keep-alive connections).
 *   bench-proxy latency URL N                 sequential non-streaming chat requests: p50/p99 us
 *   bench-proxy throughput URL CONC SECONDS   CONC parallel clients: requests per second
 *   bench-proxy ttfc URL N                    sequential streams: time to first chunk p50/p99 us
 *   bench-proxy streams URL N HOLD_FILE       N concurrent streams; writes HOLD_FILE once all
 *                                             have their first chunk, then reports completions
 *   bench-proxy soak URL N SECONDS HOLD_FILE  keep N streams open for SECONDS (a finished stream is
 *                                             replaced at once); HOLD_FILE as for streams
 * Env BENCH_TOKEN: bearer token, BENCH_MODEL: model, BENCH_BODY_FILE: request body of latency
 * and ttfc runs. Output: one "key value" per line, including
 * client_cpu_us_per_req (this load generator's own CPU per request, to show it is not the
 * bottleneck). Trust level: test tool. */
#include <curl/curl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <time.h>

static char body_plain[256], body_stream[256];

struct xfer {
        CURL *h;
        double t0, tfirst;
        bool got_first;
        size_t bytes;
};

static double now_us(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static size_t on_data(char *p, size_t s, size_t n, void *u)
{
        struct xfer *x = u;
        if (!x->got_first) {
                x->got_first = true;
                x->tfirst = now_us();
        }
        x->bytes += s * n;
        return s * n;
}

static struct curl_slist *hdrs;

static void setup(struct xfer *x, const char *url, const char *body)
{
        if (!x->h)
                x->h = curl_easy_init();
        curl_easy_setopt(x->h, CURLOPT_URL, url);
        curl_easy_setopt(x->h, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(x->h, CURLOPT_HTTPHEADER, hdrs);
        curl_easy_setopt(x->h, CURLOPT_WRITEFUNCTION, on_data);
        curl_easy_setopt(x->h, CURLOPT_WRITEDATA, x);
        curl_easy_setopt(x->h, CURLOPT_PRIVATE, x);
        curl_easy_setopt(x->h, CURLOPT_TCP_NODELAY, 1L);
        curl_easy_setopt(x->h, CURLOPT_TIMEOUT, 120L);
        x->got_first = false;
        x->bytes = 0;
        x->t0 = now_us();
}

static int cmp(const void *a, const void *b)
{
        double x = *(const double *)a, y = *(const double *)b;
        return x < y ? -1 : x > y;
}

static void pct(const char *name, double *v, int n)
{
        double sum = 0;
        for (int i = 0; i < n; i++)
                sum += v[i];
        qsort(v, n, sizeof(double), cmp);
        printf("%s_p50_us %.1f\n%s_p99_us %.1f\n%s_mean_us %.1f\n", name, v[n / 2], name,
               v[(int)(n * 0.99)], name, sum / n);
}

static double cpu_us(void)
{
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        return ru.ru_utime.tv_sec * 1e6 + ru.ru_utime.tv_usec + ru.ru_stime.tv_sec * 1e6 +
               ru.ru_stime.tv_usec;
}

static void touch(const char *path)
{
        FILE *f = fopen(path, "we");
        if (f)
                fclose(f);
}


/* streams/soak: curl's socket API on an epoll set. curl_multi_perform() visits every handle
 * (and tries a recv on each) at every wakeup: with 500 open streams that alone kept a core
 * busy and took CPU from the proxy being measured. */
static int epfd = -1;
static long timeout_ms = -1;

static int on_socket(CURL *e, curl_socket_t fd, int what, void *u, void *sockp)
{
        struct epoll_event ev = { .data.fd = fd };
        if (what == CURL_POLL_REMOVE) {
                epoll_ctl(epfd, EPOLL_CTL_DEL, fd, NULL);
                return 0;
        }
        ev.events = (what & CURL_POLL_IN ? EPOLLIN : 0) | (what & CURL_POLL_OUT ? EPOLLOUT : 0);
        if (epoll_ctl(epfd, EPOLL_CTL_MOD, fd, &ev) < 0)
                epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
        return 0;
}

static int on_timer(CURLM *m, long ms, void *u)
{
        timeout_ms = ms;
        return 0;
}

/* One wait for events (or curl's timer) and curl told about them; sets *running. */
static void socket_step(CURLM *m, int *running)
{
        struct epoll_event evs[256];
        int wait_ms = timeout_ms < 0 || timeout_ms > 100 ? 100 : (int)timeout_ms;
        int n = epoll_wait(epfd, evs, 256, wait_ms);
        if (n <= 0) {
                curl_multi_socket_action(m, CURL_SOCKET_TIMEOUT, 0, running);
                return;
        }
        for (int i = 0; i < n; i++) {
                int mask = (evs[i].events & EPOLLIN ? CURL_CSELECT_IN : 0) |
                           (evs[i].events & EPOLLOUT ? CURL_CSELECT_OUT : 0) |
                           (evs[i].events & (EPOLLERR | EPOLLHUP) ? CURL_CSELECT_ERR : 0);
                curl_multi_socket_action(m, evs[i].data.fd, mask, running);
        }
}

int main(int argc, char **argv)
{
        if (argc < 4) {
                fprintf(stderr, "usage: see the header of bench/bench-proxy.c\n");
                return 2;
        }
        curl_global_init(CURL_GLOBAL_DEFAULT);
        const char *tok = getenv("BENCH_TOKEN");
        char auth[512];
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s", tok ? tok : "none");
        hdrs = curl_slist_append(NULL, auth);
        hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
        hdrs = curl_slist_append(hdrs, "Expect:");
        const char *model = getenv("BENCH_MODEL") ? getenv("BENCH_MODEL") : "gpt-4o";
        snprintf(body_plain, sizeof(body_plain),
                 "{\"model\":\"%s\",\"messages\":[{\"role\":\"user\",\"content\":\"bench\"}]}",
                 model);
        snprintf(body_stream, sizeof(body_stream),
                 "{\"model\":\"%s\",\"stream\":true,\"messages\":[{\"role\":\"user\","
                 "\"content\":\"bench stream\"}]}", model);
        const char *mode = argv[1], *url = argv[2];
        int n = (int)strtol(argv[3], NULL, 10);
        /* BENCH_BODY_FILE: the request body of latency/ttfc runs (e.g. an agent's big context) */
        char *file_body = NULL;
        const char *bf = getenv("BENCH_BODY_FILE");
        if (bf) {
                FILE *f = fopen(bf, "re");
                long sz = -1;
                if (f && fseek(f, 0, SEEK_END) == 0 && (sz = ftell(f)) >= 0 &&
                    fseek(f, 0, SEEK_SET) == 0 && (file_body = calloc(1, (size_t)sz + 1)) &&
                    fread(file_body, 1, (size_t)sz, f) != (size_t)sz)
                        sz = -1;
                if (f)
                        fclose(f);
                if (sz < 0 || !file_body) {
                        fprintf(stderr, "cannot read %s\n", bf);
                        return 2;
                }
        }

        if (!strcmp(mode, "latency") || !strcmp(mode, "ttfc")) {
                bool stream = !strcmp(mode, "ttfc");
                double *v = calloc(n, sizeof(double));
                struct xfer x = { 0 };
                double c0 = 0;
                for (int i = -20; i < n; i++) { /* 20 warm-up requests */
                        if (i == 0)
                                c0 = cpu_us();
                        setup(&x, url, file_body ? file_body : stream ? body_stream : body_plain);
                        if (curl_easy_perform(x.h) != CURLE_OK)
                                return 1;
                        double t = stream ? x.tfirst - x.t0 : now_us() - x.t0;
                        if (i >= 0)
                                v[i] = t;
                }
                pct(mode, v, n);
                printf("client_cpu_us_per_req %.1f\n", (cpu_us() - c0) / n);
                return 0;
        }
        CURLM *m = curl_multi_init();
        curl_multi_setopt(m, CURLMOPT_MAXCONNECTS, (long)n + 16);
        struct xfer *xs = calloc(n, sizeof(*xs));
        if (!strcmp(mode, "throughput")) {
                double secs = argc > 4 ? strtod(argv[4], NULL) : 5;
                for (int i = 0; i < n; i++) {
                        setup(&xs[i], url, body_plain);
                        curl_multi_add_handle(m, xs[i].h);
                }
                double start = now_us(), end = start + secs * 1e6, c0 = cpu_us();
                long done = 0, errors = 0;
                int running = 1;
                while (running) {
                        curl_multi_perform(m, &running);
                        CURLMsg *msg;
                        int left;
                        while ((msg = curl_multi_info_read(m, &left))) {
                                struct xfer *x;
                                curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&x);
                                long code = 0;
                                curl_easy_getinfo(x->h, CURLINFO_RESPONSE_CODE, &code);
                                if (msg->data.result != CURLE_OK || code != 200)
                                        errors++;
                                else
                                        done++;
                                curl_multi_remove_handle(m, x->h);
                                if (now_us() < end) {
                                        setup(x, url, body_plain);
                                        curl_multi_add_handle(m, x->h);
                                        running = 1;
                                }
                        }
                        curl_multi_poll(m, NULL, 0, 100, NULL);
                        if (now_us() >= end + 30e6)
                                break;
                }
                double el = (now_us() - start) / 1e6;
                printf("throughput_rps %.0f\nerrors %ld\nclient_cpu_us_per_req %.1f\n", done / el,
                       errors, done ? (cpu_us() - c0) / done : 0);
                return errors ? 1 : 0;
        }
        if (!strcmp(mode, "streams") || !strcmp(mode, "soak")) {
                bool soak = !strcmp(mode, "soak");
                double secs = soak && argc > 4 ? strtod(argv[4], NULL) : 0;
                const char *hold = argc > (soak ? 5 : 4) ? argv[soak ? 5 : 4] : NULL;
                epfd = epoll_create1(EPOLL_CLOEXEC);
                curl_multi_setopt(m, CURLMOPT_SOCKETFUNCTION, on_socket);
                curl_multi_setopt(m, CURLMOPT_TIMERFUNCTION, on_timer);
                for (int i = 0; i < n; i++) {
                        setup(&xs[i], url, body_stream);
                        curl_multi_add_handle(m, xs[i].h);
                }
                int running = 1, first = 0;
                long ok = 0, failed = 0;
                bool held = false;
                double start = now_us(), end = start + secs * 1e6;
                curl_multi_socket_action(m, CURL_SOCKET_TIMEOUT, 0, &running);
                while (running) {
                        socket_step(m, &running);
                        CURLMsg *msg;
                        int left;
                        while ((msg = curl_multi_info_read(m, &left))) {
                                struct xfer *x;
                                long code = 0;
                                curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&x);
                                curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &code);
                                if (msg->data.result == CURLE_OK && code == 200)
                                        ok++;
                                else
                                        failed++;
                                curl_multi_remove_handle(m, x->h);
                                if (soak && now_us() < end) { /* replace it: keep N open */
                                        setup(x, url, body_stream);
                                        x->got_first = true; /* counted as open already */
                                        curl_multi_add_handle(m, x->h);
                                        running = 1;
                                }
                        }
                        if (!held) {
                                for (; first < n && xs[first].got_first; first++)
                                        ;
                                if (first == n) {
                                        if (hold)
                                                touch(hold);
                                        held = true;
                                        printf("all_streams_open_after_ms %.0f\n",
                                               (now_us() - start) / 1e3);
                                        fflush(stdout);
                                }
                        }
                }
                printf("streams_ok %ld\nstreams_failed %ld\n", ok, failed);
                return failed ? 1 : 0;
        }
        return 2;
}
