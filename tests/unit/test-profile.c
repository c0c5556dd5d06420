/* Unit tests for policy/profile.c and policy/json-pos.c: a table of broken profiles, each with the
 * exact "<string>:LINE:COL:" it must be reported at, and good profiles with parsed values. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fd-util.h"
#include "policy/json-pos.h"
#include "policy/profile.h"
#include "tap.h"

#define HDR "{\"qclaw_profile\":1,\"name\":\"t\","
/* HDR is 30 characters, so the first key after it starts at column 31. */

static const struct bad_case {
        const char *text;
        const char *where;    /* expected prefix "<string>:LINE:COL:" */
        const char *fragment; /* expected part of the message */
} bad[] = {
        /* syntax, structure, bounds */
        { "{\"a\":1,\n \"b\": [1,2,}", "<string>:2:12:", "unexpected token" },
        { "{\"qclaw_profile\":1,\"name\":\"t\"} junk", "<string>:1:35:", "end of file expected" },
        { "[1,2]", "<string>:1:1:", "expected an object at top level" },
        { "", "<string>:1:1:", "" },
        { "{\"qclaw_profile\":1,\"name\":\"t\",\n  \"name\":\"u\"}", "<string>:2:3:",
          "duplicate key \"name\"" },
        { HDR "\"sandbox\":{\"resources\":{},\"resources\":{}}}", "<string>:1:57:",
          "duplicate key \"resources\"" },
        /* unknown keys, at depth */
        { HDR "\"modles\":[]}", "<string>:1:31:", "unknown key \"modles\" at top level" },
        { HDR "\n  \"sandbox\": {\n    \"netwrok\": \"none\"}}", "<string>:3:5:",
          "unknown key \"netwrok\" in \"sandbox\"" },
        { HDR "\"sandbox\":{\"filesystem\":{\"readonly\":[]}}}", "<string>:1:56:",
          "unknown key \"readonly\" in \"sandbox.filesystem\"" },
        /* version, name, description */
        { "{\"qclaw_profile\":2,\"name\":\"t\"}", "<string>:1:18:", "unsupported version 2" },
        { "{\"name\":\"t\"}", "<string>:1:1:", "missing key \"qclaw_profile\"" },
        { "{\"qclaw_profile\":1,\"name\":\"Coder\"}", "<string>:1:27:", "bad profile name" },
        { "{\"qclaw_profile\":1,\"name\":\"../x\"}", "<string>:1:27:", "bad profile name" },
        { "{\"qclaw_profile\":1,\"name\":\"\"}", "<string>:1:27:", "bad profile name" },
        { "{\"qclaw_profile\":1,\"name\":7}", "<string>:1:27:", "expected a string, got an integer" },
        { "{\"qclaw_profile\":\"1\",\"name\":\"t\"}", "<string>:1:18:",
          "expected a non-negative integer, got a string" },
        /* models */
        { HDR "\"models\":\"openai/*\"}", "<string>:1:40:", "expected an array, got a string" },
        { HDR "\"models\":[\"openai/gpt-[45]\"]}", "<string>:1:41:", "bad glob" },
        { HDR "\"models\":[\"ok/*\", \"\"]}", "<string>:1:49:", "bad glob" },
        { HDR "\"models\":[\"a b\"]}", "<string>:1:41:", "bad glob" },
        { HDR "\"models\":[3]}", "<string>:1:41:", "\"models[0]\": expected a string" },
        /* limits */
        { HDR "\"limits\":{\"requests_per_minute\":-1}}", "<string>:1:63:", "must not be negative" },
        { HDR "\"limits\":{\"requests_per_minute\":1000001}}", "<string>:1:63:", "too large" },
        { HDR "\"limits\":{\"tokens_per_day\":1000000000001}}", "<string>:1:58:", "too large" },
        { HDR "\"limits\":{\"max_request_bytes\":0}}", "<string>:1:61:", "at least 1" },
        { HDR "\"limits\":{\"max_request_bytes\":1073741825}}", "<string>:1:61:", "too large" },
        { HDR "\"limits\":{\"max_concurrent_requests\":1.5}}", "<string>:1:67:",
          "got a real number" },
        { HDR "\"limits\":{\"tokens_per_day\":99999999999999999999}}", "<string>:1:", "too big" },
        /* sandbox.network, publish */
        { HDR "\"sandbox\":{\"network\":\"host\"}}", "<string>:1:52:",
          "\"host\" is not \"proxy\" or \"none\"" },
        { HDR "\"sandbox\":{\"publish\":[18789,32125]}}", "<string>:1:59:", "32125" },
        { HDR "\"sandbox\":{\"publish\":[0]}}", "<string>:1:53:", "out of range" },
        { HDR "\"sandbox\":{\"publish\":[70000]}}", "<string>:1:53:", "out of range" },
        { HDR "\"sandbox\":{\"publish\":[80,80]}}", "<string>:1:56:", "listed twice" },
        /* filesystem */
        { HDR "\"sandbox\":{\"filesystem\":{\"read_only\":[\"usr\"]}}}", "<string>:1:69:",
          "not an absolute path" },
        { HDR "\"sandbox\":{\"filesystem\":{\"hide\":[\"/a\",\"$HOME/../etc\"]}}}", "<string>:1:69:",
          "\"..\" is not allowed" },
        { HDR "\"sandbox\":{\"filesystem\":{\"tmpfs\":[\"$WORKSPACEX/foo\"]}}}", "<string>:1:65:",
          "unknown variable" },
        { HDR "\"sandbox\":{\"filesystem\":{\"tmpfs\":[\"/x/$HOME\"]}}}", "<string>:1:65:",
          "only a leading $WORKSPACE or $HOME" },
        { HDR "\"sandbox\":{\"filesystem\":{\"tmpfs\":[\"/a/..\"]}}}", "<string>:1:65:",
          "\"..\" is not allowed" },
        { HDR "\"sandbox\":{\"filesystem\":{\"tmpfs\":[\"/a\\n\"]}}}", "<string>:1:65:",
          "control character" },
        /* seccomp */
        { HDR "\"sandbox\":{\"seccomp\":{\"deny\":[\"ptrace\",\"no_such_call\"]}}}",
          "<string>:1:70:", "unknown system call \"no_such_call\"" },
        { HDR "\"sandbox\":{\"seccomp\":{\"deny\":[\"PTRACE\"]}}}", "<string>:1:61:",
          "unknown system call" },
        { HDR "\"sandbox\":{\"seccomp\":{\"deny\":[\"ptrace\"],\"allow\":[\"ptrace\"]}}}",
          "<string>:1:80:", "both denied and allowed" },
        /* resources */
        { HDR "\"sandbox\":{\"resources\":{\"memory_max\":\"4X\"}}}", "<string>:1:68:",
          "\"memory_max\": bad size \"4X\" (use a number or 512K, 4G, ...)" },
        { HDR "\"sandbox\":{\"resources\":{\"memory_max\":\"-1G\"}}}", "<string>:1:68:",
          "bad size \"-1G\"" },
        { HDR "\"sandbox\":{\"resources\":{\"memory_max\":\"99999999999T\"}}}", "<string>:1:68:",
          "out of range" },
        { HDR "\"sandbox\":{\"resources\":{\"memory_max\":\"1M\"}}}", "<string>:1:68:",
          "too small" },
        { HDR "\"sandbox\":{\"resources\":{\"memory_max\":-5}}}", "<string>:1:68:",
          "must not be negative" },
        { HDR "\"sandbox\":{\"resources\":{\"memory_max\":true}}}", "<string>:1:68:",
          "expected a size string or an integer, got a boolean" },
        { HDR "\"sandbox\":{\"resources\":{\"pids_max\":4}}}", "<string>:1:66:", "at least 8" },
        { HDR "\"sandbox\":{\"resources\":{\"nofile\":2000000}}}", "<string>:1:64:", "too large" },
        /* env */
        { HDR "\"sandbox\":{\"env\":{\"pass\":[\"*\"]}}}", "<string>:1:57:", "bad variable name" },
        { HDR "\"sandbox\":{\"env\":{\"pass\":[\"A-B\"]}}}", "<string>:1:57:", "bad variable name" },
        { HDR "\"sandbox\":{\"env\":{\"set\":{\"1X\":\"v\"}}}}", "<string>:1:56:",
          "bad variable name \"1X\"" },
        { HDR "\"sandbox\":{\"env\":{\"set\":{\"X\":1}}}}", "<string>:1:60:",
          "expected a string, got an integer" },
        { HDR "\"sandbox\":[]}", "<string>:1:41:", "expected an object, got an array" },
};

static void test_bad(void)
{
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                char err[POLICY_ERR_MAX] = "";
                struct profile *p = NULL;
                int r = profile_load_string("<string>", bad[i].text, strlen(bad[i].text), NULL, &p,
                                            err);
                CHECK(r < 0);
                CHECK(p == NULL);
                bool ok = strncmp(err, bad[i].where, strlen(bad[i].where)) == 0 &&
                          strstr(err, bad[i].fragment);
                if (!ok)
                        fprintf(stderr, "bad[%zu]: got '%s', want '%s ...%s...'\n", i, err,
                                bad[i].where, bad[i].fragment);
                CHECK(ok);
                profile_free(p);
        }
}

/* Generated documents: too many entries, too deep, too large. */
static void test_bounds(void)
{
        char err[POLICY_ERR_MAX];
        struct profile *p = NULL;
        /* 257 models */
        struct strbuf_like {
                char *d;
                size_t n;
        } b = { malloc(64 * 1024), 0 };
        b.n += (size_t)snprintf(b.d, 64 * 1024, HDR "\"models\":[");
        for (int i = 0; i < 257; i++)
                b.n += (size_t)snprintf(b.d + b.n, 64 * 1024 - b.n, "%s\"m%d\"", i ? "," : "", i);
        b.n += (size_t)snprintf(b.d + b.n, 64 * 1024 - b.n, "]}");
        CHECK(profile_load_string("<string>", b.d, b.n, NULL, &p, err) < 0);
        CHECK(strncmp(err, "<string>:1:40:", 14) == 0);
        CHECK(strstr(err, "too many entries (257, max 256)") != NULL);
        free(b.d);

        /* nesting: 33 levels */
        char deep[256];
        size_t n = (size_t)snprintf(deep, sizeof(deep), HDR "\"sandbox\":");
        for (int i = 0; i < 32; i++)
                deep[n++] = '[';
        deep[n] = '\0';
        CHECK(profile_load_string("<string>", deep, n, NULL, &p, err) < 0);
        CHECK_STREQ(err, "<string>:1:72: nesting too deep (max 32 levels)");

        /* 32 levels is not the problem: it fails later, for the type */
        n = (size_t)snprintf(deep, sizeof(deep), HDR "\"sandbox\":");
        for (int i = 0; i < 31; i++)
                deep[n++] = '[';
        for (int i = 0; i < 31; i++)
                deep[n++] = ']';
        deep[n++] = '}';
        deep[n] = '\0';
        CHECK(profile_load_string("<string>", deep, n, NULL, &p, err) < 0);
        CHECK(strstr(err, "expected an object, got an array") != NULL);

        /* too large */
        size_t big = PROFILE_FILE_MAX + 1;
        char *text = malloc(big);
        memset(text, ' ', big);
        memcpy(text, HDR "\"x\":1}", strlen(HDR) + 6);
        CHECK(profile_load_string("<string>", text, big, NULL, &p, err) == -EFBIG);
        CHECK(strncmp(err, "<string>:1:1: file too large", 28) == 0);
        free(text);
}

static const char good_text[] =
        "{\n"
        "  \"qclaw_profile\": 1,\n"
        "  \"name\": \"coder\",\n"
        "  \"description\": \"Coding agent\",\n"
        "  \"models\": [\"anthropic/claude-sonnet-4-*\", \"ollama/*\"],\n"
        "  \"limits\": { \"requests_per_minute\": 120, \"tokens_per_day\": 5000000,\n"
        "              \"max_concurrent_requests\": 8 },\n"
        "  \"sandbox\": {\n"
        "    \"network\": \"none\",\n"
        "    \"publish\": [18789],\n"
        "    \"filesystem\": {\n"
        "      \"read_only\": [\"/usr/\", \"//etc\", \"/opt/./x\"],\n"
        "      \"read_write\": [\"$WORKSPACE\"],\n"
        "      \"tmpfs\": [\"/tmp\", \"$HOME\"],\n"
        "      \"hide\": [\"$HOME/.ssh\", \"$WORKSPACE//secrets/\"]\n"
        "    },\n"
        "    \"seccomp\": { \"deny\": [\"ptrace\", \"kexec_load\"], \"allow\": [] },\n"
        "    \"resources\": { \"memory_max\": \"4G\", \"pids_max\": 1024, \"nofile\": 4096 },\n"
        "    \"env\": { \"pass\": [\"TERM\", \"LC_*\"], \"set\": { \"EDITOR\": \"vi\" } }\n"
        "  }\n"
        "}\n";

static void test_good(void)
{
        char err[POLICY_ERR_MAX] = "";
        struct profile *p = NULL;
        struct profile_vars vars = { .workspace = "/srv/ws/", .home = "/home/alice" };
        int r = profile_load_string("coder.json", good_text, strlen(good_text), &vars, &p, err);
        if (r < 0)
                fprintf(stderr, "good: %s\n", err);
        CHECK(r == 0);
        if (!p)
                return;
        CHECK_STREQ(p->name, "coder");
        CHECK_STREQ(p->description, "Coding agent");
        CHECK(p->models.n == 2);
        CHECK_STREQ(p->models.items[1], "ollama/*");
        CHECK(p->models.items[2] == NULL);
        CHECK(p->limits.requests_per_minute == 120);
        CHECK(p->limits.tokens_per_day == 5000000);
        CHECK(p->limits.max_concurrent_requests == 8);
        CHECK(p->limits.max_request_bytes == 8u << 20); /* default */
        CHECK(p->network == PROFILE_NETWORK_NONE);
        CHECK(p->n_publish == 1 && p->publish[0] == 18789);
        CHECK(p->fs_read_only.n == 3);
        CHECK_STREQ(p->fs_read_only.items[0], "/usr");
        CHECK_STREQ(p->fs_read_only.items[1], "/etc");
        CHECK_STREQ(p->fs_read_only.items[2], "/opt/x");
        CHECK_STREQ(p->fs_read_write.items[0], "/srv/ws");
        CHECK_STREQ(p->fs_tmpfs.items[1], "/home/alice");
        CHECK_STREQ(p->fs_hide.items[0], "/home/alice/.ssh");
        CHECK_STREQ(p->fs_hide.items[1], "/srv/ws/secrets");
        CHECK(p->seccomp_deny.n == 2 && p->seccomp_allow.n == 0);
        CHECK(p->memory_max == 4ull << 30);
        CHECK(p->pids_max == 1024);
        CHECK(p->nofile == 4096);
        CHECK(p->env_pass.n == 2);
        CHECK(p->n_env_set == 1);
        CHECK_STREQ(p->env_set[0].name, "EDITOR");
        CHECK_STREQ(p->env_set[0].value, "vi");
        CHECK(strlen(p->hash) == 64);
        CHECK_STREQ(p->path, "coder.json");
        profile_free(p);

        /* NULL vars: placeholders; the hash is of the bytes, so it is the same */
        char hash1[65];
        r = profile_load_string("coder.json", good_text, strlen(good_text), NULL, &p, err);
        CHECK(r == 0);
        if (p) {
                CHECK_STREQ(p->fs_read_write.items[0], "/workspace");
                CHECK_STREQ(p->fs_hide.items[0], "/home/user/.ssh");
                memcpy(hash1, p->hash, sizeof(hash1));
                profile_free(p);
                p = NULL;
        }
        /* a relative workspace makes the expanded path relative: refused */
        struct profile_vars rel = { .workspace = "ws", .home = "/h" };
        r = profile_load_string("coder.json", good_text, strlen(good_text), &rel, &p, err);
        CHECK(r < 0);
        CHECK(strncmp(err, "coder.json:13:22:", 17) == 0);
        CHECK(strstr(err, "not an absolute path after expansion") != NULL);

        /* minimal profile: defaults */
        const char *min = "{\"qclaw_profile\":1,\"name\":\"min_1-x\"}";
        r = profile_load_string("m", min, strlen(min), NULL, &p, err);
        CHECK(r == 0);
        if (p) {
                CHECK(p->models.n == 0);
                CHECK_STREQ(p->description, "");
                CHECK(p->network == PROFILE_NETWORK_PROXY);
                CHECK(p->limits.requests_per_minute == 0);
                CHECK(p->limits.max_request_bytes == 8u << 20);
                CHECK(p->memory_max == 0 && p->pids_max == 0 && p->nofile == 0);
                CHECK(p->n_publish == 0 && p->n_env_set == 0);
                profile_free(p);
        }
}

static void test_parse_size(void)
{
        static const struct {
                const char *s;
                int r;
                uint64_t v;
        } t[] = {
                { "0", 0, 0 },
                { "1073741824", 0, 1073741824 },
                { "64k", 0, 64 << 10 },
                { "512M", 0, 512ull << 20 },
                { "4G", 0, 4ull << 30 },
                { "2T", 0, 2ull << 40 },
                { "1p", 0, 1ull << 50 },
                { "16383P", 0, 16383ull << 50 },
                { "16384P", -ERANGE, 0 },
                { "99999999999T", -ERANGE, 0 },
                { "18446744073709551616", -ERANGE, 0 },
                { "4X", -EINVAL, 0 },
                { "-1G", -EINVAL, 0 },
                { "", -EINVAL, 0 },
                { "G", -EINVAL, 0 },
                { "4GB", -EINVAL, 0 },
                { " 4G", -EINVAL, 0 },
                { "4 G", -EINVAL, 0 },
                { "1.5G", -EINVAL, 0 },
        };
        for (size_t i = 0; i < ELEMENTSOF(t); i++) {
                uint64_t v = 12345;
                int r = parse_size(t[i].s, &v);
                if (r != t[i].r)
                        fprintf(stderr, "parse_size(\"%s\") = %d, want %d\n", t[i].s, r, t[i].r);
                CHECK(r == t[i].r);
                if (r == 0)
                        CHECK(v == t[i].v);
        }
}

static void test_resolve_path(void)
{
        char *p = NULL;
        CHECK(profile_resolve_path("/etc/qclaw/profiles", "coder", &p) == 0);
        CHECK_STREQ(p, "/etc/qclaw/profiles/coder.json");
        free(p);
        CHECK(profile_resolve_path("/d", "./my.json", &p) == 0);
        CHECK_STREQ(p, "./my.json");
        free(p);
        CHECK(profile_resolve_path("/d", "my.json", &p) == 0);
        CHECK_STREQ(p, "my.json");
        free(p);
        CHECK(profile_resolve_path("/d", "..", &p) == -EINVAL);
        CHECK(profile_resolve_path("/d", "", &p) == -EINVAL);
        CHECK(profile_resolve_path("/d", "Coder", &p) == -EINVAL);
        CHECK(profile_resolve_path("/d", "a b", &p) == -EINVAL);
}

static void write_file(const char *dir, const char *name, const char *text)
{
        char path[512];
        snprintf(path, sizeof(path), "%s/%s", dir, name);
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        CHECK(fd >= 0);
        CHECK(fd_write_all(fd, text, strlen(text)) == 0);
        close(fd);
}

static void test_set(void)
{
        char dir[] = "/tmp/test-profile-XXXXXX";
        CHECK(mkdtemp(dir) != NULL);
        char err[POLICY_ERR_MAX] = "";
        struct profile_set *set = NULL;
        write_file(dir, "b.json", "{\"qclaw_profile\":1,\"name\":\"b\"}");
        write_file(dir, "a.json", "{\"qclaw_profile\":1,\"name\":\"a\",\"models\":[\"x/*\"]}");
        write_file(dir, "notes.txt", "ignored");
        CHECK(profile_set_load_dir(dir, &set, err) == 0);
        if (set) {
                CHECK(set->n == 2);
                CHECK_STREQ(set->items[0]->name, "a");
                CHECK_STREQ(set->items[1]->name, "b");
                CHECK(profile_set_find(set, "b") == set->items[1]);
                CHECK(profile_set_find(set, "c") == NULL);
                CHECK(strlen(set->hash) == 64);
                set = profile_set_free(set);
        }
        /* name must equal the file stem */
        write_file(dir, "c.json", "{\"qclaw_profile\":1,\"name\":\"d\"}");
        CHECK(profile_set_load_dir(dir, &set, err) < 0);
        CHECK(set == NULL);
        CHECK(strstr(err, "/c.json: profile name \"d\" does not match the file name") != NULL);
        /* a broken file fails the whole set with its message */
        write_file(dir, "c.json", "{\"qclaw_profile\":1,\"name\":\"c\",\"x\":1}");
        CHECK(profile_set_load_dir(dir, &set, err) < 0);
        CHECK(strstr(err, "/c.json:1:31: unknown key \"x\"") != NULL);
        const char *names[] = { "a.json", "b.json", "c.json", "notes.txt" };
        for (size_t i = 0; i < ELEMENTSOF(names); i++) {
                char path[512];
                snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
                unlink(path);
        }
        rmdir(dir);
        CHECK(profile_set_load_dir("/nonexistent-qclaw", &set, err) == -ENOENT);
}

static void test_jpos(void)
{
        /* escapes in keys decode like jansson's, and '.' in keys does not collide with nesting */
        const char *t = "{\"a.b\":1,\"a\":{\"b\":2},\"\\u00e9\\n\":[true,{\"k\":null}]}";
        struct jpos *m = NULL;
        char *dup = NULL;
        unsigned l = 0, c = 0;
        CHECK(jpos_scan(t, strlen(t), &m, &dup, &l, &c) == 0);
        char p[JPATH_MAX];
        jpath_key(p, "", "a.b");
        CHECK_STREQ(p, "a\\.b");
        CHECK(jpos_lookup(m, p, true, &l, &c) && l == 1 && c == 2);
        CHECK(jpos_lookup(m, "a.b", false, &l, &c) && l == 1 && c == 19);
        jpath_key(p, "", "\xc3\xa9\n");
        jpath_idx(p, p, 1);
        jpath_key(p, p, "k");
        CHECK(jpos_lookup(m, p, false, &l, &c) && c == 44);
        CHECK_STREQ(jpath_leaf("a.b\\.c[2]"), "b\\.c[2]");
        jpos_free(m);
}

int main(void)
{
        test_bad();
        test_bounds();
        test_good();
        test_parse_size();
        test_resolve_path();
        test_set();
        test_jpos();
        return TEST_DONE();
}
