/* Fuzz target: proxy/sse.c fed untrusted bytes in varying slices (first byte picks the slicing). */
#include <assert.h>
#include <stdint.h>
#include <string.h>

#include "proxy/sse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int cb(const struct sse_event *ev, void *userdata)
{
        assert(ev->event && ev->data);
        assert(ev->data[ev->data_len] == '\0');
        assert(ev->data_len <= SSE_DATA_MAX);
        assert(strlen(ev->event) <= SSE_NAME_MAX);
        (*(size_t *)userdata)++;
        return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        if (size == 0)
                return 0;
        size_t step = (size_t)data[0] % 7 + 1, n = 0;
        data++;
        size--;
        _cleanup_(sse_parser_freep) struct sse_parser *p = NULL;
        if (sse_parser_new(&p) < 0)
                return 0;
        int r = 0;
        for (size_t i = 0; i < size && r == 0; i += step)
                r = sse_parser_feed(p, data + i, size - i < step ? size - i : step, cb, &n);
        if (r == 0)
                sse_parser_finish(p, cb, &n);
        return 0;
}
