/* jansson helpers: scoped cleanup and safe getters. */
#pragma once

#include <jansson.h>
#include "common/macro.h"

/* jansson >= 2.9 ships json_decrefp() (and json_auto_t) for exactly this. */
#define _cleanup_json_ _cleanup_(json_decrefp)

/* Compact dump with sorted keys off, order preserved; caller frees. NULL on OOM. */
char *json_dump_compact(const json_t *j);
/* Getters that return a default when the key is absent or of the wrong type. */
const char *json_get_str(const json_t *obj, const char *key, const char *def);
long long json_get_int(const json_t *obj, const char *key, long long def);
