/* For the unit tests of filter plugins: see filter_harness.h. */
#include "filter_harness.h"

#include "buf.h"
#include "cfg_node.h"
#include "json.h"
#include "json_parse.h"
#include "loop.h"
#include "options.h"
#include "xalloc.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

void filter_harness_open(struct filter_harness *h, const char *name, const char *yaml)
{
    memset(h, 0, sizeof *h);
    const struct plugin *plugin = plugin_find(name, PLUGIN_FILTER);
    ck_assert_ptr_nonnull(plugin);
    struct cfg_node *root = cfg_parse_string("t.yaml", yaml, strlen(yaml), &h->diags);
    ck_assert_ptr_nonnull(root);
    h->options = xcalloc(1, plugin->options_size);
    struct option_target target = {plugin->options, h->options};
    h->validated = options_apply(&target, 1, root, "filter", NULL, &h->diags);
    if (h->validated == 0 && plugin->validate)
        h->validated = plugin->validate(h->options, root, "filter", &h->diags);
    cfg_node_free(root);
    h->instance.plugin = plugin;
    h->instance.alias = name;
    h->instance.options = h->options;
    /* Never run: its clock stays at the time it was made. */
    h->instance.loop = loop_create();
    if (h->validated == 0 && plugin->init)
        ck_assert_int_eq(plugin->init(&h->instance), 0);
}

void filter_harness_close(struct filter_harness *h)
{
    if (h->validated == 0 && h->instance.plugin->destroy)
        h->instance.plugin->destroy(&h->instance);
    loop_destroy(h->instance.loop);
    options_free(h->instance.plugin->options, h->options);
    free(h->options);
    diag_free(&h->diags);
}

const char *filter_harness_diag(const struct filter_harness *h)
{
    return h->diags.count > 0 ? h->diags.messages[0] : "";
}

void filter_harness_record(struct record *rec, const char *json)
{
    char *error = NULL;
    record_init(rec);
    int rc = json_parse_object_into(json, strlen(json), &rec->fields, &error);
    ck_assert_msg(rc == 0, "%s: %s", json, error ? error : "");
}

void filter_harness_record_lent(struct record *rec, struct record_text *text, const char *json)
{
    struct record parsed;
    filter_harness_record(&parsed, json);
    record_init(rec);
    record_reuse_now(rec, text);
    for (uint32_t i = 0; i < parsed.fields.count; i++) {
        struct map_entry *e = &parsed.fields.entries[i];
        if (e->value.type == VALUE_STRING)
            record_set_text(rec, e->key.ptr, e->key.len, e->value.as.string.ptr,
                            e->value.as.string.len);
        else
            value_map_set(&rec->fields, e->key.ptr, e->key.len, &e->value);
    }
    record_free(&parsed);
}

void filter_harness_attach(struct record *rec, const char *key, const char *json)
{
    struct value v;
    char *error = NULL;
    int rc = json_parse(json, strlen(json), &v, &error);
    ck_assert_msg(rc == 0, "%s: %s", json, error ? error : "");
    struct attachment *a = attachment_new(key, &v);
    ck_assert_int_eq(record_attach(rec, a), 0);
    attachment_unref(a);
}

char *filter_harness_run(struct filter_harness *h, struct record *rec)
{
    ck_assert_int_eq(h->validated, 0);
    ck_assert_int_eq(h->instance.plugin->filter(&h->instance, NULL, "t", rec), FILTER_KEEP);
    struct value all = value_map_new();
    for (uint32_t i = 0; i < rec->fields.count; i++) {
        struct value copy = value_clone(&rec->fields.entries[i].value);
        const struct value_string *key = &rec->fields.entries[i].key;
        value_map_set(&all.as.map, key->ptr, key->len, &copy);
    }
    for (uint8_t i = 0; i < rec->attachment_count; i++) {
        struct value copy = value_clone(&rec->attachments[i]->value);
        const struct value_string *key = &rec->attachments[i]->key;
        value_map_set(&all.as.map, key->ptr, key->len, &copy);
    }
    struct buf out = {0};
    json_write_value(&out, &all, NULL);
    value_free(&all);
    char *text = xstrdup(buf_cstr(&out));
    buf_free(&out);
    return text;
}

void filter_harness_expect(const char *name, const char *yaml, const char *json,
                           const char *expected)
{
    struct filter_harness h;
    struct record rec;
    filter_harness_open(&h, name, yaml);
    filter_harness_record(&rec, json);
    char *got = filter_harness_run(&h, &rec);
    ck_assert_str_eq(got, expected);
    free(got);
    record_free(&rec);
    /* Again with the strings lent by a text store, as tail's records have
     * them (record_set_text): a filter changing one must not free it. */
    struct record_text text;
    record_text_init(&text);
    filter_harness_record_lent(&rec, &text, json);
    got = filter_harness_run(&h, &rec);
    ck_assert_msg(strcmp(got, expected) == 0, "lent strings: %s != %s", got, expected);
    free(got);
    record_free(&rec);
    record_text_free(&text);
    filter_harness_close(&h);
}

void filter_harness_expect_error(const char *name, const char *yaml, const char *message)
{
    struct filter_harness h;
    filter_harness_open(&h, name, yaml);
    ck_assert_int_eq(h.validated, -1);
    ck_assert_str_eq(filter_harness_diag(&h), message);
    filter_harness_close(&h);
}
