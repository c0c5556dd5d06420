/* Clocks and timestamps. */
#pragma once

#include <stddef.h>
#include <stdint.h>

uint64_t now_usec(void);          /* CLOCK_MONOTONIC in microseconds */
uint64_t now_realtime_usec(void); /* CLOCK_REALTIME in microseconds */
/* "2026-12-03T16:00:00.123Z" (UTC, milliseconds) into buf (at least 32 bytes). */
void format_iso8601_ms(uint64_t realtime_usec, char *buf, size_t len);
