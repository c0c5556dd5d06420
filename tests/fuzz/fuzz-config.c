/* Fuzz target: proxy config parsing, ${VAR} expansion and validation (policy/config.c).
 * The one variable that is set holds a marker that must never show up in an error message. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "policy/config.h"

#define MARKER "sk-FUZZ-SECRET-MARKER"

static const char *fuzz_getenv(const char *name, void *userdata)
{
        return strcmp(name, "KEY") == 0 ? MARKER : NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        char err[POLICY_ERR_MAX];
        struct proxy_config *c = NULL;
        int r = proxy_config_load_string("fuzz", (const char *)data, size, fuzz_getenv, NULL, &c,
                                         err);
        /* The marker may only reach err through the input itself (literally or escaped). */
        bool own = memmem(data, size, "FUZZ", 4) || memchr(data, '\\', size);
        if (r < 0 && (c || (!own && strstr(err, MARKER))))
                abort();
        if (r >= 0 && (!c || c->n_providers == 0))
                abort();
        proxy_config_free(c);
        return 0;
}
