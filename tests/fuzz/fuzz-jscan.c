/* Fuzz target: proxy/jscan.c against jansson. Oracles: jscan_load() accepts exactly the texts
 * json_loadb(text, len, 0) accepts, and what it keeps equals the jansson tree pruned by the same
 * keep-list (the response keep-list the proxy uses, and one keeping nested members); with
 * JSCAN_REJECT_DUPLICATES (the request keep-list), agreement with JSON_REJECT_DUPLICATES. */
#include <errno.h>
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proxy/jscan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x)                                                                                   \
        do {                                                                                       \
                if (!(x))                                                                          \
                        abort();                                                                   \
        } while (0)

static const struct jscan_keep fr[] = { { "finish_reason", NULL }, { NULL, NULL } };
static const struct jscan_keep inner[] = { { "b", NULL }, { "", NULL }, { NULL, NULL } };
static const struct jscan_keep mid[] = { { "a", inner }, { "k", NULL }, { NULL, NULL } };
static const struct jscan_keep k1[] = {
        { "usage", NULL }, { "choices", fr }, { "stop_reason", NULL }, { NULL, NULL },
};
static const struct jscan_keep k2[] = { { "a", mid }, { "x", NULL }, { "", NULL }, { NULL, NULL } };

/* jansson's value pruned the way jscan_load() documents it */
static json_t *prune(json_t *v, const struct jscan_keep *spec)
{
        if (json_is_object(v)) {
                json_t *o = json_object();
                for (const struct jscan_keep *k = spec; k->key; k++) {
                        json_t *m = json_object_get(v, k->key);
                        if (m)
                                json_object_set_new(o, k->key,
                                                    k->sub ? prune(m, k->sub) : json_incref(m));
                }
                return o;
        }
        if (json_is_array(v)) {
                json_t *a = json_array();
                size_t i;
                json_t *e;
                json_array_foreach(v, i, e)
                        json_array_append_new(a, prune(e, spec));
                return a;
        }
        return json_incref(v);
}

static void one(const char *text, size_t len, const struct jscan_keep *spec)
{
        json_t *ref = json_loadb(text, len, 0, NULL);
        json_t *got = NULL;
        int r = jscan_load(text, len, spec, &got);
        CHECK(r == 0 || r == -EBADMSG);
        CHECK((r == 0) == (ref != NULL));
        if (ref) {
                json_t *want = prune(ref, spec);
                CHECK(json_equal(want, got));
                json_decref(want);
        }
        json_decref(got);
        json_decref(ref);
}

/* JSCAN_REJECT_DUPLICATES: never refuses a text json_loadb(JSON_REJECT_DUPLICATES) accepts;
 * what it accepts jansson accepts, and it keeps the same members. */
static void one_strict(const char *text, size_t len, const struct jscan_keep *spec)
{
        json_t *lax = json_loadb(text, len, 0, NULL);
        json_t *strict = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
        json_t *got = NULL;
        int r = jscan_load_flags(text, len, spec, JSCAN_REJECT_DUPLICATES, &got);
        CHECK(r == 0 || r == -EBADMSG);
        if (strict)
                CHECK(r == 0);
        if (r == 0) {
                CHECK(lax != NULL);
                json_t *want = prune(lax, spec);
                CHECK(json_equal(want, got));
                json_decref(want);
        }
        json_decref(got);
        json_decref(strict);
        json_decref(lax);
}

static const struct jscan_keep req_keep[] = {
        { "model", NULL }, { "stream", NULL }, { "stream_options", NULL }, { NULL, NULL },
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        one((const char *)data, size, k1);
        one((const char *)data, size, k2);
        one_strict((const char *)data, size, k2);
        one_strict((const char *)data, size, req_keep);
        return 0;
}
