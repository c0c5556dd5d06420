/* Provider-side tools: tools a model provider runs itself on the agent's behalf and that reach
 * third parties (a search engine, a URL, an MCP server), so that a request using them takes the
 * agent's data past the one endpoint it may reach. A profile allows them by name
 * ("provider_tools"); the proxy refuses a request that uses one its profile does not allow.
 * Trust level: pure classification of untrusted request members; no I/O. */
#pragma once

#include <jansson.h>
#include <stdbool.h>

enum provider_tool {
        PROVIDER_TOOL_WEB_SEARCH, /* Anthropic web_search_*, OpenAI web_search*, web_search_options */
        PROVIDER_TOOL_WEB_FETCH,  /* Anthropic web_fetch_* */
        PROVIDER_TOOL_MCP,        /* Anthropic mcp_servers / mcp_toolset, OpenAI Responses "mcp" */
        _PROVIDER_TOOL_MAX,
};

/* "web_search", "web_fetch", "mcp"; NULL when out of range. */
const char *provider_tool_name(enum provider_tool t);
/* The tool a profile names, or -EINVAL. */
int provider_tool_from_name(const char *name);

/* The provider-side tool a `tools[].type` value stands for, or -ENOENT for client-side tools
 * (function, custom, bash_*, text_editor_*, computer_*, ...) and anything unknown. */
int provider_tool_of_type(const char *type);

/* Bit (1 << tool) for every provider-side tool a request body uses: `tools[].type`,
 * `mcp_servers` (any value but null or []), `web_search_options` (any value but null). `body`
 * is the request object (members other than these are ignored). */
unsigned provider_tools_used(const json_t *body);

/* The first tool in `used` that `allowed` lacks, or -ENOENT when all are allowed. */
int provider_tools_first_denied(unsigned used, unsigned allowed);
