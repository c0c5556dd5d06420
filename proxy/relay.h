/* Upstream side of a request: builds the upstream body (rewritten or translated), injects the
 * provider's key, runs the transfer and relays the answer (buffered or streamed, translated when
 * the caller and the provider speak different APIs). */
#pragma once

#include <curl/curl.h>
#include <stdint.h>

struct request;
struct api_error;
#include <jansson.h>
#include <sys/types.h>

/* Build and start the upstream transfer for an allowed request (parsed body in reqj). On refusal
 * (bad request for the translation, audit failure) fills *e and returns -errno. */
int relay_begin(struct request *req, json_t *reqj, struct api_error *e);
/* The queued egress record was written (r == 0: start the transfer) or not (-errno: 503). */
void relay_egress_written(struct request *req, int r);
void relay_upstream_done(struct request *req, CURLcode res);
/* MHD content reader for streamed responses. */
ssize_t relay_reader(void *cls, uint64_t pos, char *buf, size_t max);
/* Client went away / shutdown: stop the transfer, log egress_done. */
void relay_cancel(struct request *req, const char *why);
void relay_free(struct request *req);
/* Keepalive comment on a silent stream. */
void relay_keepalive(struct request *req);
void relay_set_keepalive_ms(uint64_t ms);
