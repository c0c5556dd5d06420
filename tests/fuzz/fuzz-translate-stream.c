/* Fuzz target: stream translation (both directions) and the usage observer over untrusted SSE
 * bytes. First byte: direction, include_usage, clean end, slice size. */
#include <assert.h>
#include <stdint.h>
#include <string.h>

#include "common/strbuf.h"
#include "proxy/translate.h"
#include "proxy/usage.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        if (size == 0)
                return 0;
        uint8_t ctl = data[0];
        data++;
        size--;
        enum translate_dir dir = ctl & 1 ? TRANSLATE_OPENAI_TO_ANTHROPIC : TRANSLATE_ANTHROPIC_TO_OPENAI;
        struct translate_stream_opts o = { .id = "id", .model = "m", .created = 1,
                                           .include_usage = ctl & 2 };
        bool clean = ctl & 4;
        size_t step = (size_t)(ctl >> 3) + 1;

        _cleanup_(translate_stream_freep) struct translate_stream *s = NULL;
        _cleanup_(usage_observer_freep) struct usage_observer *obs = NULL;
        if (translate_stream_new(&s, dir, &o) < 0 ||
            usage_observer_new(&obs, ctl & 1 ? LLM_API_OPENAI : LLM_API_ANTHROPIC) < 0)
                return 0;
        struct strbuf out = STRBUF_INIT(8 * 1024 * 1024);
        for (size_t i = 0; i < size; i += step) {
                size_t n = size - i < step ? size - i : step;
                int r = translate_stream_feed(s, data + i, n, &out);
                assert(r == 0 || r == -EBADMSG || r == -E2BIG || r == -ENOMEM);
                usage_observer_feed(obs, data + i, n);
        }
        translate_stream_finish(s, clean, &out);
        /* Every stream ends closed: done, and the output is whole SSE events. */
        assert(translate_stream_done(s) || out.len >= out.max - 4096);
        if (translate_stream_done(s) && out.len > 0)
                assert(out.len >= 2 && memcmp(out.data + out.len - 2, "\n\n", 2) == 0);
        struct usage_result res;
        usage_observer_result(obs, &res);
        struct llm_usage u;
        translate_stream_usage(s, &u);
        strbuf_free(&out);
        return 0;
}
