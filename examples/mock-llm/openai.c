/* mock-llm OpenAI endpoints besides chat: /v1/completions, /v1/responses, /v1/embeddings and
 * /v1/models. Trust level: parses untrusted request JSON (bounded by main.c). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

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

/* ---- /v1/completions (legacy) ---- */

static json_t *text_chunk(const struct gen *g, const char *obj, json_t *text, const char *finish)
{
        json_t *j = json_pack("{s:s, s:s, s:I, s:s, s:[{s:o, s:i, s:n, s:s?}]}", "id", g->id,
                              "object", obj, "created", g->created, "model", g->model, "choices",
                              "text", text, "index", 0, "logprobs", "finish_reason", finish);
        if (j && g->include_usage)
                json_object_set_new(j, "usage", json_null());
        return j;
}

static json_t *usage3(const struct gen *g)
{
        return json_pack("{s:I, s:I, s:I}", "prompt_tokens", g->in, "completion_tokens", g->out,
                         "total_tokens", g->in + g->out);
}

enum MHD_Result openai_completions(struct mock_req *r)
{
        const json_t *b = r->json;
        const json_t *prompt = json_object_get(b, "prompt");
        struct gen g = { .model = json_get_str(b, "model", NULL),
                         .stream = json_is_true(json_object_get(b, "stream")) };
        if (!g.model)
                return reply_error(r, API_OPENAI, 400, "invalid_request_error", NULL,
                                   "you must provide a model parameter");
        if (!json_is_string(prompt) && !json_is_array(prompt))
                return reply_error(r, API_OPENAI, 400, "invalid_request_error", NULL,
                                   "'prompt' must be a string or an array of strings");
        g.include_usage = json_is_true(
                json_object_get(json_object_get(b, "stream_options"), "include_usage"));
        snprintf(g.id, sizeof(g.id), "cmpl-mock-%lu", r->id);

        struct prompt p = {};
        struct strbuf t = STRBUF_INIT(MOCK_MAX_BODY);
        struct stream *s = NULL;
        _cleanup_free_ size_t *offs = NULL;
        size_t n = 0;
        if (json_is_string(prompt)) {
                if (prompt_add_content(&t, prompt) < 0 || prompt_text(&p, &t, true) < 0)
                        goto oom;
        } else {
                size_t i;
                const json_t *e;
                json_array_foreach(prompt, i, e) {
                        if (prompt_add_content(&t, e) < 0 || prompt_text(&p, &t, true) < 0)
                                goto oom;
                }
        }
        strbuf_free(&t);
        if (prompt_finish(&p) < 0)
                goto oom;
        enum MHD_Result ret;
        if (gen_prepare(r, API_OPENAI, &g, &p, false, &ret))
                return ret;

        if (!g.stream) {
                json_t *j = text_chunk(&g, "text_completion", json_string(g.reply), "stop");
                if (j)
                        json_object_set_new(j, "usage", usage3(&g));
                ret = reply_json(r, API_OPENAI, 200, j);
                gen_done(&g);
                return ret;
        }
        s = stream_new(r);
        offs = gen_pieces(&g, &n);
        if (!s || !offs)
                goto fail;
        for (size_t i = 0; i < n; i++)
                if (stream_chunk(s) < 0 ||
                    stream_event(s, NULL,
                                 text_chunk(&g, "text_completion",
                                            json_stringn(g.reply + offs[i], offs[i + 1] - offs[i]),
                                            NULL)) < 0)
                        goto fail;
        if (stream_chunk(s) < 0 ||
            stream_event(s, NULL, text_chunk(&g, "text_completion", json_string(""), "stop")) < 0)
                goto fail;
        if (g.include_usage &&
            stream_event(s, NULL,
                         json_pack("{s:s, s:s, s:I, s:s, s:[], s:o}", "id", g.id, "object",
                                   "text_completion", "created", g.created, "model", g.model,
                                   "choices", "usage", usage3(&g))) < 0)
                goto fail;
        if (stream_raw(s, "data: [DONE]\n\n") < 0)
                goto fail;
        if (g.fail == FAIL_RESET)
                stream_reset_before(s, 1);
        gen_done(&g);
        return stream_queue(r, API_OPENAI, s);
fail:
        stream_free(s);
        gen_done(&g);
        return MHD_NO;
oom:
        strbuf_free(&t);
        prompt_done(&p);
        return MHD_NO;
}

/* ---- /v1/responses ---- */

static int responses_prompt(const json_t *b, struct prompt *p)
{
        struct strbuf t = STRBUF_INIT(MOCK_MAX_BODY);
        int r = prompt_add_content(&t, json_object_get(b, "instructions"));
        if (r >= 0)
                r = prompt_text(p, &t, false);
        const json_t *input = json_object_get(b, "input");
        if (r >= 0 && json_is_string(input)) {
                r = prompt_add_content(&t, input);
                if (r >= 0)
                        r = prompt_text(p, &t, true);
        } else if (r >= 0) {
                size_t i;
                const json_t *item;
                json_array_foreach(input, i, item) {
                        const char *type = json_get_str(item, "type", "message");
                        const char *role = json_get_str(item, "role", "");
                        bool tool_out = !strcmp(type, "function_call_output");
                        r = prompt_add_content(&t, json_object_get(item, tool_out ? "output"
                                                                                  : "content"));
                        if (r >= 0)
                                r = prompt_text(p, &t, tool_out || !strcmp(role, "user"));
                        if (r < 0)
                                break;
                }
        }
        strbuf_free(&t);
        if (r >= 0)
                r = prompt_finish(p);
        if (r < 0)
                prompt_done(p);
        return r;
}

static json_t *response_item(const struct gen *g, const char *item_id, bool done)
{
        const char *status = done ? "completed" : "in_progress";
        if (g->tool.name)
                return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "id", "fc_mock_1", "type",
                                 "function_call", "status", status, "arguments",
                                 done ? g->tool.args : "", "call_id", "call_mock_1", "name",
                                 g->tool.name);
        json_t *content = done ? json_pack("[{s:s, s:[], s:[], s:s}]", "type", "output_text",
                                           "annotations", "logprobs", "text", g->reply)
                               : json_array();
        return json_pack("{s:s, s:s, s:s, s:s, s:o}", "id", item_id, "type", "message", "status",
                         status, "role", "assistant", "content", content);
}

static json_t *response_json(const struct gen *g, const json_t *body, const char *item_id,
                             bool done)
{
        json_t *usage = done ? json_pack("{s:I, s:{s:i}, s:I, s:{s:i}, s:I}", "input_tokens", g->in,
                                         "input_tokens_details", "cached_tokens", 0,
                                         "output_tokens", g->out, "output_tokens_details",
                                         "reasoning_tokens", 0, "total_tokens", g->in + g->out)
                             : json_null();
        json_t *output = done ? json_pack("[o]", response_item(g, item_id, true)) : json_array();
        json_t *instructions = json_object_get(body, "instructions");
        return json_pack("{s:s, s:s, s:I, s:s, s:n, s:n, s:O, s:s, s:o, s:b, s:s, s:[], s:o}",
                         "id", g->id, "object", "response", "created_at", g->created, "status",
                         done ? "completed" : "in_progress", "error", "incomplete_details",
                         "instructions", instructions ? instructions : json_null(), "model",
                         g->model, "output", output, "parallel_tool_calls", 1, "tool_choice",
                         "auto", "tools", "usage", usage);
}

struct rstream {
        struct stream *s;
        json_int_t seq;
};

static int rev(struct rstream *rs, const char *type, json_t *data)
{
        json_t *j = json_pack("{s:s, s:I}", "type", type, "sequence_number", rs->seq++);
        if (!j || !data || json_object_update(j, data) < 0) {
                json_decref(j);
                json_decref(data);
                return -ENOMEM;
        }
        json_decref(data);
        return stream_event(rs->s, type, j);
}

static enum MHD_Result responses_stream(struct mock_req *r, const struct gen *g,
                                        const char *item_id)
{
        struct rstream rs = { .s = stream_new(r) };
        const char *text = gen_text(g);
        const char *iid = g->tool.name ? "fc_mock_1" : item_id;
        size_t n = 0;
        _cleanup_free_ size_t *offs = gen_pieces(g, &n);
        if (!rs.s || !offs)
                goto fail;
        if (stream_chunk(rs.s) < 0 ||
            rev(&rs, "response.created",
                json_pack("{s:o}", "response", response_json(g, r->json, item_id, false))) < 0 ||
            rev(&rs, "response.in_progress",
                json_pack("{s:o}", "response", response_json(g, r->json, item_id, false))) < 0 ||
            rev(&rs, "response.output_item.added",
                json_pack("{s:i, s:o}", "output_index", 0, "item",
                          response_item(g, item_id, false))) < 0)
                goto fail;
        if (!g->tool.name &&
            rev(&rs, "response.content_part.added",
                json_pack("{s:s, s:i, s:i, s:{s:s, s:[], s:[], s:s}}", "item_id", iid,
                          "output_index", 0, "content_index", 0, "part", "type", "output_text",
                          "annotations", "logprobs", "text", "")) < 0)
                goto fail;
        for (size_t i = 0; i < n; i++) {
                json_t *piece = json_stringn(text + offs[i], offs[i + 1] - offs[i]);
                int k = stream_chunk(rs.s);
                if (k >= 0 && g->tool.name)
                        k = rev(&rs, "response.function_call_arguments.delta",
                                json_pack("{s:s, s:i, s:o}", "item_id", iid, "output_index", 0,
                                          "delta", piece));
                else if (k >= 0)
                        k = rev(&rs, "response.output_text.delta",
                                json_pack("{s:s, s:i, s:i, s:o, s:[]}", "item_id", iid,
                                          "output_index", 0, "content_index", 0, "delta", piece,
                                          "logprobs"));
                if (k < 0)
                        goto fail;
        }
        if (stream_chunk(rs.s) < 0)
                goto fail;
        if (g->tool.name) {
                if (rev(&rs, "response.function_call_arguments.done",
                        json_pack("{s:s, s:i, s:s}", "item_id", iid, "output_index", 0,
                                  "arguments", text)) < 0)
                        goto fail;
        } else if (rev(&rs, "response.output_text.done",
                       json_pack("{s:s, s:i, s:i, s:s, s:[]}", "item_id", iid, "output_index", 0,
                                 "content_index", 0, "text", text, "logprobs")) < 0 ||
                   rev(&rs, "response.content_part.done",
                       json_pack("{s:s, s:i, s:i, s:{s:s, s:[], s:[], s:s}}", "item_id", iid,
                                 "output_index", 0, "content_index", 0, "part", "type",
                                 "output_text", "annotations", "logprobs", "text", text)) < 0)
                goto fail;
        if (rev(&rs, "response.output_item.done",
                json_pack("{s:i, s:o}", "output_index", 0, "item",
                          response_item(g, item_id, true))) < 0 ||
            rev(&rs, "response.completed",
                json_pack("{s:o}", "response", response_json(g, r->json, item_id, true))) < 0)
                goto fail;
        if (g->fail == FAIL_RESET)
                stream_reset_before(rs.s, 2);
        return stream_queue(r, API_OPENAI, rs.s);
fail:
        stream_free(rs.s);
        return MHD_NO;
}

enum MHD_Result openai_responses(struct mock_req *r)
{
        const json_t *b = r->json;
        const json_t *input = json_object_get(b, "input");
        struct gen g = { .model = json_get_str(b, "model", NULL),
                         .stream = json_is_true(json_object_get(b, "stream")) };
        if (!g.model)
                return reply_error(r, API_OPENAI, 400, "invalid_request_error", NULL,
                                   "Missing required parameter: 'model'.");
        if (!json_is_string(input) && !json_is_array(input))
                return reply_error(r, API_OPENAI, 400, "invalid_request_error", NULL,
                                   "Missing required parameter: 'input'.");
        snprintf(g.id, sizeof(g.id), "resp_mock_%lu", r->id);
        char item_id[64];
        snprintf(item_id, sizeof(item_id), "msg_mock_%lu", r->id);

        struct prompt p = {};
        if (responses_prompt(b, &p) < 0)
                return MHD_NO;
        enum MHD_Result ret;
        if (gen_prepare(r, API_OPENAI, &g, &p, true, &ret))
                return ret;
        ret = g.stream ? responses_stream(r, &g, item_id)
                       : reply_json(r, API_OPENAI, 200, response_json(&g, b, item_id, true));
        gen_done(&g);
        return ret;
}

/* ---- /v1/embeddings ---- */

#define EMBED_DIM 8

/* Deterministic vector from SHA-256 of the text: 8 floats in [-1, 1). */
static int embed(const char *text, size_t len, float v[EMBED_DIM])
{
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned mdlen = 0;
        if (!EVP_Digest(text, len, md, &mdlen, EVP_sha256(), NULL) || mdlen < 4 * EMBED_DIM)
                return -EIO;
        for (size_t i = 0; i < EMBED_DIM; i++) {
                uint32_t u = (uint32_t)md[4 * i] << 24 | (uint32_t)md[4 * i + 1] << 16 |
                             (uint32_t)md[4 * i + 2] << 8 | md[4 * i + 3];
                v[i] = (float)((double)u / 4294967296.0 * 2.0 - 1.0);
        }
        return 0;
}

static json_t *embedding_json(const float v[EMBED_DIM], bool b64)
{
        if (b64) {
                /* little-endian float32, as the OpenAI API and SDKs expect */
                unsigned char raw[4 * EMBED_DIM];
                for (size_t i = 0; i < EMBED_DIM; i++) {
                        uint32_t u;
                        memcpy(&u, &v[i], 4);
                        for (size_t k = 0; k < 4; k++)
                                raw[4 * i + k] = (unsigned char)(u >> (8 * k));
                }
                unsigned char out[4 * ((sizeof(raw) + 2) / 3) + 1];
                EVP_EncodeBlock(out, raw, (int)sizeof(raw));
                return json_string((char *)out);
        }
        json_t *a = json_array();
        for (size_t i = 0; i < EMBED_DIM; i++)
                json_array_append_new(a, json_real((double)v[i]));
        return a;
}

enum MHD_Result openai_embeddings(struct mock_req *r)
{
        const json_t *b = r->json;
        const char *model = json_get_str(b, "model", NULL);
        const char *fmt = json_get_str(b, "encoding_format", "float");
        const json_t *input = json_object_get(b, "input");
        if (!model)
                return reply_error(r, API_OPENAI, 400, "invalid_request_error", NULL,
                                   "you must provide a model parameter");
        if (strcmp(fmt, "float") != 0 && strcmp(fmt, "base64") != 0)
                return reply_error(r, API_OPENAI, 400, "invalid_request_error", NULL,
                                   "encoding_format must be 'float' or 'base64'");
        bool many = json_is_array(input) && json_array_size(input) > 0 &&
                    !json_is_integer(json_array_get(input, 0));
        if (!json_is_string(input) && !json_is_array(input))
                return reply_error(r, API_OPENAI, 400, "invalid_request_error", NULL,
                                   "'input' must be a string or an array");

        const char *first = json_is_string(input)         ? json_string_value(input)
                            : many && json_is_string(json_array_get(input, 0))
                                    ? json_string_value(json_array_get(input, 0))
                                    : "";
        enum MHD_Result ret;
        if (fail_handle(r, API_OPENAI, fail_mode_of(first), false, &ret))
                return ret;

        json_t *data = json_array();
        unsigned long words = 0;
        size_t count = many ? json_array_size(input) : 1;
        for (size_t i = 0; i < count; i++) {
                const json_t *e = many ? json_array_get(input, i) : input;
                _cleanup_free_ char *dumped = json_is_string(e) ? NULL : json_dump_compact(e);
                const char *text = json_is_string(e) ? json_string_value(e) : dumped;
                size_t len = json_is_string(e) ? json_string_length(e) : (text ? strlen(text) : 0);
                float v[EMBED_DIM];
                if (!text || embed(text, len, v) < 0) {
                        json_decref(data);
                        return MHD_NO;
                }
                words += json_is_string(e) ? count_words(text) : json_array_size(e);
                json_array_append_new(data, json_pack("{s:s, s:I, s:o}", "object", "embedding",
                                                      "index", (json_int_t)i, "embedding",
                                                      embedding_json(v, !strcmp(fmt, "base64"))));
        }
        json_int_t w = (json_int_t)MAX(words, 1ul);
        return reply_json(r, API_OPENAI, 200,
                          json_pack("{s:s, s:o, s:s, s:{s:I, s:I}}", "object", "list", "data",
                                    data, "model", model, "usage", "prompt_tokens", w,
                                    "total_tokens", w));
}
