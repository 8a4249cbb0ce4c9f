/* Unit tests for the logfmt parser. Results are rendered as `key="value"` or
 * `key=true`, one space apart, with \n, \t, \r, \", \\ and \xNN escapes, so
 * each assertion shows the whole map. Lines are parsed from exact-size heap
 * copies, so that ASan catches a read past the end. */
#include "suites.h"

#include "buf.h"
#include "logfmt.h"
#include "xalloc.h"

#include <stdlib.h>
#include <string.h>

static struct buf rendered = BUF_INIT;

static void rendered_free(void)
{
    buf_free(&rendered);
}

static void render_string(struct buf *out, const struct value_string *s)
{
    buf_append_byte(out, '"');
    for (size_t i = 0; i < s->len; i++) {
        unsigned char c = (unsigned char)s->ptr[i];
        if (c == '\n')
            buf_append_str(out, "\\n");
        else if (c == '\t')
            buf_append_str(out, "\\t");
        else if (c == '\r')
            buf_append_str(out, "\\r");
        else if (c == '"' || c == '\\')
            buf_printf(out, "\\%c", c);
        else if (c < 0x20 || c >= 0x7f)
            buf_printf(out, "\\x%02x", c);
        else
            buf_append_byte(out, (char)c);
    }
    buf_append_byte(out, '"');
}

static const char *render(const struct value_map *map)
{
    buf_reset(&rendered);
    for (uint32_t i = 0; i < map->count; i++) {
        const struct map_entry *e = &map->entries[i];
        if (i > 0)
            buf_append_byte(&rendered, ' ');
        buf_append(&rendered, e->key.ptr, e->key.len);
        buf_append_byte(&rendered, '=');
        if (e->value.type == VALUE_STRING)
            render_string(&rendered, &e->value.as.string);
        else if (e->value.type == VALUE_BOOL && e->value.as.boolean)
            buf_append_str(&rendered, "true");
        else
            buf_printf(&rendered, "<%s>", value_type_name(e->value.type));
    }
    return buf_cstr(&rendered);
}

static int parse(const char *s, size_t len, struct value_map *map)
{
    char *copy = xmalloc(len ? len : 1);
    memcpy(copy, s, len);
    int rc = logfmt_parse(copy, len, map);
    free(copy);
    return rc;
}

static void check_len(const char *line, size_t len, const char *want)
{
    struct value_map map = {0};
    ck_assert_msg(parse(line, len, &map) == 0, "%s: rejected", line);
    ck_assert_str_eq(render(&map), want);
    value_map_free(&map);
}

static void check(const char *line, const char *want)
{
    check_len(line, strlen(line), want);
}

/* A rejected line leaves a map that already held fields as it was. */
static void check_bad(const char *line)
{
    struct value_map map = {0};
    struct value v = value_cstring("kept");
    value_map_set(&map, "a", 1, &v);
    ck_assert_msg(parse(line, strlen(line), &map) == -1, "%s: accepted", line);
    ck_assert_str_eq(render(&map), "a=\"kept\"");
    value_map_free(&map);
}

START_TEST(test_pairs)
{
    check("level=info msg=\"a b\" took=3ms flag",
          "level=\"info\" msg=\"a b\" took=\"3ms\" flag=true");
    check("a=1", "a=\"1\"");
    check("flag", "flag=true");
    check("a b c", "a=true b=true c=true");
    check("a= b=", "a=\"\" b=\"\"");
    check("a=", "a=\"\"");
    check("a=\"\"", "a=\"\"");
    check("a=\"\" b", "a=\"\" b=true");
    check("", "");
    check("   ", "");
}
END_TEST

START_TEST(test_whitespace)
{
    check("  a=1   b=2  ", "a=\"1\" b=\"2\"");
    check("\ta=1\t\tb=\"x y\"\t", "a=\"1\" b=\"x y\"");
    check("a=1\r\n", "a=\"1\"");
    check("a=\"1\"\nb", "a=\"1\" b=true");
    check("a=\"\t x \t\"", "a=\"\\t x \\t\"");
}
END_TEST

START_TEST(test_bare_values)
{
    /* A bare value runs to the next whitespace, '=' and '"' included. */
    check("a=b=c", "a=\"b=c\"");
    check("a=b\"c d", "a=\"b\\\"c\" d=true");
    check("url=http://x/?q=1&r=2", "url=\"http://x/?q=1&r=2\"");
    check("a==", "a=\"=\"");
    check("k.with-dots_and/slashes=v", "k.with-dots_and/slashes=\"v\"");
    check("caf\xc3\xa9=\xe2\x82\xac", "caf\xc3\xa9=\"\\xe2\\x82\\xac\"");
    check_len("k=a\0b", 5, "k=\"a\\x00b\"");
}
END_TEST

START_TEST(test_escapes)
{
    check("m=\"say \\\"hi\\\"\"", "m=\"say \\\"hi\\\"\"");
    check("m=\"a\\\\b\"", "m=\"a\\\\b\"");
    check("m=\"l1\\nl2\\tx\\ry\"", "m=\"l1\\nl2\\tx\\ry\"");
    /* Unknown escapes keep their backslash. */
    check("m=\"\\x41 \\u00e9 \\/\"", "m=\"\\\\x41 \\\\u00e9 \\\\/\"");
    check("m=\"\\\\\"", "m=\"\\\\\"");
    check("m=\"a=b c=d\"", "m=\"a=b c=d\"");
    /* Escapes mean nothing outside quotes. */
    check("m=a\\nb", "m=\"a\\\\nb\"");
}
END_TEST

START_TEST(test_duplicates)
{
    /* The last value wins, at the first key's position. */
    check("a=1 b=2 a=3", "a=\"3\" b=\"2\"");
    check("a a=x", "a=\"x\"");
    check("a=x a", "a=true");
}
END_TEST

START_TEST(test_appends)
{
    struct value_map map = {0};
    struct value v = value_cstring("old");
    value_map_set(&map, "x", 1, &v);
    v = value_int(7);
    value_map_set(&map, "a", 1, &v);
    const char *line = "a=new y";
    ck_assert_int_eq(parse(line, strlen(line), &map), 0);
    ck_assert_str_eq(render(&map), "x=\"old\" a=\"new\" y=true");
    value_map_free(&map);
}
END_TEST

START_TEST(test_malformed)
{
    check_bad("a=\"unterminated");
    check_bad("a=\"");
    check_bad("a=\"x\\\"");
    check_bad("a=\"x\\");
    check_bad("=x");
    check_bad("a=1 =2");
    check_bad("=");
    check_bad("\"k\"=v");
    check_bad("b=1 \"k\"");
    check_bad("key\"x\"");
    check_bad("a=\"x\"y");
    check_bad("a=\"x\"\"y\"");
    check_bad("a=\"x\"=");
    /* Pairs before the fault are not added either. */
    check_bad("b=1 c=2 d=\"open");
}
END_TEST

/* Whether a prefix of `line` ends inside a quoted value. */
static bool ends_in_quote(const char *line, size_t len)
{
    bool quoted = false;
    for (size_t i = 0; i < len; i++) {
        if (quoted && line[i] == '\\')
            i++;
        else if (line[i] == '"')
            quoted = !quoted;
    }
    return quoted;
}

START_TEST(test_truncated_everywhere)
{
    const char *line = "level=info msg=\"a \\\"b\\\" c\\\\\" took=3ms flag empty= x=\"\\n\"";
    size_t full = strlen(line);
    for (size_t len = 0; len <= full; len++) {
        struct value_map map = {0};
        int rc = parse(line, len, &map);
        int want = ends_in_quote(line, len) ? -1 : 0;
        ck_assert_msg(rc == want, "prefix of %zu: %d, want %d", len, rc, want);
        if (rc < 0)
            ck_assert_uint_eq(map.count, 0);
        value_map_free(&map);
    }
    check(line, "level=\"info\" msg=\"a \\\"b\\\" c\\\\\" took=\"3ms\" flag=true empty=\"\" "
                "x=\"\\n\"");
}
END_TEST

Suite *logfmt_suite(void)
{
    Suite *s = suite_create("logfmt");
    TCase *tc = tcase_create("parse");
    tcase_add_test(tc, test_pairs);
    tcase_add_test(tc, test_whitespace);
    tcase_add_test(tc, test_bare_values);
    tcase_add_test(tc, test_escapes);
    tcase_add_test(tc, test_duplicates);
    tcase_add_test(tc, test_appends);
    tcase_add_test(tc, test_malformed);
    tcase_add_test(tc, test_truncated_everywhere);
    tcase_add_checked_fixture(tc, NULL, rendered_free);
    suite_add_tcase(s, tc);
    return s;
}
