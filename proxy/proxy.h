/* qclaw-proxy internals shared by its files.
 *
 * Architecture (design for latency and memory, see the bench numbers in bench/bench-proxy.sh):
 * ONE thread runs ONE epoll loop (proxy/loop.c) holding every file descriptor the proxy uses:
 *   - the listeners (configured TCP ones, and per-session ones handed over on the control socket);
 *     proxy/listener.c accepts, binds the identity (session -> profile, or "needs a bearer token")
 *     to the accepted socket and gives it to libmicrohttpd with MHD_add_connection();
 *   - libmicrohttpd in external-epoll mode (its epoll fd sits in our loop; MHD_run() when ready);
 *   - the libcurl multi handle through the socket API (proxy/upstream.c), one easy handle per
 *     upstream request, keep-alive connections cached by the multi handle (their sockets stay
 *     in the epoll set between transfers: no epoll_ctl per request on the upstream side);
 *   - the control socket and its connections (proxy/ctl.c), a signalfd, a 1 s tick timerfd.
 * No thread per request, no locks, no per-request process work, the config is a refcounted
 * snapshot swapped on SIGHUP. Requests whose upstream has not answered yet are MHD-suspended;
 * streamed bytes flow through a bounded per-request buffer (the curl transfer is paused when
 * the agent reads slower than the upstream writes).
 *
 * One loop pass (proxy/main.c settle()): events are dispatched; audit records made meanwhile
 * are queued (proxy/paudit.c) and written together in ONE write(2) under one flock (policy/
 * audit.c append_many; its fast path skips the stat of the path when nobody else appended);
 * only then do the transfers whose egress record was in that write start; MHD is run directly
 * while it has ready work (no epoll round trip); egress_done records are written after the
 * response went out. A failed append refuses the requests it covered with 503: nothing leaves
 * without its record. A client that hangs up while its request waits is noticed through an
 * EPOLLRDHUP watch of our own (MHD does not watch suspended connections) and the upstream
 * transfer is cancelled at once.
 *
 * Audit and fsync (config "audit_fsync"): the default is "never". The egress record's write(2)
 * has returned before the upstream request starts in every mode, so the record is in the page
 * cache and survives a crash or SIGKILL of the proxy; only a kernel crash or power loss within
 * the file system's commit interval (ext4: 5 s) can lose it. "egress" adds an fsync per batch
 * of egress records for that case too, at a measured cost (bench/bench-proxy.sh, 2 cores,
 * ext4): added latency at concurrency 1 about 0.65 ms instead of 0.2 ms and throughput at
 * concurrency 64 about 3,500 instead of 4,400 req/s. fsync does not protect against an attacker
 * who controls the kernel (who can rewrite the file anyway); what does is dom0's mirror.
 *
 * CPU per request (bench/bench-proxy.sh; perf attribution in the commit log): about half is the
 * kernel's loopback TCP for two hops (send() also runs the receiver's TCP input and wakeup) and
 * the audit write(2); of the rest libcurl is the largest part. jansson parses at ~40 ns/byte, so
 * relayed answers are read with proxy/jscan.c (same validity verdict, builds only usage and
 * finish reason); upstream header lists are built once per config snapshot.
 *
 * Memory: 16 KiB MHD pool per connection, one malloc arena, freed heap handed back once the
 * number of requests in flight drops to a quarter of its peak (1 s tick). Idle Rss is mostly
 * shared library pages (libcrypto, libc, gnutls pulled in by libmicrohttpd, libcurl and its
 * dependencies): about 10 MiB Rss, 2.5 MiB Pss, 1.4 MiB private at start.
 * Trust level: the proxy holds the API keys and parses untrusted agent and upstream bytes. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "policy/audit-fields.h"
#include "policy/audit.h"
#include "policy/config.h"
#include "policy/profile.h"

struct MHD_Daemon;
struct upstream;
struct request;

/* ---- event loop (proxy/loop.c) ---- */
struct loop_source;
typedef void (*loop_handler_t)(struct loop_source *s, uint32_t events);
struct loop_source {
        int fd;
        loop_handler_t handler;
};
int loop_init(void);
int loop_add(struct loop_source *s, uint32_t events);
int loop_mod(struct loop_source *s, uint32_t events);
void loop_del(struct loop_source *s);
/* Free a heap-allocated source (must start with struct loop_source) after loop_del; safe while
 * events for it may still be pending in the batch being dispatched. */
void loop_free_source(void *s);
/* Wait at most timeout_ms (-1 forever) and dispatch ready sources. Number of events or -errno. */
int loop_run_once(int timeout_ms);

/* ---- config snapshot: what one request sees from start to end ---- */
struct curl_slist;
struct proxy_snapshot {
        unsigned ref;
        struct proxy_config *config;
        struct profile_set *profiles;
        /* Upstream header lists that depend only on the provider and on streaming (proxy/
         * relay.c), built on first use: [provider index * 2 + stream]; n_providers * 2 long. */
        struct curl_slist **hdr_cache;
};
struct proxy_snapshot *snapshot_ref(struct proxy_snapshot *s);
struct proxy_snapshot *snapshot_unref(struct proxy_snapshot *s);
/* Load config + profiles. 0, or -errno with err filled. */
int snapshot_load(const char *config_path, struct proxy_snapshot **ret, char err[POLICY_ERR_MAX]);

/* ---- sessions (attached by qclaw-run over the control socket) ---- */
#define SESSION_ID_MAX 64
struct session {
        unsigned ref;
        char id[SESSION_ID_MAX + 1];
        char profile[PROFILE_NAME_MAX + 1];
        pid_t pid;
        uint64_t started_rt; /* realtime usec */
        uint64_t requests;
        unsigned active;
        bool ended;
        struct session *next; /* proxy.sessions list, while attached */
};
struct session *session_ref(struct session *s);
struct session *session_unref(struct session *s);

/* ---- identity of one accepted connection (MHD socket_context) ---- */
struct conn_ident {
        /* first: the socket, watched by the loop for a hang-up (EPOLLRDHUP, edge-triggered)
         * because MHD stops watching a connection it has suspended */
        struct loop_source src;
        struct session *session; /* ref; NULL for configured TCP listeners */
        bool needs_token;        /* TCP listener: bearer token names the client */
        struct request *req;     /* the request in progress on this connection */
};

/* ---- per-profile limits (proxy/limits.c); survive reloads, keyed by profile name ---- */
struct limits_state;
enum limits_verdict {
        LIMITS_OK,
        LIMITS_RATE,        /* requests per minute */
        LIMITS_CONCURRENCY, /* max_concurrent_requests */
        LIMITS_BUDGET,      /* tokens per day used up */
};
struct limits_state *limits_get(const char *profile_name);
/* Check and, if LIMITS_OK, take one request slot (rpm token + concurrency). */
enum limits_verdict limits_acquire(struct limits_state *l, const struct profile_limits *pl,
                                   uint64_t now_us, int64_t *ret_retry_after_ms);
void limits_release(struct limits_state *l);
void limits_add_tokens(struct limits_state *l, uint64_t tokens, uint64_t now_rt_us);
void limits_free_all(void);

/* ---- the process-wide state ---- */
struct listener;
struct proxy {
        char *config_path;
        struct proxy_snapshot *snap;
        struct audit_log *audit;
        char *audit_path;
        struct MHD_Daemon *mhd;
        struct upstream *up;
        struct listener *listeners; /* configured TCP + session listeners */
        struct session *sessions;
        uint64_t started_rt, started_mono;
        uint64_t requests_total, egress_total, denied_total;
        unsigned active_requests;
        struct request *streams; /* requests currently relaying a stream (keepalive tick) */
        bool draining;
        bool ready;
};
extern struct proxy P;

/* ---- audit records (proxy/paudit.c) ---- */
/* Records are queued during a loop pass and written by paudit_flush() in one write(2).
 * paudit_queue takes ownership of fields; with a waiter (an egress record) the request's
 * upstream transfer starts only from relay_egress_written(waiter, 0) after the write returned
 * (a failed write: relay_egress_written(waiter, -errno), the request is refused with 503). */
int paudit_queue(json_t *fields, struct request *waiter);
/* The same for fields built as text (policy/audit-fields.h): takes f's text (f is emptied);
 * a builder error (ENOMEM, E2BIG) is returned and queues nothing. */
int paudit_queue_fields(struct audit_fields *f, struct request *waiter);
void paudit_flush(void);
bool paudit_waiting(void);               /* egress records are waiting to be written */
bool paudit_pending(void);               /* any record is queued */
void paudit_forget(struct request *req); /* request freed while its egress record waits */
/* Flush the queue, then append at once; returns 0 or -errno. Takes ownership of fields. */
int paudit_now(json_t *fields, bool sync);
int paudit_config(const char *reason);

/* ---- listeners (proxy/listener.c) ---- */
int listener_open_tcp(const char *addr);                  /* bind + listen + add to loop */
int listener_add_session(int fd, struct session *s);      /* takes fd */
void listener_close_session(struct session *s);
void listener_close_all(void);

/* ---- HTTP server (proxy/server.c) ---- */
int server_start(void);
void server_stop(void);
/* Hand an accepted socket to MHD with its identity (takes ownership of fd and a session ref). */
int server_add_connection(int fd, const struct sockaddr *sa, socklen_t salen,
                          struct session *session, bool needs_token);
void server_run(void);           /* let MHD process ready sockets */
int server_timeout_ms(void);     /* for the loop: -1 none */
void server_tick(uint64_t now);  /* 1 s: keepalive comments on silent streams */

/* ---- control socket (proxy/ctl.c) ---- */
int ctl_open(const char *path, const struct proxy_config *cfg);
void ctl_close(void);
json_t *ctl_status_json(void);
bool server_idle(void);
bool server_kicked(void); /* a connection was resumed: MHD_run() needed */
void server_abort_all(void);
