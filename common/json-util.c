/* jansson helpers. Trust level: pure functions over already-parsed JSON. */
#include "common/json-util.h"

char *json_dump_compact(const json_t *j)
{
        return json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
}

const char *json_get_str(const json_t *obj, const char *key, const char *def)
{
        const json_t *v = json_object_get(obj, key);
        return json_is_string(v) ? json_string_value(v) : def;
}

long long json_get_int(const json_t *obj, const char *key, long long def)
{
        const json_t *v = json_object_get(obj, key);
        return json_is_integer(v) ? (long long)json_integer_value(v) : def;
}
