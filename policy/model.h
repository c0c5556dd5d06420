/* Model resolution and allowlist decisions (DESIGN.md "Proxy configuration").
 * "provider/model" names a provider directly (the first '/' splits; the model id may itself contain
 * '/', e.g. "ollama/library/llama3:8b"); a bare "model" goes to the first provider in file order
 * whose models globs match. Matching is case-sensitive; '*' matches any run including '/'. */
#pragma once

#include <stdbool.h>

#include "policy/config.h"
#include "policy/profile.h"

#define MODEL_ID_MAX 256

enum model_verdict {
        MODEL_ALLOW,
        MODEL_DENY_NOT_ALLOWED, /* resolved, but the profile's globs do not allow it -> 403 */
        MODEL_UNKNOWN,          /* no provider serves this name -> 404 */
        MODEL_INVALID,          /* empty, too long, control chars, "..", ... -> 400 */
};

struct model_route {
        const struct provider *provider;
        char model[MODEL_ID_MAX + 1]; /* the provider's own id, prefix stripped */
};

/* Resolve and decide in one step. ret_route filled for MODEL_ALLOW and MODEL_DENY_NOT_ALLOWED. */
enum model_verdict model_decide(const struct proxy_config *cfg, const struct profile *prof,
                                const char *requested, struct model_route *ret_route);

/* Does the profile allow provider/model? (globs in prof->models over "provider/model") */
bool model_allowed(const struct profile *prof, const char *provider, const char *model);

/* Glob match used everywhere: '*' any run (including '/'), '?' one char, no classes. */
bool glob_match(const char *pattern, const char *s);
/* Valid glob for profiles/configs: non-empty, printable ASCII, no '[' ']' '\\', <= MODEL_ID_MAX. */
bool glob_valid(const char *pattern);

const char *model_verdict_to_string(enum model_verdict v);
