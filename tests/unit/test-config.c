/* Unit tests for policy/config.c: a table of broken proxy configs with exact positions, ${VAR}
 * expansion (missing/empty variables named, secrets never in messages), token files (mode, size,
 * length), client lookup by token, and every shipped example in examples/configs/. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fd-util.h"
#include "common/macro.h"
#include "policy/config.h"
#include "tap.h"

#define SECRET "sk-test-SECRET-0123456789abcdef"
#define TOKEN_A "tok-aaaaaaaaaaaaaaaaaaaaaaaa"
#define TOKEN_B "tok-bbbbbbbbbbbbbbbbbbbbbbbb"

static char tokdir[] = "/tmp/test-config-XXXXXX";

static const char *test_getenv(const char *name, void *userdata)
{
        static const struct {
                const char *name, *value;
        } env[] = {
                { "OPENAI_API_KEY", SECRET },
                { "ANTHROPIC_API_KEY", SECRET "-anthropic" },
                { "CURSOR_API_KEY", SECRET "-cursor" },
                { "EMPTY_KEY", "" },
                { "NL_KEY", "sk-SECRET\r\nX-Injected: 1" },
                { "PORT", "32125" },
        };
        if (strcmp(name, "TOKDIR") == 0 || strcmp(name, "CREDENTIALS_DIRECTORY") == 0)
                return tokdir;
        for (size_t i = 0; i < ELEMENTSOF(env); i++)
                if (strcmp(env[i].name, name) == 0)
                        return env[i].value;
        return NULL;
}

static void write_file(const char *name, const char *text, mode_t mode)
{
        char path[256];
        snprintf(path, sizeof(path), "%s/%s", tokdir, name);
        unlink(path);
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
        CHECK(fd >= 0);
        CHECK(fd_write_all(fd, text, strlen(text)) == 0);
        CHECK(fchmod(fd, mode) == 0);
        close(fd);
}

/* PRE ends at column 46: the next key starts at column 47. */
#define PRE "{\"qclaw_proxy\":1,\"listen\":[\"127.0.0.1:32125\"],"
#define PROV "\"providers\":{\"p\":{\"type\":\"openai\",\"base_url\":\"http://h\",\"models\":[\"*\"]}}"
/* a provider object with one field changed; "providers":{"p":{ is 18 characters */
#define P1(fields) PRE "\"providers\":{\"p\":{" fields "}}}"
#define CL(fields) PRE "\"clients\":[{" fields "}]," PROV "}"

static const struct bad_case {
        const char *text;
        const char *where;
        const char *fragment;
} bad[] = {
        { "{\"qclaw_proxy\":2," PROV "}", "<string>:1:16:", "unsupported version 2" },
        { PRE "\"prividers\":{}}", "<string>:1:47:", "unknown key \"prividers\" at top level" },
        { PRE "\"providers\":{}}", "<string>:1:59:", "none configured" },
        { PRE "\"x\":1,}", "<string>:1:53:", "" },
        { "{\"qclaw_proxy\":1," PROV "}", "<string>:1:", "nothing to serve" },
        /* ${VAR} expansion; the message names the variable and the key, never a value */
        { P1("\"type\":\"openai\",\"base_url\":\"http://h\",\"api_key\":\"${OPENAI_KEY_MISSING}\","
             "\"models\":[\"*\"]"),
          "<string>:1:113:",
          "environment variable OPENAI_KEY_MISSING is not set (needed by \"providers.p.api_key\")" },
        { P1("\"type\":\"openai\",\"base_url\":\"http://h\",\"api_key\":\"${EMPTY_KEY}\","
             "\"models\":[\"*\"]"),
          "<string>:1:113:", "environment variable EMPTY_KEY is empty (needed by \"providers.p.api_key\")" },
        { P1("\"type\":\"openai\",\"base_url\":\"http://h\",\"api_key\":\"\",\"models\":[\"*\"]"),
          "<string>:1:113:", "\"api_key\": must not be empty" },
        { P1("\"type\":\"openai\",\"base_url\":\"http://h\",\"api_key\":\"$OPENAI_API_KEY\","
             "\"models\":[\"*\"]"),
          "<string>:1:113:", "bad '$'" },
        { P1("\"type\":\"openai\",\"base_url\":\"http://h\",\"api_key\":\"${OPENAI_API_KEY\","
             "\"models\":[\"*\"]"),
          "<string>:1:113:", "bad '$'" },
        { P1("\"type\":\"openai\",\"base_url\":\"http://h\",\"api_key\":\"${NL_KEY}\","
             "\"models\":[\"*\"]"),
          "<string>:1:113:", "contains whitespace or control characters" },
        { P1("\"type\":\"openai\",\"base_url\":\"${NOPE}/v1\",\"models\":[\"*\"]"), "<string>:1:92:",
          "environment variable NOPE is not set (needed by \"providers.p.base_url\")" },
        /* providers */
        { P1("\"type\":\"azure\",\"base_url\":\"http://h\",\"models\":[\"*\"]"), "<string>:1:72:",
          "\"azure\" is not \"openai\" or \"anthropic\"" },
        { P1("\"type\":\"openai\",\"base_url\":\"ftp://h\",\"models\":[\"*\"]"), "<string>:1:92:",
          "http:// or https://" },
        { P1("\"type\":\"openai\",\"base_url\":\"https://\",\"models\":[\"*\"]"), "<string>:1:92:",
          "http:// or https://" },
        { P1("\"type\":\"openai\",\"base_url\":\"http://h\",\"modles\":[\"*\"]"), "<string>:1:103:",
          "unknown key \"modles\" in \"providers.p\"" },
        { P1("\"type\":\"openai\",\"base_url\":\"http://h\",\"models\":[\"a b\"]"), "<string>:1:113:",
          "bad glob" },
        { P1("\"type\":\"openai\",\"base_url\":\"http://h\",\"models\":[\"*\"],\"timeout_ms\":0"),
          "<string>:1:", "at least 1" },
        { P1("\"base_url\":\"http://h\",\"models\":[\"*\"]"), "<string>:1:64:",
          "missing key \"type\"" },
        { PRE "\"providers\":{\"Open AI\":{}}}", "<string>:1:60:", "bad provider name \"Open AI\"" },
        { PRE "\"providers\":{\"p\":[]}}", "<string>:1:64:", "expected an object, got an array" },
        /* listen, paths, audit */
        { "{\"qclaw_proxy\":1,\"listen\":[\"localhost:80\"]," PROV "}", "<string>:1:28:",
          "\"listen[0]\": expected \"A.B.C.D:PORT\"" },
        { "{\"qclaw_proxy\":1,\"listen\":[\"127.0.0.1:0\"]," PROV "}", "<string>:1:28:", "port 1-65535" },
        { "{\"qclaw_proxy\":1,\"listen\":[\"[::1]:70000\"]," PROV "}", "<string>:1:28:", "IPv6" },
        { "{\"qclaw_proxy\":1,\"listen\":[\"::1:80\"]," PROV "}", "<string>:1:28:", "A.B.C.D" },
        { "{\"qclaw_proxy\":1,\"listen\":[\"127.0.0.1:1\",\"127.0.0.1:1\"]," PROV "}", "<string>:1:42:",
          "listed twice" },
        { PRE "\"control_socket\":\"run/q.sock\"," PROV "}", "<string>:1:64:",
          "\"control_socket\": must be an absolute path" },
        { PRE "\"audit_log\":\"${NOPE}\"," PROV "}", "<string>:1:59:",
          "environment variable NOPE is not set (needed by \"audit_log\")" },
        { PRE "\"audit_fsync\":\"sometimes\"," PROV "}", "<string>:1:61:", "\"never\", \"egress\"" },
        { PRE "\"audit_rotate_bytes\":\"10Q\"," PROV "}", "<string>:1:68:", "bad size \"10Q\"" },
        { PRE "\"audit_keep_files\":-1," PROV "}", "<string>:1:66:", "must not be negative" },
        { PRE "\"control_users\":[\"no-such-user-qclaw\"]," PROV "}", "<string>:1:64:",
          "unknown user \"no-such-user-qclaw\"" },
        { PRE "\"control_groups\":[true]," PROV "}", "<string>:1:65:", "expected a name or a numeric id" },
        /* clients: token files and cross references */
        { CL("\"name\":\"a\",\"token_file\":\"${TOKDIR}/missing\",\"profile\":\"p\""),
          "<string>:1:83:", "cannot open token file" },
        { CL("\"name\":\"a\",\"token_file\":\"${TOKDIR}/world\",\"profile\":\"p\""), "<string>:1:83:",
          "accessible by everyone" },
        { CL("\"name\":\"a\",\"token_file\":\"${TOKDIR}/short\",\"profile\":\"p\""), "<string>:1:83:",
          "shorter than 16 characters" },
        { CL("\"name\":\"a\",\"token_file\":\"${TOKDIR}/big\",\"profile\":\"p\""), "<string>:1:83:",
          "larger than 4 KiB" },
        { CL("\"name\":\"a\",\"token_file\":\"${TOKDIR}/spaced\",\"profile\":\"p\""), "<string>:1:83:",
          "whitespace or control characters" },
        { CL("\"name\":\"a\",\"token_file\":\"${TOKDIR}\",\"profile\":\"p\""), "<string>:1:83:",
          "not a regular file" },
        { CL("\"name\":\"a\",\"token_file\":\"${TOKDIR}/a\",\"profile\":\"../p\""), "<string>:1:107:",
          "bad profile name" },
        { CL("\"name\":\"A\",\"token_file\":\"${TOKDIR}/a\",\"profile\":\"p\""), "<string>:1:66:",
          "bad client name" },
        { CL("\"name\":\"a\",\"token_file\":\"tokens/a\",\"profile\":\"p\""), "<string>:1:83:",
          "must be an absolute path" },
        { CL("\"name\":\"a\",\"token_file\":\"${TOKDIR}/a\",\"profile\":\"p\",\"secret\":1"),
          "<string>:1:111:", "unknown key \"secret\" in \"clients[0]\"" },
        { CL("\"name\":\"a\",\"token_file\":\"${TOKDIR}/a\"},{\"name\":\"a\",\"token_file\":\"${TOKDIR}/b\",\"profile\":\"p\""),
          "<string>:1:58:", "missing key \"profile\"" },
        { CL("\"name\":\"a\",\"token_file\":\"${TOKDIR}/a\",\"profile\":\"p\"},{\"name\":\"a\","
             "\"token_file\":\"${TOKDIR}/b\",\"profile\":\"p\""),
          "<string>:1:120:", "client \"a\" defined twice" },
        { CL("\"name\":\"a\",\"token_file\":\"${TOKDIR}/a\",\"profile\":\"p\"},{\"name\":\"b\","
             "\"token_file\":\"${TOKDIR}/a-copy\",\"profile\":\"p\""),
          "<string>:1:137:", "client \"b\" has the same token as client \"a\"" },
        { "{\"qclaw_proxy\":1,\"control_socket\":\"/run/q.sock\",\"clients\":[{\"name\":\"a\","
          "\"token_file\":\"${TOKDIR}/a\",\"profile\":\"p\"}]," PROV "}",
          "<string>:1:49:", "need a TCP \"listen\"" },
        /* a syntax error next to a literal key must not quote it */
        { P1("\"type\":\"openai\",\"base_url\":\"http://h\",\"api_key\":sk-SECRET,\"models\":[]"),
          "<string>:1:", "" },
};

static void test_bad(void)
{
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                char err[POLICY_ERR_MAX] = "";
                struct proxy_config *c = NULL;
                int r = proxy_config_load_string("<string>", bad[i].text, strlen(bad[i].text),
                                                 test_getenv, NULL, &c, err);
                CHECK(r < 0);
                CHECK(c == NULL);
                bool ok = strncmp(err, bad[i].where, strlen(bad[i].where)) == 0 &&
                          strstr(err, bad[i].fragment) && !strstr(err, "SECRET") &&
                          !strstr(err, "tok-");
                if (!ok)
                        fprintf(stderr, "bad[%zu]: got '%s', want '%s ...%s...'\n", i, err,
                                bad[i].where, bad[i].fragment);
                CHECK(ok);
                proxy_config_free(c);
        }
}

static const char good_text[] =
        "{\n"
        "  \"qclaw_proxy\": 1,\n"
        "  \"listen\": [\"127.0.0.1:${PORT}\", \"[::1]:32125\"],\n"
        "  \"control_socket\": \"/run/qclaw/control.sock\",\n"
        "  \"control_users\": [\"root\", 1000, \"4242\"],\n"
        "  \"control_groups\": [\"root\"],\n"
        "  \"audit_log\": \"/var/lib/q$$/audit.jsonl\",\n"
        "  \"audit_rotate_bytes\": 0,\n"
        "  \"audit_fsync\": \"always\",\n"
        "  \"clients\": [\n"
        "    { \"name\": \"openclaw\", \"token_file\": \"${TOKDIR}/a\", \"profile\": \"openclaw\" },\n"
        "    { \"name\": \"aider\", \"token_file\": \"${TOKDIR}/b\", \"profile\": \"coder\" }\n"
        "  ],\n"
        "  \"providers\": {\n"
        "    \"openai\": { \"type\": \"openai\", \"base_url\": \"https://api.openai.com/v1/\",\n"
        "                \"api_key\": \"pre-$${OPENAI_API_KEY}\", \"models\": [\"gpt-4o\"] },\n"
        "    \"anthropic\": { \"type\": \"anthropic\", \"base_url\": \"https://api.anthropic.com\",\n"
        "                   \"api_key\": \"${ANTHROPIC_API_KEY}\", \"models\": [\"claude-*\"],\n"
        "                   \"default_max_tokens\": 1024, \"timeout_ms\": 5000 },\n"
        "    \"ollama\": { \"type\": \"openai\", \"base_url\": \"http://127.0.0.1:11434/v1\",\n"
        "                \"models\": [\"*\"] }\n"
        "  }\n"
        "}\n";

static void test_good(void)
{
        char err[POLICY_ERR_MAX] = "";
        struct proxy_config *c = NULL;
        int r = proxy_config_load_string("proxy.json", good_text, strlen(good_text), test_getenv,
                                         NULL, &c, err);
        if (r < 0)
                fprintf(stderr, "good: %s\n", err);
        CHECK(r == 0);
        if (!c)
                return;
        CHECK(c->listen.n == 2);
        CHECK_STREQ(c->listen.items[0], "127.0.0.1:32125");
        CHECK_STREQ(c->listen.items[1], "[::1]:32125");
        CHECK_STREQ(c->control_socket, "/run/qclaw/control.sock");
        CHECK(c->n_control_uids == 3);
        CHECK(c->control_uids[0] == 0 && c->control_uids[1] == 1000 && c->control_uids[2] == 4242);
        CHECK(c->n_control_gids == 1 && c->control_gids[0] == 0);
        CHECK_STREQ(c->audit_log, "/var/lib/q$/audit.jsonl");
        CHECK(c->audit_rotate_bytes == 0);
        CHECK(c->audit_keep_files == 10);
        CHECK(c->audit_fsync == AUDIT_FSYNC_ALWAYS);
        CHECK_STREQ(c->profiles_dir, "/etc/qclaw/profiles");
        CHECK(c->n_clients == 2);
        CHECK_STREQ(c->clients[0].name, "openclaw");
        CHECK_STREQ(c->clients[0].token, TOKEN_A); /* trailing newline stripped */
        CHECK_STREQ(c->clients[1].profile, "coder");
        CHECK(c->n_providers == 3);
        CHECK_STREQ(c->providers[0].name, "openai"); /* file order */
        CHECK_STREQ(c->providers[1].name, "anthropic");
        CHECK_STREQ(c->providers[2].name, "ollama");
        CHECK_STREQ(c->providers[0].base_url, "https://api.openai.com/v1");
        CHECK_STREQ(c->providers[0].api_key, "pre-${OPENAI_API_KEY}"); /* $$ escapes */
        CHECK_STREQ(c->providers[1].api_key, SECRET "-anthropic");
        CHECK(c->providers[2].api_key == NULL);
        CHECK(c->providers[1].type == PROVIDER_ANTHROPIC);
        CHECK(c->providers[1].default_max_tokens == 1024 && c->providers[1].timeout_ms == 5000);
        CHECK(c->providers[0].default_max_tokens == 4096);
        CHECK(c->providers[0].timeout_ms == 600000);
        CHECK(strlen(c->hash) == 64);
        CHECK(proxy_config_find_provider(c, "ollama") == &c->providers[2]);
        CHECK(proxy_config_find_provider(c, "Ollama") == NULL);

        /* token lookup: exact match only */
        CHECK(proxy_config_find_client_by_token(c, TOKEN_A) == &c->clients[0]);
        CHECK(proxy_config_find_client_by_token(c, TOKEN_B) == &c->clients[1]);
        CHECK(proxy_config_find_client_by_token(c, "tok-aaaa") == NULL);
        CHECK(proxy_config_find_client_by_token(c, TOKEN_A "a") == NULL);
        CHECK(proxy_config_find_client_by_token(c, "") == NULL);
        CHECK(proxy_config_find_client_by_token(c, NULL) == NULL);

        /* cross references with a profile set */
        struct profile *profs[2] = { 0 };
        const char *ptext[2] = { "{\"qclaw_profile\":1,\"name\":\"openclaw\"}",
                                 "{\"qclaw_profile\":1,\"name\":\"coder\"}" };
        for (int i = 0; i < 2; i++)
                CHECK(profile_load_string("p", ptext[i], strlen(ptext[i]), NULL, &profs[i], err) == 0);
        struct profile_set set = { .items = profs, .n = 2 };
        CHECK(proxy_config_check_profiles(c, &set, err) == 0);
        set.n = 1;
        CHECK(proxy_config_check_profiles(c, &set, err) == -ENOENT);
        CHECK_STREQ(err, "proxy.json: client \"aider\": profile \"coder\" not found in "
                         "/etc/qclaw/profiles");
        profile_free(profs[0]);
        profile_free(profs[1]);
        proxy_config_free(c);
}

static void test_examples(void)
{
        const char *src = getenv("QCLAW_SRC_DIR");
        char base[512];
        snprintf(base, sizeof(base), "%s/examples/configs", src ? src : "../../..");
        static const struct {
                const char *file;
                size_t providers, clients;
                const char *first;
        } ex[] = {
                { "openai.json", 1, 0, "openai" },     { "anthropic.json", 1, 0, "anthropic" },
                { "ollama.json", 1, 0, "ollama" },     { "cursor.json", 1, 0, "cursor" },
                { "all.json", 4, 1, "openai" },
        };
        write_file("openclaw.token", TOKEN_A "\n", 0600);
        for (size_t i = 0; i < ELEMENTSOF(ex); i++) {
                char path[700], err[POLICY_ERR_MAX] = "";
                snprintf(path, sizeof(path), "%s/%s", base, ex[i].file);
                struct proxy_config *c = NULL;
                int r = proxy_config_load(path, test_getenv, NULL, &c, err);
                if (r < 0)
                        fprintf(stderr, "example %s: %s\n", ex[i].file, err);
                CHECK(r == 0);
                if (!c)
                        continue;
                CHECK(c->n_providers == ex[i].providers);
                CHECK(c->n_clients == ex[i].clients);
                CHECK_STREQ(c->providers[0].name, ex[i].first);
                /* every configured api_key came from a ${VAR} */
                for (size_t k = 0; k < c->n_providers; k++)
                        CHECK(!c->providers[k].api_key || strstr(c->providers[k].api_key, SECRET));
                /* the catch-all provider is last, so bare ids reach the named ones first */
                for (size_t k = 0; k + 1 < c->n_providers; k++)
                        CHECK(strcmp(c->providers[k].name, "ollama") != 0);
                proxy_config_free(c);
        }
}

static void cleanup(void)
{
        const char *names[] = { "a", "a-copy", "b", "world", "short", "big", "spaced",
                                "openclaw.token" };
        for (size_t i = 0; i < ELEMENTSOF(names); i++) {
                char path[256];
                snprintf(path, sizeof(path), "%s/%s", tokdir, names[i]);
                unlink(path);
        }
        rmdir(tokdir);
}

int main(void)
{
        if (!mkdtemp(tokdir))
                return 1;
        chmod(tokdir, 0755); /* the directory is not what is checked */
        write_file("a", TOKEN_A "\n", 0600);
        write_file("a-copy", TOKEN_A, 0640);
        write_file("b", TOKEN_B "\r\n", 0400);
        write_file("world", TOKEN_A "\n", 0644);
        write_file("short", "short\n", 0600);
        write_file("spaced", "tok-aaaa aaaaaaaaaaaaaaaaa\n", 0600);
        char big[5000];
        memset(big, 'x', sizeof(big) - 1);
        big[sizeof(big) - 1] = '\0';
        write_file("big", big, 0600);
        test_bad();
        test_good();
        test_examples();
        cleanup();
        return TEST_DONE();
}
