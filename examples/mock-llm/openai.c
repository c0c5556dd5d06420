/* mock-llm OpenAI endpoints besides chat: /v1/completions, /v1/responses, /v1/embeddings and
 * /v1/models. Trust level: parses untrusted request JSON (bounded by main.c). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/json-util.h"
#include "common/macro.h"
#include "mock-llm.h"

static json_t *model_json(const char *id)
{
        return json_pack("{s:s, s:s, s:i, s:s}", "id", id, "object", "model", "created",
                         1700000000, "owned_by", "mock-llm");
}

enum MHD_Result openai_models(struct mock_req *r, const char *id)
{
        if (id) {
                for (char **m = mock_cfg.models; *m; m++)
                        if (!strcmp(*m, id))
                                return reply_json(r, API_OPENAI, 200, model_json(id));
                return reply_error(r, API_OPENAI, 404, "invalid_request_error", "model_not_found",
                                   "The model `%s` does not exist or you do not have access to it.",
                                   id);
        }
        json_t *data = json_array();
        for (char **m = mock_cfg.models; *m; m++)
                json_array_append_new(data, model_json(*m));
        return reply_json(r, API_OPENAI, 200, json_pack("{s:s, s:o}", "object", "list", "data", data));
}

enum MHD_Result openai_completions(struct mock_req *r)
{
        return reply_error(r, API_OPENAI, 501, "server_error", NULL, "not yet");
}

enum MHD_Result openai_responses(struct mock_req *r)
{
        return reply_error(r, API_OPENAI, 501, "server_error", NULL, "not yet");
}

enum MHD_Result openai_embeddings(struct mock_req *r)
{
        return reply_error(r, API_OPENAI, 501, "server_error", NULL, "not yet");
}
