/* Per-profile limits held in memory: requests per minute (token bucket), concurrent requests,
 * tokens per UTC day (fed from upstream usage). Keyed by profile name so a SIGHUP reload keeps
 * the counters. Runs in the proxy's loop thread only: no locking. Trust level: internal. */
#include <stdlib.h>
#include <string.h>

#include "common/time-util.h"
#include "proxy/proxy.h"

struct limits_state {
        char name[PROFILE_NAME_MAX + 1];
        double bucket;          /* rpm tokens available */
        uint64_t bucket_at;     /* monotonic usec of last refill */
        bool bucket_init;
        uint64_t active;
        uint64_t day;           /* UTC day number of tokens_used */
        uint64_t tokens_used;
        struct limits_state *next;
};

static struct limits_state *all;

struct limits_state *limits_get(const char *profile_name)
{
        for (struct limits_state *l = all; l; l = l->next)
                if (strcmp(l->name, profile_name) == 0)
                        return l;
        struct limits_state *l = calloc(1, sizeof(*l));
        if (!l)
                return NULL;
        size_t n = strlen(profile_name);
        if (n > PROFILE_NAME_MAX)
                n = PROFILE_NAME_MAX;
        memcpy(l->name, profile_name, n);
        l->next = all;
        all = l;
        return l;
}

static uint64_t utc_day(uint64_t rt_us)
{
        return rt_us / (86400ULL * 1000000ULL);
}

enum limits_verdict limits_acquire(struct limits_state *l, const struct profile_limits *pl,
                                   uint64_t now_us, int64_t *ret_retry_after_ms)
{
        uint64_t rt = now_realtime_usec();
        *ret_retry_after_ms = -1;

        if (pl->tokens_per_day > 0) {
                if (utc_day(rt) != l->day) {
                        l->day = utc_day(rt);
                        l->tokens_used = 0;
                }
                if (l->tokens_used >= pl->tokens_per_day)
                        return LIMITS_BUDGET;
        }
        if (pl->max_concurrent_requests > 0 && l->active >= pl->max_concurrent_requests) {
                *ret_retry_after_ms = 1000;
                return LIMITS_CONCURRENCY;
        }
        if (pl->requests_per_minute > 0) {
                double cap = (double)pl->requests_per_minute;
                double rate = cap / 60e6; /* tokens per usec */
                if (!l->bucket_init) {
                        l->bucket = cap;
                        l->bucket_at = now_us;
                        l->bucket_init = true;
                }
                l->bucket += (double)(now_us - l->bucket_at) * rate;
                l->bucket_at = now_us;
                if (l->bucket > cap)
                        l->bucket = cap;
                if (l->bucket < 1.0) {
                        double wait_us = (1.0 - l->bucket) / rate;
                        *ret_retry_after_ms = (int64_t)(wait_us / 1000.0) + 1;
                        return LIMITS_RATE;
                }
                l->bucket -= 1.0;
        }
        l->active++;
        return LIMITS_OK;
}

void limits_release(struct limits_state *l)
{
        if (l && l->active > 0)
                l->active--;
}

void limits_add_tokens(struct limits_state *l, uint64_t tokens, uint64_t now_rt_us)
{
        if (!l)
                return;
        if (utc_day(now_rt_us) != l->day) {
                l->day = utc_day(now_rt_us);
                l->tokens_used = 0;
        }
        l->tokens_used += tokens;
}

void limits_free_all(void)
{
        while (all) {
                struct limits_state *n = all->next;
                free(all);
                all = n;
        }
}
