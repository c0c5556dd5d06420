/* Fuzz target: proxy/jscan.c against jansson. Oracles: jscan_load() accepts exactly the texts
 * json_loadb(text, len, 0) accepts, and what it keeps equals the jansson tree pruned by the same
 * keep-list (the response keep-list the proxy uses, and one keeping nested members). */
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        one((const char *)data, size, k1);
        one((const char *)data, size, k2);
        return 0;
}
