/* One agent request from first byte to completion: shared by proxy/server.c (MHD side: identity,
 * routing, policy, responses) and proxy/relay.c (upstream side: body rewriting/translation, curl
 * transfer, streaming relay). Lives in the loop thread only. */
#pragma once

#include <curl/curl.h>
#include <microhttpd.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/strbuf.h"
#include "policy/model.h"
#include "proxy/api-error.h"
#include "proxy/proxy.h"
#include "proxy/translate.h"
#include "proxy/usage.h"

enum route {
        ROUTE_UNKNOWN,
        ROUTE_CHAT,        /* POST /v1/chat/completions */
        ROUTE_MESSAGES,    /* POST /v1/messages */
        ROUTE_RESPONSES,   /* POST /v1/responses */
        ROUTE_EMBEDDINGS,  /* POST /v1/embeddings */
        ROUTE_COMPLETIONS, /* POST /v1/completions */
        ROUTE_MODELS,      /* GET /v1/models */
        ROUTE_HEALTHZ,
        ROUTE_READYZ,
};

enum req_state {
        REQ_RECEIVING, /* reading the body */
        REQ_UPSTREAM,  /* suspended, waiting for the upstream */
        REQ_RESPOND,   /* resp is ready to be queued */
        REQ_STREAMING, /* stream response queued; reader pulls from out */
        REQ_FINISHED,  /* response queued */
        REQ_GONE,      /* the client hung up while we waited: close the connection */
};

#define REQ_BODY_HARD_MAX (64u * 1024 * 1024)     /* whatever a profile says */
#define UPSTREAM_BODY_MAX (32u * 1024 * 1024)     /* non-streamed upstream answers */
#define OUT_HIGH_WATER (256u * 1024)              /* pause the upstream above this */
#define OUT_MAX (8u * 1024 * 1024)

struct request {
        struct MHD_Connection *conn;
        struct conn_ident *ident;
        struct proxy_snapshot *snap;     /* ref */
        const struct profile *profile;   /* in snap */
        const char *client;              /* TCP client name (in snap), NULL for sessions */
        struct session *session;         /* ref, NULL for TCP clients */
        struct limits_state *lim;        /* slot held when holds_slot */
        bool holds_slot;
        char id[32];
        enum route route;
        const char *endpoint;            /* "/v1/chat/completions", ... */
        enum llm_api shape;              /* the caller's API shape */
        enum req_state state;
        struct strbuf body;
        uint64_t max_body;
        bool too_large;
        uint64_t t_start;                /* monotonic usec */

        /* policy result */
        char model[MODEL_ID_MAX + 1];    /* as requested */
        struct model_route mr;
        bool stream;
        bool include_usage;              /* OpenAI client asked for the usage chunk */
        bool injected_usage;             /* we asked upstream for it; strip it again */
        enum translate_dir tdir;
        bool translate;

        /* upstream */
        CURL *easy;
        struct curl_slist *hdrs;
        bool hdrs_cached;                /* hdrs belongs to snap->hdr_cache */
        char *up_body;
        size_t up_len;
        long up_status;
        char retry_after[40];
        bool up_running;
        char *up_url;
        bool egress_queued;              /* egress record queued, transfer not started yet */
        bool egress_logged, done_logged;
        struct strbuf up_buf;            /* non-stream body or error body */
        uint64_t bytes_down;

        /* stream relay */
        struct translate_stream *ts;
        struct usage_observer *obs;
        struct sse_parser *sse;
        struct strbuf out;
        size_t out_off;
        bool out_done;
        bool suspended;                  /* MHD connection suspended by us */
        bool curl_paused;
        uint64_t last_out;               /* monotonic usec of the last byte queued to the agent */
        struct llm_usage usage;
        char finish_reason[USAGE_FINISH_MAX];

        /* response */
        struct MHD_Response *resp;
        unsigned resp_status;

        struct request *prev, *next;     /* all live requests (tick, shutdown) */
};

/* server.c */
void request_set_error(struct request *req, const struct api_error *e);
void request_set_body(struct request *req, unsigned status, char *body, size_t len,
                      const char *ctype); /* takes body */
/* The response (or stream) is ready: resume the connection so MHD queues it. */
void request_wake(struct request *req);
void request_deny(struct request *req, const char *reason, const struct api_error *e);
void request_audit_base(struct request *req, const char *event, struct audit_fields *f);
