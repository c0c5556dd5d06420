/* Provider-side tools: names, classification of tool types, what a request body uses.
 * Trust level: reads untrusted request members (already parsed); no I/O. */
#include "policy/provider-tools.h"

#include <errno.h>
#include <string.h>

#include "common/macro.h"

static const char *const names[_PROVIDER_TOOL_MAX] = {
        [PROVIDER_TOOL_WEB_SEARCH] = "web_search",
        [PROVIDER_TOOL_WEB_FETCH] = "web_fetch",
        [PROVIDER_TOOL_MCP] = "mcp",
};

const char *provider_tool_name(enum provider_tool t)
{
        return (unsigned)t < _PROVIDER_TOOL_MAX ? names[t] : NULL;
}

int provider_tool_from_name(const char *name)
{
        for (int t = 0; name && t < _PROVIDER_TOOL_MAX; t++)
                if (strcmp(names[t], name) == 0)
                        return t;
        return -EINVAL;
}

static bool starts_with(const char *s, const char *prefix)
{
        return strncmp(s, prefix, strlen(prefix)) == 0;
}

int provider_tool_of_type(const char *type)
{
        if (!type)
                return -ENOENT;
        /* Anthropic: web_search_20250305, web_fetch_20250910, mcp_toolset; OpenAI Responses:
         * web_search, web_search_preview, web_search_preview_2025_03_11, mcp. Matched by
         * family, so a later dated version is caught too. */
        if (starts_with(type, "web_search"))
                return PROVIDER_TOOL_WEB_SEARCH;
        if (starts_with(type, "web_fetch"))
                return PROVIDER_TOOL_WEB_FETCH;
        if (strcmp(type, "mcp") == 0 || starts_with(type, "mcp_"))
                return PROVIDER_TOOL_MCP;
        return -ENOENT;
}

unsigned provider_tools_used(const json_t *body)
{
        unsigned used = 0;
        const json_t *tools = json_object_get(body, "tools"), *v;
        size_t i;

        json_array_foreach(tools, i, v) {
                int t = provider_tool_of_type(json_string_value(json_object_get(v, "type")));
                if (t >= 0)
                        used |= 1u << t;
        }
        v = json_object_get(body, "mcp_servers");
        if (v && !json_is_null(v) && !(json_is_array(v) && json_array_size(v) == 0))
                used |= 1u << PROVIDER_TOOL_MCP;
        v = json_object_get(body, "web_search_options");
        if (v && !json_is_null(v))
                used |= 1u << PROVIDER_TOOL_WEB_SEARCH;
        return used;
}

int provider_tools_first_denied(unsigned used, unsigned allowed)
{
        unsigned denied = used & ~allowed;
        for (int t = 0; t < _PROVIDER_TOOL_MAX; t++)
                if (denied & (1u << t))
                        return t;
        return -ENOENT;
}
