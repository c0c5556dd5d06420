/* The upstream engine: one libcurl multi handle driven by the proxy's epoll loop through the
 * socket API (no thread, no polling). Keep-alive connections to providers are cached by the
 * multi handle. Completed transfers are handed back to relay_upstream_done(). */
#pragma once

#include <curl/curl.h>
#include <stdbool.h>

int upstream_init(void);
void upstream_free(void);
/* Add a configured easy handle (CURLOPT_PRIVATE = struct request *). 0 or -errno. */
int upstream_start(CURL *easy);
/* Remove a transfer that is in progress (client went away, shutdown); closes its connection. */
void upstream_cancel(CURL *easy);
/* Loop integration: ms until curl's timer is due (-1 none); run it when due. */
int upstream_timeout_ms(void);
void upstream_run_timers(void);
/* Easy handles come from and go back to a small pool. */
CURL *upstream_easy_get(void);
void upstream_easy_put(CURL *e);
