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

/* The integer as decimal text when it is long enough to be a card number,
 * or any integer under a key that names a secret. */
static size_t card_int_text(int64_t i, bool secret, char *text, size_t size)
{
    if (!secret && i < CARD_INT_MIN)
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

/* What to replace in `text`: all of it when its field's key names a secret
 * (`label` >= 0), else what the detectors (and rules, unless
 * `detectors_only`) find in it. */
static size_t find(struct redact_walk *walk, const char *text, size_t len, int label,
                   bool detectors_only)
{
    if (label >= 0)
        return redact_engine_find_whole(walk->engine, text, len, (uint32_t)label);
    return redact_engine_find(walk->engine, text, len, detectors_only);
}

static size_t redact_string(struct redact_walk *walk, struct value *v, int label)
{
    const struct value_string *s = &v->as.string;
    size_t n = find(walk, s->ptr, s->len, label, false);
    if (n > 0)
        replace_with_text(walk, v, s->ptr, s->len);
    return n;
}

/* A card number logged as a JSON number, or a number under a key that
 * names a secret, becomes the replacement's text. */
static size_t redact_int(struct redact_walk *walk, struct value *v, int label)
{
    char text[24];
    size_t len = card_int_text(v->as.integer, label >= 0, text, sizeof text);
    size_t n = len ? find(walk, text, len, label, true) : 0;
    if (n > 0)
        replace_with_text(walk, v, text, len);
    return n;
}

static int key_label(const struct redact_walk *walk, const struct value_string *key)
{
    return redact_engine_key_label(walk->engine, key->ptr, key->len);
}

/* `label`: what the value's key names (-1: nothing); array items inherit it,
 * a map's entries have keys of their own. */
static size_t walk_value(struct redact_walk *walk, struct value *v, int label)
{
    size_t n = 0;
    switch (v->type) {
    case VALUE_STRING:
        return redact_string(walk, v, label);
    case VALUE_INT:
        return redact_int(walk, v, label);
    case VALUE_MAP:
        for (uint32_t i = 0; i < v->as.map.count; i++) {
            struct map_entry *entry = &v->as.map.entries[i];
            n += walk_value(walk, &entry->value, key_label(walk, &entry->key));
        }
        return n;
    case VALUE_ARRAY:
        for (uint32_t i = 0; i < v->as.array.count; i++)
            n += walk_value(walk, &v->as.array.items[i], label);
        return n;
    default:
        return 0;
    }
}

static bool finds(struct redact_walk *walk, const struct value *v, int label)
{
    char text[24];
    size_t len;
    switch (v->type) {
    case VALUE_STRING:
        return find(walk, v->as.string.ptr, v->as.string.len, label, false) > 0;
    case VALUE_INT:
        len = card_int_text(v->as.integer, label >= 0, text, sizeof text);
        return len && find(walk, text, len, label, true) > 0;
    case VALUE_MAP:
        for (uint32_t i = 0; i < v->as.map.count; i++) {
            const struct map_entry *entry = &v->as.map.entries[i];
            if (finds(walk, &entry->value, key_label(walk, &entry->key)))
                return true;
        }
        return false;
    case VALUE_ARRAY:
        for (uint32_t i = 0; i < v->as.array.count; i++)
            if (finds(walk, &v->as.array.items[i], label))
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
    int label = key_label(walk, &a->key);
    if (!finds(walk, &a->value, label))
        return entry;
    struct value copy = value_clone(&a->value);
    uint32_t *record_counts = walk->counts;
    walk->counts = entry->counts;
    walk_value(walk, &copy, label);
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
    for (uint32_t i = 0; i < rec->fields.count; i++) {
        struct map_entry *entry = &rec->fields.entries[i];
        n += walk_value(walk, &entry->value, key_label(walk, &entry->key));
    }
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
        int label = key_label(walk, &paths[i].segments[paths[i].count - 1]);
        if (!v || !finds(walk, v, label))
            continue;
        struct value copy = value_clone(v);
        n += walk_value(walk, &copy, label);
        record_set(rec, &paths[i], &copy);
    }
    return n;
}
