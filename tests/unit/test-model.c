/* Unit tests for policy/model.c: glob matching, model resolution and allow/deny verdicts,
 * table-driven, including tricky ids ("..", empty, very long, '/' inside ids, case). */
#include <string.h>

#include "common/macro.h"
#include "policy/model.h"
#include "tap.h"

static void test_glob(void)
{
        static const struct {
                const char *pat, *s;
                bool match;
        } t[] = {
                { "*", "", true },
                { "*", "anything/with/slashes", true },
                { "gpt-4o", "gpt-4o", true },
                { "gpt-4o", "gpt-4o-mini", false },
                { "gpt-4o*", "gpt-4o-mini", true },
                { "GPT-4o", "gpt-4o", false }, /* case-sensitive */
                { "claude-sonnet-4-*", "claude-sonnet-4-5", true },
                { "claude-sonnet-4-*", "claude-sonnet-3-5", false },
                { "ollama/*", "ollama/library/llama3:8b", true }, /* '*' spans '/' */
                { "*/llama3:8b", "ollama/library/llama3:8b", true },
                { "o?", "o1", true },
                { "o?", "o", false },
                { "o?", "o10", false },
                { "a?c", "a/c", true },
                { "*a*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", false },
                { "*a*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab", true },
                { "a*b*c", "abxbxc", true },
                { "a*b*c", "abxbx", false },
                { "**", "x", true },
                { "", "", true },
                { "", "x", false },
        };
        for (size_t i = 0; i < ELEMENTSOF(t); i++) {
                bool m = glob_match(t[i].pat, t[i].s);
                if (m != t[i].match)
                        fprintf(stderr, "glob_match(\"%s\", \"%s\") = %d\n", t[i].pat, t[i].s, m);
                CHECK(m == t[i].match);
        }
        /* a long adversarial case finishes (quadratic at worst, not exponential) */
        char s[4001];
        memset(s, 'a', 4000);
        s[4000] = '\0';
        CHECK(!glob_match("*a*a*a*a*a*a*a*a*a*a*a*a*b", s));

        static const struct {
                const char *pat;
                bool valid;
        } v[] = {
                { "gpt-4o", true }, { "*", true }, { "ollama/library/*:8b", true },
                { "", false }, { "a b", false }, { "gpt-[45]", false }, { "a\\*", false },
                { "tab\there", false }, { "caf\xc3\xa9", false },
        };
        for (size_t i = 0; i < ELEMENTSOF(v); i++)
                CHECK(glob_valid(v[i].pat) == v[i].valid);
        char longp[MODEL_ID_MAX + 2];
        memset(longp, 'x', sizeof(longp) - 1);
        longp[MODEL_ID_MAX + 1] = '\0';
        CHECK(!glob_valid(longp));
        longp[MODEL_ID_MAX] = '\0';
        CHECK(glob_valid(longp));
}

static char *openai_models[] = { "gpt-4o", "o1", "o3-mini", "shared-*", NULL };
static char *anthropic_models[] = { "claude-sonnet-4-*", "claude-opus-4-*", "shared-*", NULL };
static char *ollama_models[] = { "*", NULL };
static char *library_models[] = { "x", NULL };

static struct provider providers[] = {
        { .name = "openai", .type = PROVIDER_OPENAI, .models = { openai_models, 4 } },
        { .name = "anthropic", .type = PROVIDER_ANTHROPIC, .models = { anthropic_models, 3 } },
        { .name = "ollama", .type = PROVIDER_OPENAI, .models = { ollama_models, 1 } },
};

static struct proxy_config cfg = { .providers = providers, .n_providers = 3 };

static char *coder_globs[] = { "anthropic/claude-sonnet-4-*", "ollama/*", "openai/o?", NULL };
static struct profile coder = { .name = "coder", .models = { coder_globs, 3 } };
static struct profile nothing = { .name = "nothing", .models = { NULL, 0 } };

static void test_decide(void)
{
        char longid[MODEL_ID_MAX + 2];
        memset(longid, 'm', sizeof(longid) - 1);
        longid[MODEL_ID_MAX + 1] = '\0'; /* 257: too long */
        char maxid[MODEL_ID_MAX + 1];
        memset(maxid, 'm', sizeof(maxid) - 1);
        maxid[MODEL_ID_MAX] = '\0'; /* 256: fine; bare, so ollama's "*" serves it */

        const struct {
                const struct profile *prof;
                const char *req;
                enum model_verdict v;
                const char *provider; /* expected route for ALLOW / DENY */
                const char *model;
        } t[] = {
                /* provider-prefixed */
                { &coder, "anthropic/claude-sonnet-4-5", MODEL_ALLOW, "anthropic", "claude-sonnet-4-5" },
                { &coder, "anthropic/claude-opus-4-1", MODEL_DENY_NOT_ALLOWED, "anthropic", "claude-opus-4-1" },
                { &coder, "anthropic/claude-3-haiku", MODEL_UNKNOWN, NULL, NULL },
                { &coder, "openai/o1", MODEL_ALLOW, "openai", "o1" },
                { &coder, "openai/gpt-4o", MODEL_DENY_NOT_ALLOWED, "openai", "gpt-4o" },
                { &coder, "ollama/library/llama3:8b", MODEL_ALLOW, "ollama", "library/llama3:8b" },
                { &coder, "ollama/llama3", MODEL_ALLOW, "ollama", "llama3" },
                /* bare: first provider in file order whose globs match */
                { &coder, "claude-sonnet-4-5", MODEL_ALLOW, "anthropic", "claude-sonnet-4-5" },
                { &coder, "o1", MODEL_ALLOW, "openai", "o1" },
                { &coder, "gpt-4o", MODEL_DENY_NOT_ALLOWED, "openai", "gpt-4o" },
                /* shared-* is served by openai first: denied even though ollama would allow */
                { &coder, "shared-model", MODEL_DENY_NOT_ALLOWED, "openai", "shared-model" },
                /* "library" is no provider: the whole string is a bare id (ollama "*" serves it) */
                { &coder, "library/llama3:8b", MODEL_ALLOW, "ollama", "library/llama3:8b" },
                { &coder, "llama3", MODEL_ALLOW, "ollama", "llama3" },
                /* case-sensitive: "OpenAI" is no provider; ollama's "*" takes the bare id */
                { &coder, "OpenAI/gpt-4o", MODEL_ALLOW, "ollama", "OpenAI/gpt-4o" },
                { &coder, "openai/GPT-4o", MODEL_UNKNOWN, NULL, NULL },
                { &coder, maxid, MODEL_ALLOW, "ollama", maxid },
                /* invalid */
                { &coder, "", MODEL_INVALID, NULL, NULL },
                { &coder, longid, MODEL_INVALID, NULL, NULL },
                { &coder, "openai/", MODEL_INVALID, NULL, NULL },
                { &coder, "ollama/../etc/passwd", MODEL_INVALID, NULL, NULL },
                { &coder, "..", MODEL_INVALID, NULL, NULL },
                { &coder, "ollama/x/..", MODEL_INVALID, NULL, NULL },
                { &coder, "gpt 4o", MODEL_INVALID, NULL, NULL },
                { &coder, "gpt-4o\n", MODEL_INVALID, NULL, NULL },
                { &coder, "o1\t", MODEL_INVALID, NULL, NULL },
                { &coder, "\x7f", MODEL_INVALID, NULL, NULL },
                { &coder, "ll\xc3\xa4ma", MODEL_INVALID, NULL, NULL },
                /* "..." and ".x" are not ".." components */
                { &coder, "ollama/...", MODEL_ALLOW, "ollama", "..." },
                { &coder, "ollama/..x", MODEL_ALLOW, "ollama", "..x" },
                /* empty profile: nothing allowed, routes still resolve */
                { &nothing, "o1", MODEL_DENY_NOT_ALLOWED, "openai", "o1" },
                { &nothing, "ollama/llama3", MODEL_DENY_NOT_ALLOWED, "ollama", "llama3" },
                { NULL, "o1", MODEL_DENY_NOT_ALLOWED, "openai", "o1" },
        };
        for (size_t i = 0; i < ELEMENTSOF(t); i++) {
                struct model_route route = { 0 };
                enum model_verdict v = model_decide(&cfg, t[i].prof, t[i].req, &route);
                if (v != t[i].v)
                        fprintf(stderr, "decide[%zu] \"%.40s\": %s, want %s\n", i, t[i].req,
                                model_verdict_to_string(v), model_verdict_to_string(t[i].v));
                CHECK(v == t[i].v);
                if (t[i].provider && v == t[i].v) {
                        CHECK(route.provider != NULL);
                        if (route.provider)
                                CHECK_STREQ(route.provider->name, t[i].provider);
                        CHECK_STREQ(route.model, t[i].model);
                }
        }
        CHECK(model_decide(&cfg, &coder, NULL, NULL) == MODEL_INVALID);
        CHECK(model_decide(&cfg, &coder, "o1", NULL) == MODEL_ALLOW); /* route optional */

        /* a config without a catch-all: unknown bare ids; a provider named like an id prefix */
        struct provider p2[] = {
                { .name = "library", .type = PROVIDER_OPENAI, .models = { library_models, 1 } },
                { .name = "openai", .type = PROVIDER_OPENAI, .models = { openai_models, 4 } },
        };
        struct proxy_config cfg2 = { .providers = p2, .n_providers = 2 };
        CHECK(model_decide(&cfg2, &coder, "llama3", NULL) == MODEL_UNKNOWN);
        CHECK(model_decide(&cfg2, &coder, "library/llama3:8b", NULL) == MODEL_UNKNOWN);
        struct model_route route;
        CHECK(model_decide(&cfg2, &coder, "library/x", &route) == MODEL_DENY_NOT_ALLOWED);
        CHECK_STREQ(route.provider->name, "library");
        CHECK_STREQ(route.model, "x");
}

static void test_allowed(void)
{
        CHECK(model_allowed(&coder, "ollama", "a/b/c"));
        CHECK(model_allowed(&coder, "openai", "o3"));
        CHECK(!model_allowed(&coder, "openai", "o3-mini"));
        CHECK(!model_allowed(&coder, "Anthropic", "claude-sonnet-4-5"));
        CHECK(!model_allowed(NULL, "ollama", "x"));
        CHECK(!model_allowed(&nothing, "ollama", "x"));
        CHECK_STREQ(model_verdict_to_string(MODEL_DENY_NOT_ALLOWED), "deny-not-allowed");
}

int main(void)
{
        test_glob();
        test_decide();
        test_allowed();
        return TEST_DONE();
}
