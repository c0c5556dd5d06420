/* Helpers shared by the translate-*.c files (not part of the public interface). */
#pragma once

#include <jansson.h>

#include "proxy/api-error.h"

/* Fill err as a 400 invalid_request_error naming param; returns -EINVAL. */
int translate_bad(struct api_error *err, const char *param, const char *fmt, ...) _printf_(3, 4);
/* Append/set consuming v (NULL v -> -ENOMEM). */
int translate_append(json_t *a, json_t *v);
int translate_set(json_t *o, const char *key, json_t *v);
