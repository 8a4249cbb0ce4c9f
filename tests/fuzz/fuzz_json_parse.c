/* Fuzz target: the JSON parser. Any input is parsed or rejected with a
 * message, without crashing or leaking. What parses is written back with the
 * JSON writer and must parse again to the same value, and it merges into a
 * map exactly when it is an object. The raw input is also written as a JSON
 * string, which must parse back to the input (or, with invalid UTF-8
 * replaced, to text that is written unchanged), the same by every
 * implementation of the escaper. */
#include "fuzz.h"

#include "buf.h"
#include "json.h"
#include "json_escape.h"
#include "json_parse.h"

#include <stdlib.h>
#include <string.h>

/* The writer's output parses to `v` again and is written identically. Only
 * invalid UTF-8, which the writer replaces by U+FFFD, may change the value
 * (replaced keys may even collapse): then the replaced value must round-trip
 * exactly. */
static void check_round_trip(const struct value *v, bool first)
{
    struct buf text = BUF_INIT;
    struct buf again = BUF_INIT;
    struct json_stats stats = {0};
    struct value reparsed;

    json_write_value(&text, v, &stats);
    if (json_parse(text.data, text.len, &reparsed, NULL) < 0)
        abort();
    if (stats.invalid_utf8 == 0) {
        json_write_value(&again, &reparsed, NULL);
        if (!value_equal(v, &reparsed) || again.len != text.len ||
            memcmp(again.data, text.data, text.len) != 0)
            abort();
    } else if (first) {
        check_round_trip(&reparsed, false);
    } else {
        abort();
    }
    value_free(&reparsed);
    buf_free(&again);
    buf_free(&text);
}

/* Merging into a map that holds "log" succeeds exactly for objects, and then
 * adds their members. */
static void check_object_into(const uint8_t *data, size_t size, const struct value *parsed, bool ok)
{
    struct value map = value_map_new();
    struct value log = value_cstring("line");
    value_map_set(&map.as.map, "log", 3, &log);
    char *error = NULL;
    int rc = json_parse_object_into((const char *)data, size, &map.as.map, &error);
    bool object = ok && parsed->type == VALUE_MAP;
    if ((rc == 0) != object || (rc < 0 && (!error || error[0] == '\0' || map.as.map.count != 1)))
        abort();
    free(error);
    if (object) {
        uint32_t want = parsed->as.map.count + !value_map_get(&parsed->as.map, "log", 3);
        if (map.as.map.count != want)
            abort();
    }
    value_free(&map);
}

/* Any bytes written as a JSON string: at most 6 bytes out per byte in, a
 * string the parser reads back, the input itself when nothing was replaced,
 * and a fixed point of the writer when something was. */
static void check_string(const uint8_t *data, size_t size)
{
    struct buf text = BUF_INIT, again = BUF_INIT;
    struct json_stats stats = {0};
    json_write_string(&text, (const char *)data, size, &stats);
    struct value v;
    if (text.len > 6 * size + 2 || json_parse(text.data, text.len, &v, NULL) < 0 ||
        v.type != VALUE_STRING)
        abort();
    if (stats.invalid_utf8 == 0 &&
        (v.as.string.len != size || (size && memcmp(v.as.string.ptr, data, size) != 0)))
        abort();
    struct json_stats again_stats = {0};
    json_write_string(&again, v.as.string.ptr, v.as.string.len, &again_stats);
    if (again_stats.invalid_utf8 != 0 || again.len != text.len ||
        memcmp(again.data, text.data, text.len) != 0)
        abort();
    value_free(&v);
    buf_free(&text);
    buf_free(&again);
}

/* Every implementation of the escaper's scan this machine runs (AVX2, SSE2,
 * portable: json_escape.h) writes the same bytes and counts the same
 * replacements, wherever the string starts in the buffer. */
static void check_implementations_agree(const uint8_t *data, size_t size)
{
    struct buf first = BUF_INIT, out = BUF_INIT;
    uint64_t first_invalid = 0;
    bool have_first = false;
    enum json_escape_impl best = json_escape_impl_current();
    for (int impl = 0; impl < JSON_ESCAPE_IMPL_COUNT; impl++) {
        if (json_escape_impl_force((enum json_escape_impl)impl) < 0)
            continue;
        struct json_stats stats = {0};
        buf_reset(&out);
        buf_append(&out, "[[[", 1 + (size_t)impl); /* a different alignment each */
        json_write_string(&out, (const char *)data, size, &stats);
        const char *text = out.data + 1 + impl;
        size_t len = out.len - 1 - (size_t)impl;
        if (!have_first) {
            buf_append(&first, text, len);
            first_invalid = stats.invalid_utf8;
            have_first = true;
        } else if (len != first.len || memcmp(text, first.data, len) != 0 ||
                   stats.invalid_utf8 != first_invalid) {
            abort();
        }
    }
    if (json_escape_impl_force(best) < 0)
        abort();
    buf_free(&first);
    buf_free(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *error = NULL;
    struct value parsed;
    bool ok = json_parse((const char *)data, size, &parsed, &error) == 0;
    if (!ok && (!error || error[0] == '\0' || parsed.type != VALUE_NULL))
        abort(); /* a rejected text must say why */
    free(error);
    if (ok)
        check_round_trip(&parsed, true);
    check_object_into(data, size, &parsed, ok);
    value_free(&parsed);
    check_string(data, size);
    check_implementations_agree(data, size);
    return 0;
}
