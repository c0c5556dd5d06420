/* Unit tests for supervisor/env.c: the allowlist rebuild never lets a secret through. */
#include <stdlib.h>
#include <string.h>

#include "policy/profile.h"
#include "supervisor/env.h"
#include "common/macro.h"
#include "tests/unit/tap.h"

static const char *get(char **env, const char *name)
{
        size_t l = strlen(name);

        for (; env && *env; env++)
                if (strncmp(*env, name, l) == 0 && (*env)[l] == '=')
                        return *env + l + 1;
        return NULL;
}

int main(void)
{
        static const struct {
                const char *name;
                bool secret;
        } secrets[] = {
                { "OPENAI_API_KEY", true },   { "FAKE_API_KEY", true },   { "GITHUB_TOKEN", true },
                { "aws_secret_access_key", true }, { "DB_PASSWORD", true }, { "SSH_AUTH_SOCK", true },
                { "GPG_AGENT_SOCK", true },   { "MY_CREDENTIALS", true }, { "LANG", false },
                { "LC_ALL", false },          { "TERM", false },          { "PATH", false },
                { "SOCKET_DIR", false },
        };
        for (size_t i = 0; i < ELEMENTSOF(secrets); i++)
                CHECK(env_name_is_secret(secrets[i].name) == secrets[i].secret);

        char *pass_items[] = { "TERM", "LC_*", "MY_*", "EXACT_TOKEN", "*", NULL };
        static const struct {
                const char *name;
                bool passes;
        } passes[] = {
                { "TERM=xterm", true },         { "LC_ALL=C", true },      { "MY_VAR=1", true },
                { "MY_API_KEY=s", false },      { "EXACT_TOKEN=t", true }, { "OTHER=1", true },
                { "OTHER_SECRET=1", false },    { "SSH_AUTH_SOCK=/x", false },
        };
        for (size_t i = 0; i < ELEMENTSOF(passes); i++)
                CHECK(env_name_passes((const char *const *)pass_items, 5, passes[i].name) ==
                      passes[i].passes);
        /* Without the "*" glob, unlisted names stay out. */
        CHECK(!env_name_passes((const char *const *)pass_items, 4, "OTHER=1"));

        struct profile_env_set set[] = { { "FOO", "bar" }, { "OPENAI_BASE_URL", "http://evil" } };
        struct profile p = {
                .name = "t",
                .env_pass = { .items = pass_items, .n = 3 }, /* TERM, LC_*, MY_* */
                .env_set = set,
                .n_env_set = 2,
        };
        char *in[] = { "TERM=xterm", "LC_ALL=C", "MY_API_KEY=secret", "FAKE_API_KEY=secret",
                       "HOME=/root", "PATH=/evil", "MY_X=1", NULL };
        struct env_identity id = { .home = "/home/u", .user = "u", .proxy = true };
        char **env = NULL;

        CHECK(env_build(&p, in, &id, &env) == 0);
        CHECK_STREQ(get(env, "TERM"), "xterm");
        CHECK_STREQ(get(env, "LC_ALL"), "C");
        CHECK_STREQ(get(env, "MY_X"), "1");
        CHECK(get(env, "MY_API_KEY") == NULL);
        CHECK(get(env, "FAKE_API_KEY") == NULL);
        CHECK_STREQ(get(env, "HOME"), "/home/u");
        CHECK_STREQ(get(env, "USER"), "u");
        CHECK_STREQ(get(env, "LOGNAME"), "u");
        CHECK_STREQ(get(env, "PATH"), "/usr/local/bin:/usr/bin:/bin"); /* PATH not passed */
        CHECK_STREQ(get(env, "FOO"), "bar");
        CHECK_STREQ(get(env, "OPENAI_BASE_URL"), "http://127.0.0.1:32125/v1");
        CHECK_STREQ(get(env, "OPENAI_API_BASE"), "http://127.0.0.1:32125/v1");
        CHECK_STREQ(get(env, "ANTHROPIC_BASE_URL"), "http://127.0.0.1:32125");
        CHECK_STREQ(get(env, "OPENAI_API_KEY"), "qclaw-placeholder");
        CHECK_STREQ(get(env, "ANTHROPIC_API_KEY"), "qclaw-placeholder");
        env_free(env);

        /* network none: no proxy variables at all. */
        id.proxy = false;
        CHECK(env_build(&p, in, &id, &env) == 0);
        CHECK(get(env, "ANTHROPIC_BASE_URL") == NULL);
        CHECK(get(env, "OPENAI_API_KEY") == NULL);
        CHECK_STREQ(get(env, "OPENAI_BASE_URL"), "http://evil"); /* the profile's own value */
        env_free(env);
        return TEST_DONE();
}
