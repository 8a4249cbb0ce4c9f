/* Fuzz target: the modify filter's rule and condition lines, as a user
 * writes them. Each line of the input is one line of the program: a line
 * starting with `?` is a condition (the rest of it), any other a rule. Lines
 * that do not compile are refused with a message; the program made of the
 * others runs on a record with nested maps, an array, odd keys and a shared
 * `kubernetes` attachment. Whatever the lines, the record must keep unique
 * keys in every map, render as JSON, be as it was when the rules say they
 * changed nothing, and the attachment that other records share must not
 * change (a write below it copies it). */
#include "fuzz.h"

#include "json.h"
#include "json_parse.h"
#include "plugins/filter_modify/modify_rules.h"
#include "xalloc.h"

#include <stdlib.h>
#include <string.h>

/* Programs longer than this many lines find nothing more, only run slower. */
#define FUZZ_MODIFY_MAX_LINES 64

static const char *const record_json =
    "{\"log\":\"hello world\",\"stream\":\"stderr\",\"n\":3,\"f\":1.5,\"ok\":true,"
    "\"none\":null,\"empty\":\"\",\"dot.key\":\"d\",\"arr\":[1,\"two\",{\"k\":3}],"
    "\"nested\":{\"a\":{\"b\":1,\"c\":\"x\"},\"level\":\"info\"},\"tmp_a\":1,\"tmp_b\":2}";

static const char *const kube_json =
    "{\"pod_name\":\"web-1\",\"namespace_name\":\"prod\",\"labels\":{\"app\":\"web\","
    "\"app.kubernetes.io/name\":\"web\"},\"annotations\":{\"a\":\"1\"}}";

static void check_unique_keys(const struct value *v)
{
    if (v->type == VALUE_ARRAY) {
        for (uint32_t i = 0; i < v->as.array.count; i++)
            check_unique_keys(&v->as.array.items[i]);
        return;
    }
    if (v->type != VALUE_MAP)
        return;
    const struct value_map *map = &v->as.map;
    for (uint32_t i = 0; i < map->count; i++) {
        const struct value_string *key = &map->entries[i].key;
        for (uint32_t j = i + 1; j < map->count; j++) {
            const struct value_string *other = &map->entries[j].key;
            if (key->len == other->len && memcmp(key->ptr, other->ptr, key->len) == 0)
                abort();
        }
        check_unique_keys(&map->entries[i].value);
    }
}

/* The record's top level: fields and attachments must not share a key.
 * Leaves the record, attachments included, as JSON in `json`. */
static void check_record(const struct record *rec, struct buf *json)
{
    struct value fields = {.type = VALUE_MAP, .as.map = rec->fields};
    check_unique_keys(&fields);
    buf_reset(json);
    json_write_value(json, &fields, NULL);
    for (uint8_t i = 0; i < rec->attachment_count; i++) {
        const struct value_string *key = &rec->attachments[i]->key;
        if (value_map_get(&rec->fields, key->ptr, key->len))
            abort();
        check_unique_keys(&rec->attachments[i]->value);
        json_write_string(json, key->ptr, key->len, NULL);
        json_write_value(json, &rec->attachments[i]->value, NULL);
    }
}

static struct attachment *kube_attachment(void)
{
    struct value meta;
    if (json_parse(kube_json, strlen(kube_json), &meta, NULL) < 0)
        abort();
    return attachment_new("kubernetes", &meta);
}

static void compile_lines(struct modify_program *prog, const uint8_t *data, size_t size)
{
    size_t start = 0, lines = 0;
    while (start < size && lines < FUZZ_MODIFY_MAX_LINES) {
        const uint8_t *nl = memchr(data + start, '\n', size - start);
        size_t end = nl ? (size_t)(nl - data) : size;
        /* a line is a C string in the config; a NUL ends it there */
        char *line = xstrndup((const char *)data + start, end - start);
        bool condition = line[0] == '?';
        char *error = NULL;
        if (modify_add_line(prog, condition, condition ? line + 1 : line, &error) < 0) {
            if (!error)
                abort(); /* a refused line always says why */
            free(error);
        }
        free(line);
        start = end + 1;
        lines++;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct modify_program prog = {0};
    compile_lines(&prog, data, size);

    struct record rec;
    record_init(&rec);
    if (json_parse_object_into(record_json, strlen(record_json), &rec.fields, NULL) < 0)
        abort();
    struct attachment *kube = kube_attachment();
    struct value before = value_clone(&kube->value);
    if (record_attach(&rec, kube) < 0)
        abort();

    struct buf json = BUF_INIT, before_json = BUF_INIT;
    check_record(&rec, &before_json);
    bool changed = modify_apply(&prog, &rec);
    check_record(&rec, &json);
    /* "unchanged" is a promise: the record is as it was */
    if (!changed && (json.len != before_json.len || memcmp(json.data, before_json.data, json.len)))
        abort();
    /* again, on what the rules made of it */
    modify_apply(&prog, &rec);
    check_record(&rec, &json);
    if (!value_equal(&kube->value, &before))
        abort();

    buf_free(&json);
    buf_free(&before_json);
    value_free(&before);
    record_free(&rec);
    attachment_unref(kube);
    modify_program_free(&prog);
    return 0;
}
