/* Clocks and timestamps. Trust level: pure helpers. */
#include <stdio.h>
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

void format_iso8601_ms(uint64_t realtime_usec, char *buf, size_t len)
{
        time_t sec = (time_t)(realtime_usec / 1000000ULL);
        unsigned ms = (unsigned)((realtime_usec / 1000ULL) % 1000ULL);
        struct tm tm;
        gmtime_r(&sec, &tm);
        snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03uZ", tm.tm_year + 1900, tm.tm_mon + 1,
                 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
}
