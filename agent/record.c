/* Records and their path API (see record.h): reads go through shared
 * attachments, writes below an attachment's key copy it into the record first.
 * Not the encoding of records in chunks (codec.c) nor path parsing
 * (field_path.c). */
#include "record.h"

#include "json.h"

#include "xalloc.h"

#include <stdlib.h>
#include <time.h>
#include <string.h>

/* Under ASan the part of a text store that lends nothing is poisoned, so that
 * a borrowed string read after its record was cleared is reported. */
#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define TEXT_POISON(p, n) ASAN_POISON_MEMORY_REGION(p, n)
#define TEXT_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION(p, n)
#else
#define TEXT_POISON(p, n) ((void)(p), (void)(n))
#define TEXT_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

void record_init(struct record *rec)
{
    *rec = (struct record){0};
}

struct record_time record_time_now(void)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    return (struct record_time){.sec = now.tv_sec, .nsec = (uint32_t)now.tv_nsec};
}

void record_init_now(struct record *rec)
{
    record_init(rec);
    rec->time = record_time_now();
}

/* A store starts at this size; RECORD_TEXT_MAX bounds it: a longer line's
 * texts get mallocs of their own. */
enum { RECORD_TEXT_INITIAL = 4096, RECORD_TEXT_MAX = 64 * 1024 };

void record_text_init(struct record_text *text)
{
    *text = (struct record_text){.data = xmalloc(RECORD_TEXT_INITIAL), .cap = RECORD_TEXT_INITIAL};
    TEXT_POISON(text->data, text->cap);
}

void record_text_free(struct record_text *text)
{
    TEXT_UNPOISON(text->data, text->cap);
    free(text->data);
    *text = (struct record_text){0};
}

/* Called with nothing lent, so the store may move. */
static void record_text_reset(struct record_text *text)
{
    if (text->wanted > text->cap && text->cap < RECORD_TEXT_MAX) {
        size_t cap = text->cap;
        while (cap < text->wanted && cap < RECORD_TEXT_MAX)
            cap *= 2;
        record_text_free(text);
        text->data = xmalloc(cap);
        text->cap = cap;
    }
    TEXT_POISON(text->data, text->cap);
    text->len = 0;
    text->wanted = 0;
}

static void record_drop_attachments(struct record *rec)
{
    for (uint8_t i = 0; i < rec->attachment_count; i++)
        attachment_unref(rec->attachments[i]);
}

void record_free(struct record *rec)
{
    value_map_free(&rec->fields);
    record_drop_attachments(rec);
    if (rec->text)
        record_text_reset(rec->text);
    record_init(rec);
}

void record_clear(struct record *rec)
{
    struct value_map fields = rec->fields;
    struct record_text *text = rec->text;
    value_map_clear(&fields);
    record_drop_attachments(rec);
    if (text)
        record_text_reset(text);
    record_init(rec);
    rec->fields = fields;
    rec->text = text;
}

/* The record is empty (new, cleared or freed: zeroed but for the room its
 * field map kept), so only the time and the store are set: zeroing it again
 * for each line showed in profiles. */
void record_reuse(struct record *rec, struct record_text *text, struct record_time time)
{
    rec->time = time;
    rec->text = text;
}

void record_reuse_now(struct record *rec, struct record_text *text)
{
    record_reuse(rec, text, record_time_now());
}

void record_done(struct record *rec)
{
    if (rec->text)
        record_clear(rec);
    else
        record_free(rec);
}

/* Copies every string the fields borrow from the store. */
static void record_own_fields(struct record *rec)
{
    struct value fields = {.type = VALUE_MAP, .as.map = rec->fields};
    value_own(&fields);
    rec->fields = fields.as.map;
}

void record_move(struct record *to, struct record *from)
{
    struct record_text *text = from->text;
    *to = *from;
    to->text = NULL;
    record_own_fields(to);
    if (text)
        record_text_reset(text);
    record_init(from);
    from->text = text;
}

void record_copy(struct record *to, const struct record *from)
{
    struct value fields = {.type = VALUE_MAP, .as.map = from->fields};
    *to = *from;
    to->fields = value_clone(&fields).as.map;
    to->text = NULL;
    for (uint8_t i = 0; i < to->attachment_count; i++)
        attachment_ref(to->attachments[i]);
}

/* A NUL-terminated copy of s[0..len) in the store, or NULL if it does not fit
 * (noted, so that the store grows at the next clear). */
static char *record_text_lend(struct record_text *text, const char *s, size_t len)
{
    if (!text)
        return NULL;
    text->wanted += len + 1;
    if (text->cap - text->len < len + 1)
        return NULL;
    char *p = text->data + text->len;
    TEXT_UNPOISON(p, len + 1);
    if (len)
        memcpy(p, s, len);
    p[len] = '\0';
    text->len += len + 1;
    return p;
}

void record_set_text(struct record *rec, const char *key, size_t key_len, const char *text,
                     size_t len)
{
    char *lent = record_text_lend(rec->text, text, len);
    struct value v = lent ? (struct value){.type = VALUE_STRING,
                                           .borrowed = true,
                                           .as.string = {.ptr = lent, .len = len}}
                          : value_string(text, len);
    /* Lent even if the key is there already (the entry keeps its own then):
     * a few bytes spent on a rare replacement save a second search. */
    char *lent_key = record_text_lend(rec->text, key, key_len);
    if (lent_key)
        value_map_set_borrowed_key(&rec->fields, lent_key, key_len, &v);
    else
        value_map_set(&rec->fields, key, key_len, &v);
}

struct attachment *attachment_new(const char *key, struct value *value)
{
    struct attachment *a = xmalloc(sizeof *a);
    atomic_init(&a->refs, 1);
    a->key = (struct value_string){.ptr = xstrdup(key), .len = strlen(key)};
    a->value = *value;
    *value = value_null();
    struct buf json = BUF_INIT;
    json_write_value(&json, &a->value, NULL);
    a->json_len = json.len;
    a->json = json.data; /* owned by the attachment now */
    return a;
}

struct attachment *attachment_ref(struct attachment *a)
{
    atomic_fetch_add_explicit(&a->refs, 1, memory_order_relaxed);
    return a;
}

void attachment_unref(struct attachment *a)
{
    if (!a || atomic_fetch_sub_explicit(&a->refs, 1, memory_order_acq_rel) != 1)
        return;
    free(a->key.ptr);
    free(a->json);
    value_free(&a->value);
    free(a);
}

static int attachment_find(const struct record *rec, const char *key, size_t len)
{
    for (int i = 0; i < rec->attachment_count; i++) {
        const struct value_string *k = &rec->attachments[i]->key;
        if (k->len == len && memcmp(k->ptr, key, len) == 0)
            return i;
    }
    return -1;
}

/* Drops the record's reference to attachment `i`, keeping the others' order. */
static void record_detach(struct record *rec, int i)
{
    attachment_unref(rec->attachments[i]);
    rec->attachment_count--;
    memmove(&rec->attachments[i], &rec->attachments[i + 1],
            (size_t)(rec->attachment_count - i) * sizeof rec->attachments[0]);
    rec->attachments[rec->attachment_count] = NULL;
}

/* Copy on write: the attachment's value becomes a field of this record only. */
static void record_materialize(struct record *rec, int i)
{
    const struct attachment *a = rec->attachments[i];
    struct value copy = value_clone(&a->value);
    value_map_set(&rec->fields, a->key.ptr, a->key.len, &copy);
    record_detach(rec, i);
}

/* Before writing at `path`: a whole attachment is simply replaced, a change
 * below one needs the record's own copy. */
static void record_prepare_write(struct record *rec, const struct field_path *path)
{
    int i = attachment_find(rec, path->segments[0].ptr, path->segments[0].len);
    if (i < 0)
        return;
    if (path->count == 1)
        record_detach(rec, i);
    else
        record_materialize(rec, i);
}

struct attachment *record_attachment(const struct record *rec, const char *key, size_t len)
{
    int i = attachment_find(rec, key, len);
    return i >= 0 ? rec->attachments[i] : NULL;
}

bool record_has_root_key(const struct record *rec, const char *key, size_t len)
{
    return attachment_find(rec, key, len) >= 0 || value_map_get(&rec->fields, key, len) != NULL;
}

const struct value *record_get(const struct record *rec, const struct field_path *path)
{
    const struct value_string *seg = path->segments;
    int i = attachment_find(rec, seg[0].ptr, seg[0].len);
    const struct value *v =
        i >= 0 ? &rec->attachments[i]->value : value_map_get(&rec->fields, seg[0].ptr, seg[0].len);
    for (uint32_t n = 1; v && n < path->count; n++) {
        if (v->type != VALUE_MAP)
            return NULL;
        v = value_map_get(&v->as.map, seg[n].ptr, seg[n].len);
    }
    return v;
}

/* The map in the record's own fields that holds the path's last segment, or
 * NULL if a segment on the way is missing or not a map. */
static struct value_map *record_find_parent(struct record *rec, const struct field_path *path)
{
    struct value_map *map = &rec->fields;
    for (uint32_t n = 0; n + 1 < path->count; n++) {
        struct value *v = value_map_get(map, path->segments[n].ptr, path->segments[n].len);
        if (!v || v->type != VALUE_MAP)
            return NULL;
        map = &v->as.map;
    }
    return map;
}

/* Like record_find_parent, but creates missing maps and replaces non-maps. */
static struct value_map *record_make_parent(struct record *rec, const struct field_path *path)
{
    struct value_map *map = &rec->fields;
    for (uint32_t n = 0; n + 1 < path->count; n++) {
        const struct value_string *seg = &path->segments[n];
        struct value *v = value_map_get(map, seg->ptr, seg->len);
        if (!v || v->type != VALUE_MAP) {
            struct value fresh = value_map_new();
            v = value_map_set(map, seg->ptr, seg->len, &fresh);
        }
        map = &v->as.map;
    }
    return map;
}

void record_set(struct record *rec, const struct field_path *path, struct value *v)
{
    record_prepare_write(rec, path);
    struct value_map *parent = record_make_parent(rec, path);
    const struct value_string *last = &path->segments[path->count - 1];
    value_map_set(parent, last->ptr, last->len, v);
}

/* Removes the value at `path`, moving it to *out, or freeing it if out is
 * NULL. Returns false, changing nothing, if the path does not exist. */
static bool record_take(struct record *rec, const struct field_path *path, struct value *out)
{
    int i = attachment_find(rec, path->segments[0].ptr, path->segments[0].len);
    if (i >= 0) {
        if (!record_get(rec, path))
            return false;
        if (path->count == 1) {
            if (out)
                *out = value_clone(&rec->attachments[i]->value);
            record_detach(rec, i);
            return true;
        }
        record_materialize(rec, i);
    }
    struct value_map *parent = record_find_parent(rec, path);
    if (!parent)
        return false;
    const struct value_string *last = &path->segments[path->count - 1];
    if (out)
        return value_map_take(parent, last->ptr, last->len, out);
    return value_map_remove(parent, last->ptr, last->len);
}

bool record_delete(struct record *rec, const struct field_path *path)
{
    return record_take(rec, path, NULL);
}

static bool field_path_equal(const struct field_path *a, const struct field_path *b)
{
    if (a->count != b->count)
        return false;
    for (uint32_t n = 0; n < a->count; n++) {
        const struct value_string *x = &a->segments[n];
        const struct value_string *y = &b->segments[n];
        if (x->len != y->len || memcmp(x->ptr, y->ptr, x->len) != 0)
            return false;
    }
    return true;
}

/* Taking the value out before setting it means `to` may share maps with
 * `from` (or lie inside it) without leaving dangling pointers. */
bool record_rename(struct record *rec, const struct field_path *from, const struct field_path *to)
{
    if (field_path_equal(from, to))
        return record_get(rec, from) != NULL;
    struct value moved;
    if (!record_take(rec, from, &moved))
        return false;
    record_set(rec, to, &moved);
    return true;
}

const struct value *record_get_root(const struct record *rec, const char *key, size_t len)
{
    int i = attachment_find(rec, key, len);
    if (i >= 0)
        return &rec->attachments[i]->value;
    return value_map_get(&rec->fields, key, len);
}

void record_set_key(struct record *rec, const char *key, struct value *v)
{
    size_t len = strlen(key);
    int i = attachment_find(rec, key, len);
    if (i >= 0)
        record_detach(rec, i);
    value_map_set(&rec->fields, key, len, v);
}

int record_attach(struct record *rec, struct attachment *a)
{
    int i = attachment_find(rec, a->key.ptr, a->key.len);
    if (i < 0 && rec->attachment_count == RECORD_MAX_ATTACHMENTS)
        return -1;
    attachment_ref(a);
    if (i >= 0) {
        attachment_unref(rec->attachments[i]);
        rec->attachments[i] = a;
        return 0;
    }
    value_map_remove(&rec->fields, a->key.ptr, a->key.len);
    rec->attachments[rec->attachment_count++] = a;
    return 0;
}
