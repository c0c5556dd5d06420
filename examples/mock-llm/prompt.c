/* mock-llm prompts: the text the echo answers, word counts for usage, call_tool: directives and
 * fail: modes. Trust level: reads untrusted request JSON (already parsed, bounded). */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/json-util.h"
#include "common/macro.h"
#include "mock-llm.h"

void prompt_done(struct prompt *p)
{
        free(p->last_user);
        p->last_user = NULL;
}

int prompt_text(struct prompt *p, struct strbuf *b, bool candidate)
{
        p->words += count_words(b->data);
        if (!candidate) {
                strbuf_free(b);
                return 0;
        }
        free(p->last_user);
        p->last_user = b->data ? b->data : strdup("");
        *b = (struct strbuf)STRBUF_INIT(MOCK_MAX_BODY);
        return p->last_user ? 0 : -ENOMEM;
}

int prompt_add_messages(struct prompt *p, const json_t *messages, const char *const *roles)
{
        struct strbuf b = STRBUF_INIT(MOCK_MAX_BODY);
        size_t i;
        const json_t *m;
        json_array_foreach(messages, i, m) {
                const char *role = json_get_str(m, "role", "");
                bool candidate = false;
                for (const char *const *x = roles; *x; x++)
                        candidate |= !strcmp(role, *x);
                int r = prompt_add_content(&b, json_object_get(m, "content"));
                if (r >= 0)
                        r = prompt_text(p, &b, candidate);
                if (r < 0) {
                        strbuf_free(&b);
                        return r;
                }
        }
        return 0;
}

int prompt_finish(struct prompt *p)
{
        if (!p->last_user && !(p->last_user = strdup("")))
                return -ENOMEM;
        p->words = MAX(p->words, 1ul);
        return 0;
}

unsigned long count_words(const char *s)
{
        unsigned long n = 0;
        bool in_word = false;
        for (; s && *s; s++) {
                bool space = isspace((unsigned char)*s);
                if (!space && !in_word)
                        n++;
                in_word = !space;
        }
        return n;
}

int prompt_add_content(struct strbuf *b, const json_t *content)
{
        if (json_is_string(content))
                return strbuf_append(b, json_string_value(content), json_string_length(content));
        if (!json_is_array(content))
                return 0;
        size_t i;
        const json_t *part;
        json_array_foreach(content, i, part) {
                int r = 0;
                if (json_is_string(part))
                        r = strbuf_append(b, json_string_value(part), json_string_length(part));
                else if (json_is_object(part)) {
                        const char *type = json_get_str(part, "type", "");
                        const json_t *text = json_object_get(part, "text");
                        if (json_is_string(text) &&
                            (!strcmp(type, "text") || !strcmp(type, "input_text") ||
                             !strcmp(type, "output_text")))
                                r = strbuf_append(b, json_string_value(text),
                                                  json_string_length(text));
                        else if (!strcmp(type, "tool_result"))
                                r = prompt_add_content(b, json_object_get(part, "content"));
                }
                if (r < 0)
                        return r;
        }
        return 0;
}

static const struct {
        const char *text;
        enum fail_mode mode;
} fail_table[] = {
        { "fail:reset", FAIL_RESET },     { "fail:500", FAIL_500 },   { "fail:429", FAIL_429 },
        { "fail:401", FAIL_401 },         { "fail:529", FAIL_529 },   { "fail:slow", FAIL_SLOW },
        { "fail:garbage", FAIL_GARBAGE }, { "fail:hang", FAIL_HANG },
};

enum fail_mode fail_mode_of(const char *text)
{
        if (!text)
                return FAIL_NONE;
        while (isspace((unsigned char)*text))
                text++;
        for (size_t i = 0; i < ELEMENTSOF(fail_table); i++) {
                size_t n = strlen(fail_table[i].text);
                if (strncmp(text, fail_table[i].text, n) == 0 &&
                    (text[n] == '\0' || isspace((unsigned char)text[n])))
                        return fail_table[i].mode;
        }
        return FAIL_NONE;
}

static enum MHD_Result garbage(struct mock_req *r, enum mock_api api, bool stream)
{
        if (!stream) {
                static const char body[] = "this is not JSON {\"id\": ";
                struct MHD_Response *resp = MHD_create_response_from_buffer(
                        sizeof(body) - 1, (void *)body, MHD_RESPMEM_PERSISTENT);
                if (!resp)
                        return MHD_NO;
                MHD_add_response_header(resp, "content-type", "application/json");
                r->status = 200;
                enum MHD_Result ret = MHD_queue_response(r->conn, 200, resp);
                MHD_destroy_response(resp);
                return ret;
        }
        struct stream *s = stream_new(r);
        if (!s || stream_raw(s, "data: {\"id\": \"broken\", \"choices\": [\n\n"
                                "event: message_start\ndata: not json at all\n\n") < 0) {
                stream_free(s);
                return MHD_NO;
        }
        return stream_queue(r, api, s);
}

bool fail_handle(struct mock_req *r, enum mock_api api, enum fail_mode f, bool stream,
                 enum MHD_Result *ret)
{
        bool oa = api == API_OPENAI;
        switch (f) {
        case FAIL_NONE:
                return false;
        case FAIL_SLOW:
                if (wait_client(r->fd, mock_cfg.slow_ms))
                        return false;
                *ret = MHD_NO;
                return true;
        case FAIL_HANG:
                while (wait_client(r->fd, 1000))
                        ;
                *ret = MHD_NO;
                return true;
        case FAIL_RESET:
                if (stream)
                        return false; /* the stream builder breaks off after the first delta */
                *ret = MHD_NO;        /* MHD closes the connection without a response */
                return true;
        case FAIL_500:
                *ret = reply_error(r, api, 500, oa ? "server_error" : "api_error", NULL,
                                   "The server had an error while processing your request.");
                return true;
        case FAIL_429:
                *ret = reply_error(r, api, 429, oa ? "requests" : "rate_limit_error",
                                   oa ? "rate_limit_exceeded" : NULL,
                                   "Rate limit reached (mock). Please try again in 1s.");
                return true;
        case FAIL_401:
                *ret = reply_error(r, api, 401,
                                   oa ? "invalid_request_error" : "authentication_error",
                                   oa ? "invalid_api_key" : NULL, "Incorrect API key provided.");
                return true;
        case FAIL_529:
                *ret = reply_error(r, api, 529, oa ? "server_error" : "overloaded_error",
                                   NULL, "Overloaded");
                return true;
        case FAIL_GARBAGE:
                *ret = garbage(r, api, stream);
                return true;
        }
        return false;
}

void toolcall_done(struct toolcall *t)
{
        free(t->name);
        free(t->args);
        json_decref(t->input);
        *t = (struct toolcall){};
}

int toolcall_parse(const char *text, struct toolcall *ret)
{
        static const char prefix[] = "call_tool:";
        while (isspace((unsigned char)*text))
                text++;
        if (strncmp(text, prefix, sizeof(prefix) - 1) != 0)
                return 0;
        const char *name = text + sizeof(prefix) - 1;
        size_t nlen = 0;
        while (name[nlen] && !isspace((unsigned char)name[nlen]))
                nlen++;
        if (nlen == 0)
                return -EINVAL;
        const char *js = name + nlen;
        while (isspace((unsigned char)*js))
                js++;
        json_t *input = *js ? json_loads(js, 0, NULL) : json_object();
        if (!json_is_object(input)) {
                json_decref(input);
                return -EINVAL;
        }
        struct toolcall t = { .name = strndup(name, nlen), .input = input,
                              .args = json_dump_compact(input) };
        if (!t.name || !t.args) {
                toolcall_done(&t);
                return -ENOMEM;
        }
        *ret = t;
        return 1;
}

size_t split_utf8(const char *s, size_t len, size_t n, size_t *offs)
{
        size_t count = 0;
        offs[0] = 0;
        if (n == 0)
                n = 1;
        for (size_t i = 1; i < n; i++) {
                size_t t = len * i / n;
                while (t < len && ((unsigned char)s[t] & 0xC0) == 0x80)
                        t++;
                if (t <= offs[count] || t >= len)
                        continue;
                offs[++count] = t;
        }
        offs[++count] = len;
        return count;
}

char *echo_text(const char *text)
{
        struct strbuf b = STRBUF_INIT(MOCK_MAX_BODY + 64);
        char *ret = NULL;
        if (strbuf_appends(&b, "echo: ") < 0 || strbuf_appends(&b, text ? text : "") < 0 ||
            strbuf_steal(&b, &ret) < 0) {
                strbuf_free(&b);
                return NULL;
        }
        return ret;
}
