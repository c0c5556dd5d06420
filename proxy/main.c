/* qclaw-proxy: the one LLM endpoint agents can reach. Reads the config, opens the audit log,
 * binds the TCP listeners and the control socket, then runs the single event loop (see
 * proxy/proxy.h for the architecture) until SIGTERM/SIGINT, draining in-flight requests.
 * SIGHUP reloads config and profiles atomically. Trust level: root daemon holding API keys. */
#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "common/fd-util.h"
#include "common/log.h"
#include "common/time-util.h"
#include "proxy/proxy.h"
#include "proxy/relay.h"
#include "proxy/upstream.h"

#define DRAIN_TIMEOUT_US (30 * 1000000ULL)

struct proxy P;

static struct loop_source sig_src = { .fd = -1 };
static struct loop_source tick_src = { .fd = -1 };
static bool stop_requested;

/* Work left over after a batch of events, done before the loop may block again:
 *  - queued egress records are written (one write(2) for all) and their transfers started,
 *  - curl's "run me now" timer is run (sends the requests just started),
 *  - MHD runs while it has something to do right now (resumed connections with a response,
 *    connections it has not read to EAGAIN yet) without a round trip through epoll_wait,
 *  - the remaining records (egress_done, deny) are written after the responses went out.
 * Bounded, so a connection MHD keeps asking for cannot starve the other sources: true when
 * work is left (the loop then polls without blocking). */
static bool settle(void)
{
        for (int i = 0; i < 16; i++) {
                if (paudit_waiting())
                        paudit_flush();
                upstream_run_timers();
                if (server_kicked() || server_timeout_ms() == 0) {
                        server_run();
                        continue;
                }
                if (!paudit_pending())
                        return upstream_timeout_ms() == 0;
                paudit_flush(); /* may resume a request (a refused egress) */
        }
        return true; /* more to do: poll, don't block */
}

static void help(void)
{
        printf("Usage: qclaw-proxy --config FILE [--check] [--verbose]\n"
               "The qclaw LLM proxy: one endpoint for sandboxed agents, with per-profile model\n"
               "allowlists, limits, API key injection, OpenAI<->Anthropic translation and a\n"
               "hash-chained audit log. Runs in the foreground (for systemd).\n\n"
               "  -c, --config FILE  proxy configuration (default /etc/qclaw/proxy.json)\n"
               "      --check        validate the config and all profiles, print a summary, exit\n"
               "  -v, --verbose      debug logging\n"
               "  -h, --help         this help\n"
               "      --version      print the version\n\n"
               "Signals: SIGHUP reloads config and profiles (a bad config keeps the old one),\n"
               "SIGTERM stops accepting and drains in-flight requests (at most 30 s).\n");
}

static int audit_open_from(const struct proxy_config *cfg)
{
        struct audit_options o = {
                .rotate_bytes = cfg->audit_rotate_bytes,
                .keep_files = cfg->audit_keep_files,
                .fsync = cfg->audit_fsync == AUDIT_FSYNC_NEVER    ? AUDIT_SYNC_NONE
                         : cfg->audit_fsync == AUDIT_FSYNC_ALWAYS ? AUDIT_SYNC_ALWAYS
                                                                  : AUDIT_SYNC_CALLER,
        };
        struct audit_log *log = NULL;
        int r = audit_log_open(cfg->audit_log, &o, &log);
        if (r < 0) {
                log_error("audit log %s: %s (the proxy refuses to run without its audit log; "
                          "check the directory exists and is writable)", cfg->audit_log,
                          strerror(-r));
                return r;
        }
        audit_log_close(P.audit);
        P.audit = log;
        free(P.audit_path);
        P.audit_path = strdup(cfg->audit_log);
        return 0;
}

static bool strv_equal(const struct strv *a, const struct strv *b)
{
        if (a->n != b->n)
                return false;
        for (size_t i = 0; i < a->n; i++)
                if (strcmp(a->items[i], b->items[i]) != 0)
                        return false;
        return true;
}

static void reload(void)
{
        char err[POLICY_ERR_MAX] = "";
        struct proxy_snapshot *s = NULL;
        int r = snapshot_load(P.config_path, &s, err);
        if (r < 0) {
                log_error("reload failed, keeping the running configuration: %s", err);
                return;
        }
        const struct proxy_config *o = P.snap->config, *n = s->config;
        if (!strv_equal(&o->listen, &n->listen))
                log_warn("reload: \"listen\" changed; restart the proxy to apply it");
        if ((o->control_socket == NULL) != (n->control_socket == NULL) ||
            (o->control_socket && strcmp(o->control_socket, n->control_socket) != 0))
                log_warn("reload: \"control_socket\" changed; restart the proxy to apply it");
        paudit_flush(); /* queued records go to the log they were made for */
        if (strcmp(o->audit_log, n->audit_log) != 0 && audit_open_from(n) < 0) {
                log_error("reload failed, keeping the running configuration: cannot open the "
                          "new audit log");
                snapshot_unref(s);
                return;
        }
        snapshot_unref(P.snap);
        P.snap = s;
        (void)paudit_config("reload");
        log_info("reloaded %s: %zu providers, %zu clients, %zu profiles (config %.12s, profiles "
                 "%.12s)", P.config_path, n->n_providers, n->n_clients, s->profiles->n, n->hash,
                 s->profiles->hash);
}

static void on_signal(struct loop_source *src, uint32_t events)
{
        struct signalfd_siginfo si;
        while (read(src->fd, &si, sizeof(si)) == sizeof(si)) {
                if (si.ssi_signo == SIGHUP)
                        reload();
                else
                        stop_requested = true;
        }
}

/* Memory: after a burst (e.g. 1,000 streams) the freed heap stays mapped; give free pages back
 * once the number of requests in flight has fallen to a quarter of its peak since the last
 * trim (at most once a second, from the tick; cheap when there is nothing to give back). */
static unsigned active_peak;

static void maybe_trim(void)
{
        if (P.active_requests > active_peak)
                active_peak = P.active_requests;
        if (active_peak >= 16 && P.active_requests <= active_peak / 4) {
                malloc_trim(64 * 1024);
                active_peak = P.active_requests;
        }
}

static void on_tick(struct loop_source *src, uint32_t events)
{
        uint64_t n;
        (void)!read(src->fd, &n, sizeof(n));
        server_tick(now_usec());
        maybe_trim();
}

static int setup_signals(void)
{
        sigset_t ss;
        sigemptyset(&ss);
        sigaddset(&ss, SIGHUP);
        sigaddset(&ss, SIGTERM);
        sigaddset(&ss, SIGINT);
        if (sigprocmask(SIG_BLOCK, &ss, NULL) < 0)
                return NEG_ERRNO();
        signal(SIGPIPE, SIG_IGN);
        sig_src.fd = signalfd(-1, &ss, SFD_NONBLOCK | SFD_CLOEXEC);
        if (sig_src.fd < 0)
                return NEG_ERRNO();
        sig_src.handler = on_signal;
        int r = loop_add(&sig_src, EPOLLIN);
        if (r < 0)
                return r;
        tick_src.fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
        if (tick_src.fd < 0)
                return NEG_ERRNO();
        struct itimerspec its = { .it_interval = { 1, 0 }, .it_value = { 1, 0 } };
        if (timerfd_settime(tick_src.fd, 0, &its, NULL) < 0)
                return NEG_ERRNO();
        tick_src.handler = on_tick;
        return loop_add(&tick_src, EPOLLIN);
}

static void raise_nofile(void)
{
        struct rlimit rl;
        if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
                rl.rlim_cur = rl.rlim_max;
                (void)setrlimit(RLIMIT_NOFILE, &rl);
        }
}

static int check_only(void)
{
        char err[POLICY_ERR_MAX] = "";
        struct proxy_snapshot *s = NULL;
        if (snapshot_load(P.config_path, &s, err) < 0) {
                fprintf(stderr, "%s\n", err);
                return 1;
        }
        const struct proxy_config *c = s->config;
        printf("%s: OK (sha256 %s)\n", c->path, c->hash);
        printf("  listen:         ");
        for (size_t i = 0; i < c->listen.n; i++)
                printf("%s%s", i ? ", " : "", c->listen.items[i]);
        printf("\n  control socket: %s\n", c->control_socket ? c->control_socket : "(none)");
        printf("  audit log:      %s\n", c->audit_log);
        printf("  providers:     ");
        for (size_t i = 0; i < c->n_providers; i++)
                printf(" %s(%s%s)", c->providers[i].name,
                       c->providers[i].type == PROVIDER_ANTHROPIC ? "anthropic" : "openai",
                       c->providers[i].api_key ? ", key set" : "");
        printf("\n  clients:       ");
        for (size_t i = 0; i < c->n_clients; i++)
                printf(" %s->%s", c->clients[i].name, c->clients[i].profile);
        printf("\n  profiles:       %zu in %s (sha256 %s)\n", s->profiles->n, c->profiles_dir,
               s->profiles->hash);
        snapshot_unref(s);
        return 0;
}

int main(int argc, char **argv)
{
        static const struct option opts[] = {
                { "config", required_argument, NULL, 'c' },
                { "check", no_argument, NULL, 'C' },
                { "verbose", no_argument, NULL, 'v' },
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, 'V' },
                {},
        };
        bool check = false;
        const char *config = "/etc/qclaw/proxy.json";
        log_init("qclaw-proxy");
        int c;
        while ((c = getopt_long(argc, argv, "c:vh", opts, NULL)) >= 0) {
                switch (c) {
                case 'c': config = optarg; break;
                case 'C': check = true; break;
                case 'v': log_set_level(LOG_LVL_DEBUG); break;
                case 'h': help(); return 0;
                case 'V': printf("qclaw-proxy %s\n", QCLAW_VERSION); return 0;
                default:
                        fprintf(stderr, "Try 'qclaw-proxy --help'.\n");
                        return 2;
                }
        }
        if (optind < argc) {
                fprintf(stderr, "qclaw-proxy: unexpected argument '%s'; try --help\n", argv[optind]);
                return 2;
        }
        P.config_path = strdup(config);
        if (check)
                return check_only();

        const char *ka = getenv("QCLAW_PROXY_KEEPALIVE_MS");
        unsigned long long kams;
        if (ka && parse_u64(ka, &kams) >= 0 && kams > 0)
                relay_set_keepalive_ms(kams);

        char err[POLICY_ERR_MAX] = "";
        if (snapshot_load(P.config_path, &P.snap, err) < 0) {
                log_error("%s", err);
                log_error("fix the configuration (check it with: qclaw-proxy --check --config %s)",
                          P.config_path);
                return 1;
        }
        raise_nofile();
        /* One thread does all the work: one malloc arena (threads libcurl may start for name
         * resolution would otherwise each get one). */
        mallopt(M_ARENA_MAX, 1);
        P.started_rt = now_realtime_usec();
        P.started_mono = now_usec();
        const struct proxy_config *cfg = P.snap->config;
        int r;
        if ((r = loop_init()) < 0 || (r = setup_signals()) < 0) {
                log_error("event loop setup: %s", strerror(-r));
                return 1;
        }
        if (audit_open_from(cfg) < 0)
                return 1;
        if (paudit_config("start") < 0)
                return 1;
        if ((r = upstream_init()) < 0 || (r = server_start()) < 0) {
                log_error("server setup failed: %s", strerror(-r));
                return 1;
        }
        for (size_t i = 0; i < cfg->listen.n; i++)
                if (listener_open_tcp(cfg->listen.items[i]) < 0)
                        return 1;
        if (cfg->control_socket && ctl_open(cfg->control_socket, cfg) < 0)
                return 1;
        P.ready = true;
        log_info("ready: %zu listener(s), %zu provider(s), %zu profile(s)%s%s", cfg->listen.n,
                 cfg->n_providers, P.snap->profiles->n,
                 cfg->control_socket ? ", control socket " : "",
                 cfg->control_socket ? cfg->control_socket : "");
        for (size_t i = 0; i < cfg->listen.n; i++)
                printf("listening on %s\n", cfg->listen.items[i]);
        fflush(stdout);

        uint64_t drain_deadline = 0;
        for (;;) {
                if (stop_requested && !P.draining) {
                        P.draining = true;
                        drain_deadline = now_usec() + DRAIN_TIMEOUT_US;
                        listener_close_all();
                        ctl_close();
                        log_info("stopping: draining %u in-flight request(s)", P.active_requests);
                }
                if (P.draining && (server_idle() || now_usec() > drain_deadline))
                        break;
                bool busy = settle();
                int t = server_timeout_ms(), tu = upstream_timeout_ms();
                if (tu >= 0 && (t < 0 || tu < t))
                        t = tu;
                if (busy)
                        t = 0;
                if (P.draining && (t < 0 || t > 200))
                        t = 200;
                r = loop_run_once(t);
                if (r < 0) {
                        log_error("event loop: %s", strerror(-r));
                        break;
                }
                if (r == 0)
                        server_run(); /* MHD timeouts */
        }
        if (!server_idle()) {
                log_warn("drain timeout: aborting %u request(s)", P.active_requests);
                server_abort_all();
                for (int i = 0; i < 10; i++)
                        server_run();
        }
        paudit_flush();
        server_stop(); /* completes what is left: their egress_done records are queued */
        paudit_flush();
        upstream_free();
        audit_log_close(P.audit);
        snapshot_unref(P.snap);
        limits_free_all();
        free(P.audit_path);
        free(P.config_path);
        log_info("stopped");
        return 0;
}
