/* Unit tests for policy/provider-tools.c: tool types classified (Anthropic and OpenAI, dated
 * versions, client-side look-alikes), what a request body uses, and the profile key. */
#include <string.h>

#include "common/macro.h"
#include "policy/profile.h"
#include "policy/provider-tools.h"
#include "tap.h"

#define WS (1u << PROVIDER_TOOL_WEB_SEARCH)
#define WF (1u << PROVIDER_TOOL_WEB_FETCH)
#define MCP (1u << PROVIDER_TOOL_MCP)

static void test_types(void)
{
        static const struct {
                const char *type;
                int tool;
        } t[] = {
                { "web_search_20250305", PROVIDER_TOOL_WEB_SEARCH },
                { "web_search_20990101", PROVIDER_TOOL_WEB_SEARCH }, /* a later version */
                { "web_search", PROVIDER_TOOL_WEB_SEARCH },
                { "web_search_preview", PROVIDER_TOOL_WEB_SEARCH },
                { "web_search_preview_2025_03_11", PROVIDER_TOOL_WEB_SEARCH },
                { "web_fetch_20250910", PROVIDER_TOOL_WEB_FETCH },
                { "mcp", PROVIDER_TOOL_MCP },
                { "mcp_toolset", PROVIDER_TOOL_MCP },
                { "function", -ENOENT },
                { "custom", -ENOENT },
                { "bash_20250124", -ENOENT },        /* runs on the agent's side */
                { "text_editor_20250728", -ENOENT }, /* likewise */
                { "computer_20250124", -ENOENT },
                { "code_execution_20250825", -ENOENT }, /* provider sandbox, no third party */
                { "mcpx", -ENOENT },
                { "Web_search", -ENOENT },
                { "", -ENOENT },
                { NULL, -ENOENT },
        };
        for (size_t i = 0; i < ELEMENTSOF(t); i++) {
                int got = provider_tool_of_type(t[i].type);
                if (got != t[i].tool)
                        fprintf(stderr, "type %s: %d, want %d\n", t[i].type ? t[i].type : "(null)",
                                got, t[i].tool);
                CHECK(got == t[i].tool);
        }
}

static void test_used(void)
{
        static const struct {
                const char *body;
                unsigned used;
        } t[] = {
                { "{\"model\":\"m\"}", 0 },
                { "{\"tools\":[{\"type\":\"function\"},{\"name\":\"x\"}]}", 0 },
                { "{\"tools\":[{\"name\":\"s\",\"type\":\"web_search_20250305\"}]}", WS },
                { "{\"tools\":[{\"type\":\"function\"},{\"type\":\"web_fetch_20250910\"}]}", WF },
                { "{\"tools\":[{\"type\":\"mcp\",\"server_url\":\"https://x\"}]}", MCP },
                { "{\"mcp_servers\":[{\"type\":\"url\",\"url\":\"https://x\"}]}", MCP },
                { "{\"mcp_servers\":{}}", MCP },  /* not null or [], whatever it is */
                { "{\"mcp_servers\":[]}", 0 },
                { "{\"mcp_servers\":null}", 0 },
                { "{\"web_search_options\":{}}", WS },
                { "{\"web_search_options\":null}", 0 },
                { "{\"tools\":[{\"type\":\"web_search\"},{\"type\":\"mcp\"}],"
                  "\"mcp_servers\":[1]}", WS | MCP },
                { "{\"tools\":{\"type\":\"web_fetch_20250910\"}}", 0 }, /* not an array */
                { "{\"tools\":[{\"type\":7},\"web_search\"]}", 0 },
        };
        for (size_t i = 0; i < ELEMENTSOF(t); i++) {
                json_error_t e;
                json_t *j = json_loads(t[i].body, 0, &e);
                CHECK(j != NULL);
                unsigned got = provider_tools_used(j);
                if (got != t[i].used)
                        fprintf(stderr, "%s: %#x, want %#x\n", t[i].body, got, t[i].used);
                CHECK(got == t[i].used);
                json_decref(j);
        }
        CHECK(provider_tools_first_denied(0, 0) == -ENOENT);
        CHECK(provider_tools_first_denied(WS | MCP, WS) == PROVIDER_TOOL_MCP);
        CHECK(provider_tools_first_denied(WS | MCP, WS | MCP) == -ENOENT);
        CHECK(provider_tools_first_denied(WF, WS | MCP) == PROVIDER_TOOL_WEB_FETCH);
        for (int i = 0; i < _PROVIDER_TOOL_MAX; i++)
                CHECK(provider_tool_from_name(provider_tool_name(i)) == i);
        CHECK(provider_tool_from_name("web_search_20250305") == -EINVAL);
        CHECK(provider_tool_name(_PROVIDER_TOOL_MAX) == NULL);
}

static void test_profile_key(void)
{
        char err[POLICY_ERR_MAX];
        struct profile *p = NULL;
        const char *ok = "{\"qclaw_profile\":1,\"name\":\"t\",\"models\":[],"
                         "\"provider_tools\":[\"web_search\",\"mcp\"]}";
        CHECK(profile_load_string("t.json", ok, strlen(ok), NULL, &p, err) == 0);
        CHECK(p && p->provider_tools == (WS | MCP));
        p = profile_free(p);
        const char *none = "{\"qclaw_profile\":1,\"name\":\"t\",\"models\":[]}";
        CHECK(profile_load_string("t.json", none, strlen(none), NULL, &p, err) == 0);
        CHECK(p && p->provider_tools == 0); /* none unless named */
        p = profile_free(p);
        const char *bad = "{\"qclaw_profile\":1,\"name\":\"t\",\"models\":[],\n"
                          "  \"provider_tools\":[\"web_search\",\"browse\"]}";
        CHECK(profile_load_string("t.json", bad, strlen(bad), NULL, &p, err) < 0);
        CHECK(strstr(err, "t.json:2:") && strstr(err, "unknown provider tool \"browse\""));
        if (!strstr(err, "unknown provider tool"))
                fprintf(stderr, "err: %s\n", err);
        const char *bad2 = "{\"qclaw_profile\":1,\"name\":\"t\",\"models\":[],"
                           "\"provider_tools\":\"mcp\"}";
        CHECK(profile_load_string("t.json", bad2, strlen(bad2), NULL, &p, err) < 0);
}

int main(void)
{
        test_types();
        test_used();
        test_profile_key();
        return TEST_DONE();
}
