/* Fuzz target: profile parsing and validation (policy/profile.c, policy/json-pos.c).
 * Any input must give either a profile or an error message with a position, never a crash. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "policy/profile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        char err[POLICY_ERR_MAX];
        struct profile *p = NULL;
        struct profile_vars vars = { .workspace = "/w", .home = "/h" };
        int r = profile_load_string("fuzz", (const char *)data, size, &vars, &p, err);
        if (r >= 0 && (!p || strlen(p->hash) != 64))
                abort();
        if (r < 0 && (p || strncmp(err, "fuzz", 4) != 0))
                abort();
        profile_free(p);
        return 0;
}
