/* One journal entry as a record (systemd.h): the time from
 * __REALTIME_TIMESTAMP, MESSAGE under `message_key`, every other field under
 * its name (one leading '_' removed with strip_underscores, lower case with
 * lowercase), as strings of the field's bytes. A field that appears several
 * times in the entry, or two names that become one, give an array of the
 * values in order, as in Fluent Bit. Bounded: at most max_fields fields
 * besides MESSAGE, each value at most max_field_size bytes; what is cut is
 * counted. */
#include "systemd.h"

#include "xalloc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define UNIT_FIELD "_SYSTEMD_UNIT="
#define MESSAGE_FIELD "MESSAGE"

/* Where to cut a value of `len` bytes at `max`: not inside a UTF-8 sequence
 * when the bytes there are one (binary values are cut at `max`). */
static size_t cut_length(const char *value, size_t len, size_t max)
{
    if (len <= max)
        return len;
    size_t cut = max;
    /* value[cut] exists (len > max): step back over continuation bytes. */
    for (int back = 0; back < 3 && cut > 0 && ((unsigned char)value[cut] & 0xc0) == 0x80; back++)
        cut--;
    return ((unsigned char)value[cut] & 0xc0) == 0x80 ? max : cut;
}

/* Adds `value` under `key`; a key already there gets an array. */
static void entry_add(struct record *rec, const char *key, size_t key_len, const char *value,
                      size_t len)
{
    struct value v = value_string(value, len);
    struct value *old = value_map_get(&rec->fields, key, key_len);
    if (!old) {
        value_map_set(&rec->fields, key, key_len, &v);
        return;
    }
    if (old->type != VALUE_ARRAY) {
        struct value array = value_array_new();
        struct value first = *old;
        value_array_push(&array.as.array, &first);
        *old = array;
    }
    value_array_push(&old->as.array, &v);
}

/* The record's name for the field `name` (without '='), in s->key. */
static void entry_key(struct systemd_input *s, const char *name, size_t len)
{
    buf_reset(&s->key);
    if (s->opts->strip_underscores && len > 1 && name[0] == '_') {
        name++;
        len--;
    }
    buf_append(&s->key, name, len);
    if (s->opts->lowercase)
        for (size_t i = 0; i < s->key.len; i++)
            if (s->key.data[i] >= 'A' && s->key.data[i] <= 'Z')
                s->key.data[i] = (char)(s->key.data[i] - 'A' + 'a');
}

struct entry_fields {
    size_t kept; /* fields besides MESSAGE */
    char *unit;  /* _SYSTEMD_UNIT's value, for the tag */
};

static void entry_field(struct systemd_input *s, struct record *rec, struct entry_fields *f,
                        const char *data, size_t len)
{
    const char *eq = memchr(data, '=', len);
    if (!eq || eq == data)
        return; /* not FIELD=value: sd-journal never hands these out */
    size_t name_len = (size_t)(eq - data);
    const char *value = eq + 1;
    size_t value_len = len - name_len - 1;
    const char *message_key = s->opts->message_key;
    bool message = message_key && *message_key && name_len == strlen(MESSAGE_FIELD) &&
                   memcmp(data, MESSAGE_FIELD, name_len) == 0;

    if (!f->unit && len > strlen(UNIT_FIELD) && memcmp(data, UNIT_FIELD, strlen(UNIT_FIELD)) == 0)
        f->unit = xstrndup(value, value_len);
    if (!message && f->kept >= (size_t)s->opts->max_fields) {
        metric_add(s->metrics.cut_max_fields, 1);
        return;
    }
    size_t kept_len = cut_length(value, value_len, (size_t)s->opts->max_field_size);
    if (kept_len < value_len)
        metric_add(s->metrics.cut_field_size, 1);
    if (message) {
        entry_add(rec, message_key, strlen(message_key), value, kept_len);
        return;
    }
    entry_key(s, data, name_len);
    entry_add(rec, s->key.data, s->key.len, value, kept_len);
    f->kept++;
}

/* The errors after which sd_journal_enumerate_available_data() skips a
 * field and goes on (JOURNAL_ERRNO_IS_UNAVAILABLE_FIELD in systemd's
 * journal-internal.h): compression this libsystemd cannot read, a damaged
 * object, a field over its size limits. */
static bool field_unavailable(int r)
{
    return r == -EPROTONOSUPPORT || r == -EBADMSG || r == -ENOBUFS;
}

static void entry_fields_read(struct systemd_input *s, struct record *rec, struct entry_fields *f)
{
    const void *data;
    size_t len;
    sd_journal_restart_data(s->journal);
    for (;;) {
        int r = sd_journal_enumerate_data(s->journal, &data, &len);
        if (r < 0 && field_unavailable(r)) {
            systemd_report(s, "sd_journal_enumerate_data", r,
                           "a field of an entry cannot be read; it is left out of the record "
                           "(a journal written by a newer systemd, or a damaged file: see the "
                           "README, \"Journald\")");
            metric_add(s->metrics.read_errors, 1);
            r = sd_journal_enumerate_available_data(s->journal, &data, &len);
        }
        if (r < 0) {
            systemd_report(s, "sd_journal_enumerate_data", r,
                           "the rest of an entry's fields cannot be read; the record keeps "
                           "those read before");
            metric_add(s->metrics.read_errors, 1);
            return;
        }
        if (r == 0)
            return;
        entry_field(s, rec, f, data, len);
    }
}

/* The tag with each '*' replaced by the entry's unit ("unknown" without
 * one), as Fluent Bit's systemd input does. */
static char *entry_tag(const char *pattern, const char *unit)
{
    struct buf tag = BUF_INIT;
    for (const char *p = pattern; *p; p++) {
        if (*p == '*')
            buf_append_str(&tag, unit ? unit : "unknown");
        else
            buf_append_byte(&tag, *p);
    }
    char *result = xstrdup(buf_cstr(&tag));
    buf_free(&tag);
    return result;
}

int systemd_entry_read(struct systemd_input *s, struct record *rec, char **tag, char **cursor)
{
    uint64_t usec;
    int r = sd_journal_get_cursor(s->journal, cursor);
    if (r < 0) {
        systemd_report(s, "sd_journal_get_cursor", r, "an entry without a cursor is skipped");
        return -1;
    }
    r = sd_journal_get_realtime_usec(s->journal, &usec);
    if (r < 0) {
        systemd_report(s, "sd_journal_get_realtime_usec", r, "an entry without a time is skipped");
        free(*cursor);
        *cursor = NULL;
        return -1;
    }
    record_init(rec);
    rec->time.sec = (int64_t)(usec / 1000000);
    rec->time.nsec = (uint32_t)(usec % 1000000) * 1000;
    struct entry_fields f = {0};
    entry_fields_read(s, rec, &f);
    *tag = entry_tag(s->in->config->common.tag, f.unit);
    free(f.unit);
    return 0;
}
