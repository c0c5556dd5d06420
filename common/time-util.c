/* Clocks and timestamps. Trust level: pure helpers. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/time-util.h"

static uint64_t clock_usec(clockid_t id)
{
        struct timespec ts;
        clock_gettime(id, &ts);
        return (uint64_t)ts.tv_sec * 1000000ULL + (uint64_t)ts.tv_nsec / 1000ULL;
}

uint64_t now_usec(void)
{
        return clock_usec(CLOCK_MONOTONIC);
}

uint64_t now_realtime_usec(void)
{
        return clock_usec(CLOCK_REALTIME);
}

/* Every audit record carries one of these: the seconds part is formatted once per second (per
 * thread), the milliseconds appended by hand. */
void format_iso8601_ms(uint64_t realtime_usec, char *buf, size_t len)
{
        static _Thread_local time_t cached_sec = -1;
        static _Thread_local char cached[32]; /* "YYYY-MM-DDTHH:MM:SS." */
        static _Thread_local size_t cached_len;
        time_t sec = (time_t)(realtime_usec / 1000000ULL);
        unsigned ms = (unsigned)((realtime_usec / 1000ULL) % 1000ULL);
        if (sec != cached_sec) {
                struct tm tm;
                gmtime_r(&sec, &tm);
                int n = snprintf(cached, sizeof(cached), "%04d-%02d-%02dT%02d:%02d:%02d.",
                                 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                                 tm.tm_min, tm.tm_sec);
                if (n < 0 || (size_t)n >= sizeof(cached))
                        n = 0;
                cached_len = (size_t)n;
                cached_sec = sec;
        }
        if (len < cached_len + 5) {
                if (len > 0)
                        buf[0] = 0;
                return;
        }
        memcpy(buf, cached, cached_len);
        buf[cached_len] = (char)('0' + ms / 100);
        buf[cached_len + 1] = (char)('0' + ms / 10 % 10);
        buf[cached_len + 2] = (char)('0' + ms % 10);
        buf[cached_len + 3] = 'Z';
        buf[cached_len + 4] = 0;
}
