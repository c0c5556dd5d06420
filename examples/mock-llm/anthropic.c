/* mock-llm Anthropic Messages: POST /v1/messages (streaming or not), /v1/messages/count_tokens and
 * the Anthropic shape of GET /v1/models. Trust level: parses untrusted request JSON (bounded). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/json-util.h"
#include "common/macro.h"
#include "mock-llm.h"

/* system + every message counted; the last user message's text (tool results included) echoed. */
static int msg_prompt(const json_t *body, struct prompt *p)
{
        static const char *const echo_roles[] = { "user", NULL };
        struct strbuf sys = STRBUF_INIT(MOCK_MAX_BODY);
        int r = prompt_add_content(&sys, json_object_get(body, "system"));
        p->words += count_words(sys.data);
        strbuf_free(&sys);
        if (r >= 0)
                r = prompt_add_messages(p, json_object_get(body, "messages"), echo_roles);
        if (r >= 0)
                r = prompt_finish(p);
        if (r < 0)
                prompt_done(p);
        return r;
}

static json_t *usage_json(json_int_t in, json_int_t out)
{
        return json_pack("{s:I, s:I, s:i, s:i}", "input_tokens", in, "output_tokens", out,
                         "cache_creation_input_tokens", 0, "cache_read_input_tokens", 0);
}

static json_t *message_json(const struct gen *c, json_t *content, const char *stop,
                            json_int_t out)
{
        return json_pack("{s:s, s:s, s:s, s:s, s:o, s:s?, s:n, s:o}", "id", c->id, "type",
                         "message", "role", "assistant", "model", c->model, "content", content,
                         "stop_reason", stop, "stop_sequence", "usage",
                         usage_json(c->in, out));
}

static json_t *block_json(const struct gen *c)
{
        if (c->tool.name)
                return json_pack("{s:s, s:s, s:s, s:O}", "type", "tool_use", "id", "toolu_mock_1",
                                 "name", c->tool.name, "input", c->tool.input);
        return json_pack("{s:s, s:s}", "type", "text", "text", c->reply);
}

static enum MHD_Result msg_full(struct mock_req *r, const struct gen *c)
{
        json_t *j = message_json(c, json_pack("[o]", block_json(c)),
                                 c->tool.name ? "tool_use" : "end_turn", c->out);
        return reply_json(r, API_ANTHROPIC, 200, j);
}

static int event(struct stream *s, const char *type, json_t *data)
{
        /* "type" first, as the real API writes it. */
        json_t *j = json_pack("{s:s}", "type", type);
        if (!j || !data || json_object_update(j, data) < 0) {
                json_decref(j);
                json_decref(data);
                return -ENOMEM;
        }
        json_decref(data);
        return stream_event(s, type, j);
}

static enum MHD_Result msg_stream(struct mock_req *r, const struct gen *c)
{
        struct stream *s = stream_new(r);
        if (!s)
                return MHD_NO;
        const char *text = gen_text(c);
        size_t n = 0;
        _cleanup_free_ size_t *offs = gen_pieces(c, &n);
        if (!offs)
                goto fail;

        /* As the real API: the tool_use block starts with an empty input, filled by deltas. */
        json_t *start_block = c->tool.name
                ? json_pack("{s:s, s:s, s:s, s:{}}", "type", "tool_use", "id", "toolu_mock_1",
                            "name", c->tool.name, "input")
                : json_pack("{s:s, s:s}", "type", "text", "text", "");
        if (stream_chunk(s) < 0 ||
            event(s, "message_start",
                  json_pack("{s:o}", "message", message_json(c, json_array(), NULL, 1))) < 0 ||
            event(s, "content_block_start",
                  json_pack("{s:i, s:o}", "index", 0, "content_block", start_block)) < 0 ||
            event(s, "ping", json_object()) < 0)
                goto fail;
        for (size_t i = 0; i < n; i++) {
                json_t *piece = json_stringn(text + offs[i], offs[i + 1] - offs[i]);
                json_t *delta = c->tool.name
                        ? json_pack("{s:s, s:o}", "type", "input_json_delta", "partial_json", piece)
                        : json_pack("{s:s, s:o}", "type", "text_delta", "text", piece);
                if (stream_chunk(s) < 0 ||
                    event(s, "content_block_delta",
                          json_pack("{s:i, s:o}", "index", 0, "delta", delta)) < 0)
                        goto fail;
        }
        if (stream_chunk(s) < 0 ||
            event(s, "content_block_stop", json_pack("{s:i}", "index", 0)) < 0 ||
            event(s, "message_delta",
                  json_pack("{s:{s:s, s:n}, s:{s:I}}", "delta", "stop_reason",
                            c->tool.name ? "tool_use" : "end_turn", "stop_sequence", "usage",
                            "output_tokens", c->out)) < 0 ||
            event(s, "message_stop", json_object()) < 0)
                goto fail;
        if (c->fail == FAIL_RESET)
                stream_reset_before(s, 2);
        return stream_queue(r, API_ANTHROPIC, s);
fail:
        stream_free(s);
        return MHD_NO;
}

enum MHD_Result anthropic_messages(struct mock_req *r)
{
        const json_t *b = r->json;
        struct gen c = { .model = json_get_str(b, "model", NULL),
                         .stream = json_is_true(json_object_get(b, "stream")) };
        if (!c.model)
                return reply_error(r, API_ANTHROPIC, 400, "invalid_request_error", NULL,
                                   "model: Field required");
        if (!json_is_integer(json_object_get(b, "max_tokens")))
                return reply_error(r, API_ANTHROPIC, 400, "invalid_request_error", NULL,
                                   "max_tokens: Field required");
        if (!json_is_array(json_object_get(b, "messages")))
                return reply_error(r, API_ANTHROPIC, 400, "invalid_request_error", NULL,
                                   "messages: Field required");

        snprintf(c.id, sizeof(c.id), "msg_mock_%lu", r->id);

        struct prompt p = {};
        if (msg_prompt(b, &p) < 0)
                return MHD_NO;
        enum MHD_Result ret;
        if (gen_prepare(r, API_ANTHROPIC, &c, &p, true, &ret))
                return ret;
        ret = c.stream ? msg_stream(r, &c) : msg_full(r, &c);
        gen_done(&c);
        return ret;
}

enum MHD_Result anthropic_count_tokens(struct mock_req *r)
{
        if (!json_is_array(json_object_get(r->json, "messages")))
                return reply_error(r, API_ANTHROPIC, 400, "invalid_request_error", NULL,
                                   "messages: Field required");
        struct prompt p = {};
        if (msg_prompt(r->json, &p) < 0)
                return MHD_NO;
        json_int_t words = (json_int_t)p.words;
        prompt_done(&p);
        return reply_json(r, API_ANTHROPIC, 200, json_pack("{s:I}", "input_tokens", words));
}

static json_t *model_json(const char *id)
{
        return json_pack("{s:s, s:s, s:s, s:s}", "type", "model", "id", id, "display_name", id,
                         "created_at", "2025-01-01T00:00:00Z");
}

enum MHD_Result anthropic_models(struct mock_req *r, const char *id)
{
        if (id) {
                for (char **m = mock_cfg.models; *m; m++)
                        if (!strcmp(*m, id))
                                return reply_json(r, API_ANTHROPIC, 200, model_json(id));
                return reply_error(r, API_ANTHROPIC, 404, "not_found_error", NULL,
                                   "model: %s", id);
        }
        json_t *data = json_array();
        for (char **m = mock_cfg.models; *m; m++)
                json_array_append_new(data, model_json(*m));
        size_t n = json_array_size(data);
        const char *first = n ? mock_cfg.models[0] : NULL;
        const char *last = n ? mock_cfg.models[n - 1] : NULL;
        return reply_json(r, API_ANTHROPIC, 200,
                          json_pack("{s:o, s:b, s:s?, s:s?}", "data", data, "has_more", 0,
                                    "first_id", first, "last_id", last));
}
