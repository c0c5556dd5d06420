/* Fuzz target: request and response translation, both directions, on untrusted JSON. */
#include <stdint.h>
#include <string.h>

#include "common/json-util.h"
#include "proxy/translate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        json_error_t jerr;
        _cleanup_json_ json_t *j = json_loadb((const char *)data, size, 0, &jerr);
        if (!j)
                return 0;
        struct translate_request_opts ro = { .model = "m", .default_max_tokens = 100 };
        struct translate_response_opts po = { .id = NULL, .model = NULL, .created = 1 };
        struct api_error err;
        struct llm_usage u;
        json_t *out = NULL;

        if (translate_request_openai_to_anthropic(j, &ro, &out, &err) == 0) {
                /* Whatever we produce must round-trip through the reverse direction. */
                json_t *back = NULL;
                if (translate_request_anthropic_to_openai(out, &ro, &back, &err) == 0)
                        json_decref(back);
                json_decref(out);
        }
        if (translate_request_anthropic_to_openai(j, &ro, &out, &err) == 0)
                json_decref(out);
        if (translate_response_anthropic_to_openai(j, &po, &out, &u) == 0)
                json_decref(out);
        if (translate_response_openai_to_anthropic(j, &po, &out, &u) == 0)
                json_decref(out);
        memset(&u, 0, sizeof(u));
        usage_from_anthropic(j, &u);
        usage_from_openai(j, &u);
        api_error_from_upstream(&err, 400, data, size, "5");
        return 0;
}
