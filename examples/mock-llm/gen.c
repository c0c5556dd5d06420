/* mock-llm generation: the preamble every generating endpoint shares (fail: modes, then the echo
 * or the scripted tool call, token counts) and the pieces its stream is cut into.
 * Trust level: reads untrusted request JSON (already parsed, bounded by main.c). */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/macro.h"
#include "mock-llm.h"

bool gen_prepare(struct mock_req *r, enum mock_api api, struct gen *g, struct prompt *p,
                 bool tools, enum MHD_Result *ret)
{
        g->created = (json_int_t)time(NULL);
        g->in = (json_int_t)p->words;
        g->fail = fail_mode_of(p->last_user);
        if (fail_handle(r, api, g->fail, g->stream, ret)) {
                prompt_done(p);
                return true;
        }
        int k = tools ? toolcall_parse(p->last_user, &g->tool) : 0;
        if (k < 0) {
                prompt_done(p);
                *ret = reply_error(r, api, 400, "invalid_request_error", NULL,
                                   "call_tool: needs a tool name and a JSON object");
                return true;
        }
        if (k == 0) {
                g->reply = echo_text(p->last_user);
                prompt_done(p);
                if (!g->reply) {
                        *ret = MHD_NO;
                        return true;
                }
                g->out = (json_int_t)count_words(g->reply);
        } else {
                prompt_done(p);
                g->out = (json_int_t)(count_words(g->tool.name) + count_words(g->tool.args));
        }
        return false;
}

void gen_done(struct gen *g)
{
        free(g->reply);
        toolcall_done(&g->tool);
}

const char *gen_text(const struct gen *g)
{
        return g->tool.name ? g->tool.args : g->reply;
}

size_t *gen_pieces(const struct gen *g, size_t *ret_n)
{
        const char *text = gen_text(g);
        size_t want = g->tool.name ? MAX(mock_cfg.chunks, 2u) : mock_cfg.chunks;
        size_t *offs = calloc(want + 1, sizeof(size_t));
        if (offs)
                *ret_n = split_utf8(text, strlen(text), want, offs);
        return offs;
}
