/* The redact filter on a record's values: see redact_record.h. */
#include "redact_record.h"

#include "xalloc.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The smallest integer with as many digits as the shortest card number. */
#define CARD_INT_MIN 1000000000000LL

void redact_walk_init(struct redact_walk *walk, struct redact_engine *engine)
{
    memset(walk, 0, sizeof *walk);
    walk->engine = engine;
    walk->label_count = redact_engine_label_count(engine);
    walk->counts = xcalloc(walk->label_count, sizeof *walk->counts);
}

static void entry_clear(struct redact_cache_entry *entry)
{
    attachment_unref(entry->original);
    attachment_unref(entry->redacted);
    free(entry->counts);
    memset(entry, 0, sizeof *entry);
}

void redact_walk_free(struct redact_walk *walk)
{
    for (size_t i = 0; i < REDACT_CACHE_SLOTS; i++)
        entry_clear(&walk->cache[i]);
    free(walk->counts);
    buf_free(&walk->text);
    walk->counts = NULL;
}

/* The integer as decimal text when it is long enough to be a card number. */
static size_t card_int_text(int64_t i, char *text, size_t size)
{
    if (i < CARD_INT_MIN)
        return 0;
    int n = snprintf(text, size, "%" PRId64, i);
    return n > 0 && (size_t)n < size ? (size_t)n : 0;
}

/* Replaces *v by the text of the last find written out. */
static void replace_with_text(struct redact_walk *walk, struct value *v, const char *text,
                              size_t len)
{
    buf_reset(&walk->text);
    redact_engine_write(walk->engine, text, len, &walk->text, walk->counts);
    struct value replaced = value_string(walk->text.data ? walk->text.data : "", walk->text.len);
    value_free(v);
    *v = replaced;
}

static size_t redact_string(struct redact_walk *walk, struct value *v)
{
    const struct value_string *s = &v->as.string;
    size_t n = redact_engine_find(walk->engine, s->ptr, s->len, false);
    if (n > 0)
        replace_with_text(walk, v, s->ptr, s->len);
    return n;
}

/* A card number logged as a JSON number becomes the replacement's text. */
static size_t redact_int(struct redact_walk *walk, struct value *v)
{
    char text[24];
    size_t len = card_int_text(v->as.integer, text, sizeof text);
    size_t n = len ? redact_engine_find(walk->engine, text, len, true) : 0;
    if (n > 0)
        replace_with_text(walk, v, text, len);
    return n;
}

size_t redact_walk_value(struct redact_walk *walk, struct value *v)
{
    size_t n = 0;
    switch (v->type) {
    case VALUE_STRING:
        return redact_string(walk, v);
    case VALUE_INT:
        return redact_int(walk, v);
    case VALUE_MAP:
        for (uint32_t i = 0; i < v->as.map.count; i++)
            n += redact_walk_value(walk, &v->as.map.entries[i].value);
        return n;
    case VALUE_ARRAY:
        for (uint32_t i = 0; i < v->as.array.count; i++)
            n += redact_walk_value(walk, &v->as.array.items[i]);
        return n;
    default:
        return 0;
    }
}

bool redact_walk_finds(struct redact_walk *walk, const struct value *v)
{
    char text[24];
    size_t len;
    switch (v->type) {
    case VALUE_STRING:
        return redact_engine_find(walk->engine, v->as.string.ptr, v->as.string.len, false) > 0;
    case VALUE_INT:
        len = card_int_text(v->as.integer, text, sizeof text);
        return len && redact_engine_find(walk->engine, text, len, true) > 0;
    case VALUE_MAP:
        for (uint32_t i = 0; i < v->as.map.count; i++)
            if (redact_walk_finds(walk, &v->as.map.entries[i].value))
                return true;
        return false;
    case VALUE_ARRAY:
        for (uint32_t i = 0; i < v->as.array.count; i++)
            if (redact_walk_finds(walk, &v->as.array.items[i]))
                return true;
        return false;
    default:
        return false;
    }
}

static size_t cache_slot(const struct attachment *a)
{
    return (size_t)(((uint64_t)(uintptr_t)a * 0x9e3779b97f4a7c15ull) >> 56) % REDACT_CACHE_SLOTS;
}

/* The entry of attachment `a`, made (checked, and redacted when needed) on
 * a miss, replacing what the slot held. */
static struct redact_cache_entry *cache_get(struct redact_walk *walk, struct attachment *a)
{
    struct redact_cache_entry *entry = &walk->cache[cache_slot(a)];
    if (entry->original == a)
        return entry;
    entry_clear(entry);
    entry->original = attachment_ref(a);
    entry->counts = xcalloc(walk->label_count, sizeof *entry->counts);
    if (!redact_walk_finds(walk, &a->value))
        return entry;
    struct value copy = value_clone(&a->value);
    uint32_t *record_counts = walk->counts;
    walk->counts = entry->counts;
    redact_walk_value(walk, &copy);
    walk->counts = record_counts;
    entry->redacted = attachment_new(a->key.ptr, &copy);
    return entry;
}

static size_t add_counts(struct redact_walk *walk, const uint32_t *counts)
{
    size_t n = 0;
    for (uint32_t i = 0; i < walk->label_count; i++) {
        walk->counts[i] += counts[i];
        n += counts[i];
    }
    return n;
}

size_t redact_walk_record(struct redact_walk *walk, struct record *rec)
{
    size_t n = 0;
    for (uint32_t i = 0; i < rec->fields.count; i++)
        n += redact_walk_value(walk, &rec->fields.entries[i].value);
    for (uint8_t i = 0; i < rec->attachment_count; i++) {
        struct redact_cache_entry *entry = cache_get(walk, rec->attachments[i]);
        if (!entry->redacted)
            continue;
        /* Same key: it takes the original's place in the record. */
        record_attach(rec, entry->redacted);
        n += add_counts(walk, entry->counts);
    }
    return n;
}

size_t redact_walk_paths(struct redact_walk *walk, struct record *rec,
                         const struct field_path *paths, size_t count)
{
    size_t n = 0;
    for (size_t i = 0; i < count; i++) {
        const struct value *v = record_get(rec, &paths[i]);
        if (!v || !redact_walk_finds(walk, v))
            continue;
        struct value copy = value_clone(v);
        n += redact_walk_value(walk, &copy);
        record_set(rec, &paths[i], &copy);
    }
    return n;
}
