/* Masks and hash texts of the redact filter, written and recognized: see
 * redact_marker.h. */
#include "redact_marker.h"

#include "xalloc.h"

#include <stdlib.h>
#include <string.h>

struct redact_markers {
    bool hashed;
    size_t count;
    char **names;
    size_t *name_lens;
    char **masks; /* masks only: one per label */
    size_t *mask_lens;
    unsigned hash_length;
    size_t max_len;
    unsigned char first; /* every replacement's first byte */
};

static struct redact_markers *markers_new(const char *const *names, size_t count)
{
    struct redact_markers *m = xcalloc(1, sizeof *m);
    m->count = count;
    m->names = xcalloc(count, sizeof *m->names);
    m->name_lens = xcalloc(count, sizeof *m->name_lens);
    for (size_t i = 0; i < count; i++) {
        m->names[i] = xstrdup(names[i]);
        m->name_lens[i] = strlen(names[i]);
    }
    return m;
}

/* `template` with every placeholder replaced by `name`. */
static char *render_mask(const char *template, const char *name)
{
    struct buf out = BUF_INIT;
    const char *p = template, *at;
    while ((at = strstr(p, REDACT_PLACEHOLDER)) != NULL) {
        buf_append(&out, p, (size_t)(at - p));
        buf_append_str(&out, name);
        p = at + strlen(REDACT_PLACEHOLDER);
    }
    buf_append_str(&out, p);
    buf_cstr(&out);
    return out.data;
}

struct redact_markers *redact_markers_new_mask(const char *template, const char *const *names,
                                               size_t count)
{
    struct redact_markers *m = markers_new(names, count);
    m->first = (unsigned char)template[0];
    m->masks = xcalloc(count, sizeof *m->masks);
    m->mask_lens = xcalloc(count, sizeof *m->mask_lens);
    for (size_t i = 0; i < count; i++) {
        m->masks[i] = render_mask(template, names[i]);
        m->mask_lens[i] = strlen(m->masks[i]);
        if (m->mask_lens[i] > m->max_len)
            m->max_len = m->mask_lens[i];
    }
    return m;
}

struct redact_markers *redact_markers_new_hash(const char *const *names, size_t count,
                                               unsigned hash_length)
{
    struct redact_markers *m = markers_new(names, count);
    m->hashed = true;
    m->hash_length = hash_length;
    m->first = '[';
    for (size_t i = 0; i < count; i++)
        if (m->name_lens[i] + hash_length + 3 > m->max_len)
            m->max_len = m->name_lens[i] + hash_length + 3;
    return m;
}

void redact_markers_free(struct redact_markers *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->count; i++) {
        free(m->names[i]);
        if (m->masks)
            free(m->masks[i]);
    }
    free(m->names);
    free(m->name_lens);
    free(m->masks);
    free(m->mask_lens);
    free(m);
}

size_t redact_markers_max_len(const struct redact_markers *m)
{
    return m->max_len;
}

unsigned char redact_markers_first_byte(const struct redact_markers *m)
{
    return m->first;
}

void redact_markers_find(const struct redact_markers *m, const char *text, size_t len,
                         struct redact_spans *spans)
{
    size_t pos = 0;
    while (pos < len) {
        const char *at = memchr(text + pos, m->first, len - pos);
        if (!at)
            return;
        pos = (size_t)(at - text);
        size_t n = redact_marker_at(m, text, len, pos);
        if (n > 0)
            redact_spans_add(spans, pos, pos + n, 0, true);
        pos += n > 0 ? n : 1;
    }
}

static bool is_hex_letter(char c)
{
    return c >= 'a' && c <= 'f';
}

/* `[name:hex]` with a known name, exactly hash_length hex digits and at
 * least one letter among them (redact_marker_write_hash makes sure of it):
 * `[card:4111111111111111]` is a card number in brackets, not a hash. */
static size_t hash_marker_at(const struct redact_markers *m, const char *s, size_t len, size_t pos)
{
    if (s[pos] != '[')
        return 0;
    const char *colon =
        memchr(s + pos + 1, ':',
               len - pos - 1 < REDACT_NAME_MAX + 1 ? len - pos - 1 : REDACT_NAME_MAX + 1);
    if (!colon)
        return 0;
    size_t name_len = (size_t)(colon - s) - pos - 1, hex = (size_t)(colon - s) + 1;
    bool known = false;
    for (size_t i = 0; i < m->count && !known; i++)
        known = m->name_lens[i] == name_len && memcmp(m->names[i], s + pos + 1, name_len) == 0;
    if (!known || hex + m->hash_length >= len || s[hex + m->hash_length] != ']')
        return 0;
    bool letter = false;
    for (size_t i = hex; i < hex + m->hash_length; i++) {
        if (!(s[i] >= '0' && s[i] <= '9') && !is_hex_letter(s[i]))
            return 0;
        letter |= is_hex_letter(s[i]);
    }
    return letter ? hex + m->hash_length + 1 - pos : 0;
}

size_t redact_marker_at(const struct redact_markers *m, const char *s, size_t len, size_t pos)
{
    if (m->hashed)
        return hash_marker_at(m, s, len, pos);
    for (size_t i = 0; i < m->count; i++) {
        size_t n = m->mask_lens[i];
        if (n > 0 && n <= len - pos && memcmp(s + pos, m->masks[i], n) == 0)
            return n;
    }
    return 0;
}

void redact_marker_write_mask(const struct redact_markers *m, uint32_t label, struct buf *out)
{
    buf_append(out, m->masks[label], m->mask_lens[label]);
}

void redact_marker_write_hash(const struct redact_markers *m, uint32_t label,
                              const unsigned char *digest, struct buf *out)
{
    static const char hex[] = "0123456789abcdef";
    char text[REDACT_HASH_MAX];
    bool letter = false;
    for (unsigned i = 0; i < m->hash_length; i++) {
        unsigned nibble = i % 2 ? digest[i / 2] & 0xf : digest[i / 2] >> 4;
        text[i] = hex[nibble];
        letter |= nibble >= 10;
    }
    if (!letter)
        text[0] = (char)('a' + (text[0] - '0') % 6);
    buf_append_byte(out, '[');
    buf_append(out, m->names[label], m->name_lens[label]);
    buf_append_byte(out, ':');
    buf_append(out, text, m->hash_length);
    buf_append_byte(out, ']');
}
