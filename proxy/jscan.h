/* A fast JSON reader for the few fields the proxy needs from bodies it otherwise relays as they
 * are (usage and finish reason of an upstream answer): it validates the whole text exactly as
 * json_loadb(text, len, 0, ...) does (same grammar, UTF-8, escapes, surrogates, number ranges,
 * nesting limit) at a fraction of jansson's cost per byte, and builds jansson values only for the
 * members a keep-list names. Trust level: parses untrusted upstream bytes; bounded recursion. */
#pragma once

#include <jansson.h>
#include <stddef.h>

/* Members to keep, a list ended by { NULL }. sub NULL: keep the member's whole value; else the
 * value is pruned by sub: an object keeps only those members, an array keeps its elements each
 * pruned by sub, a scalar is kept as it is. Duplicate keys: the last one wins (as jansson). */
struct jscan_keep {
        const char *key;
        const struct jscan_keep *sub;
};

/* Same as jansson's JSON_PARSER_MAX_DEPTH (2048): deeper text is refused as jansson refuses it. */
#define JSCAN_DEPTH_MAX 2048

/* Validate text; on success *ret is the top-level value (object or array) pruned by keep (keep
 * NULL: nothing kept, *ret is an empty object or array). 0, -EBADMSG (jansson would refuse the
 * text), -ENOMEM. */
int jscan_load(const char *text, size_t len, const struct jscan_keep *keep, json_t **ret);

/* Flags for jscan_load_flags. JSCAN_REJECT_DUPLICATES: -EBADMSG if a member the result holds
 * (a kept one, or anything inside a value kept whole) appears twice in its object, as
 * json_loadb(JSON_REJECT_DUPLICATES) would refuse it; duplicates among the members skipped are
 * not looked for (what the caller reads is unambiguous, the rest it does not interpret). */
#define JSCAN_REJECT_DUPLICATES 1u
int jscan_load_flags(const char *text, size_t len, const struct jscan_keep *keep, unsigned flags,
                     json_t **ret);
