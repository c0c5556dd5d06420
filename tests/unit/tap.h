/* Minimal test helpers for tests/unit: CHECK prints the failing expression and counts it. */
#pragma once

#include <stdio.h>
#include <string.h>

static int tap_failures;
static int tap_checks;

#define CHECK(expr)                                                                                \
        do {                                                                                       \
                tap_checks++;                                                                      \
                if (!(expr)) {                                                                     \
                        tap_failures++;                                                            \
                        fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #expr);  \
                }                                                                                  \
        } while (0)

#define CHECK_STREQ(a, b)                                                                          \
        do {                                                                                       \
                tap_checks++;                                                                      \
                const char *_a = (a), *_b = (b);                                                   \
                if (!_a || !_b || strcmp(_a, _b) != 0) {                                           \
                        tap_failures++;                                                            \
                        fprintf(stderr, "%s:%d: CHECK_STREQ failed: \"%s\" != \"%s\"\n", __FILE__, \
                                __LINE__, _a ? _a : "(null)", _b ? _b : "(null)");                 \
                }                                                                                  \
        } while (0)

#define TEST_DONE()                                                                                \
        ({                                                                                         \
                printf("%d checks, %d failed\n", tap_checks, tap_failures);                       \
                tap_failures ? 1 : 0;                                                              \
        })
