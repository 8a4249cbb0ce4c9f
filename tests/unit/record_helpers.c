/* Record and field-path helpers shared by test_record.c and
 * test_record_attachment.c: each parses its path, fails the test on a bad
 * one, and frees it. */
#include "record_helpers.h"

#include <check.h>
#include <string.h>

struct field_path path(const char *text)
{
    struct field_path p;
    char *error = NULL;
    int rc = field_path_parse(text, &p, &error);
    ck_assert_msg(rc == 0, "parse %s: %s", text, error ? error : "");
    return p;
}

const struct value *get(const struct record *rec, const char *text)
{
    struct field_path p = path(text);
    const struct value *v = record_get(rec, &p);
    field_path_free(&p);
    return v;
}

void set(struct record *rec, const char *text, struct value v)
{
    struct field_path p = path(text);
    record_set(rec, &p, &v);
    ck_assert_int_eq(v.type, VALUE_NULL);
    field_path_free(&p);
}

bool delete (struct record *rec, const char *text)
{
    struct field_path p = path(text);
    bool found = record_delete(rec, &p);
    field_path_free(&p);
    return found;
}

bool rename_path(struct record *rec, const char *from, const char *to)
{
    struct field_path f = path(from);
    struct field_path t = path(to);
    bool found = record_rename(rec, &f, &t);
    field_path_free(&f);
    field_path_free(&t);
    return found;
}

int64_t get_int(const struct record *rec, const char *text)
{
    const struct value *v = get(rec, text);
    ck_assert_msg(v != NULL, "%s missing", text);
    ck_assert_int_eq(v->type, VALUE_INT);
    return v->as.integer;
}

const char *get_str(const struct record *rec, const char *text)
{
    const struct value *v = get(rec, text);
    ck_assert_msg(v != NULL, "%s missing", text);
    ck_assert_int_eq(v->type, VALUE_STRING);
    return v->as.string.ptr;
}

/* The keys of a map joined with ',' into a static buffer. */
const char *keys(const struct value_map *map)
{
    static char text[256];
    text[0] = '\0';
    for (uint32_t i = 0; i < map->count; i++) {
        if (i)
            strcat(text, ",");
        strcat(text, map->entries[i].key.ptr);
    }
    return text;
}
