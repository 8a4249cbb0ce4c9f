/* Origin ids (see es_id.h): SipHash-2-4-128 as in the reference
 * implementation by Aumasson and Bernstein, and base64url. */
#include "es_id.h"

#include "xalloc.h"

#include <stdlib.h>
#include <string.h>

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))

/* Fixed so that every node and every restart computes the same ids. */
static const uint8_t es_id_key[16] = "skiff-es-doc-id1";

static const char base64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static uint64_t load64_le(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static void store64_le(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* The four state words in locals, so that the rounds stay in registers. */
struct sip_state {
    uint64_t v0, v1, v2, v3;
};

#define SIP_ROUND(s)                                                                               \
    do {                                                                                           \
        (s).v0 += (s).v1;                                                                          \
        (s).v1 = ROTL((s).v1, 13);                                                                 \
        (s).v1 ^= (s).v0;                                                                          \
        (s).v0 = ROTL((s).v0, 32);                                                                 \
        (s).v2 += (s).v3;                                                                          \
        (s).v3 = ROTL((s).v3, 16);                                                                 \
        (s).v3 ^= (s).v2;                                                                          \
        (s).v0 += (s).v3;                                                                          \
        (s).v3 = ROTL((s).v3, 21);                                                                 \
        (s).v3 ^= (s).v0;                                                                          \
        (s).v2 += (s).v1;                                                                          \
        (s).v1 = ROTL((s).v1, 17);                                                                 \
        (s).v1 ^= (s).v2;                                                                          \
        (s).v2 = ROTL((s).v2, 32);                                                                 \
    } while (0)

static struct sip_state sip_init(const uint8_t key[16])
{
    uint64_t k0 = load64_le(key), k1 = load64_le(key + 8);
    return (struct sip_state){k0 ^ 0x736f6d6570736575ULL, k1 ^ 0x646f72616e646f6dULL ^ 0xee,
                              k0 ^ 0x6c7967656e657261ULL, k1 ^ 0x7465646279746573ULL};
}

/* SipHash-2-4: two rounds per 8-byte word of the message. */
static inline void sip_absorb(struct sip_state *s, uint64_t m)
{
    s->v3 ^= m;
    SIP_ROUND(*s);
    SIP_ROUND(*s);
    s->v0 ^= m;
}

/* The 128-bit finalization: four rounds per half. */
static void sip_finish(struct sip_state s, uint8_t out[16])
{
    s.v2 ^= 0xee;
    for (int i = 0; i < 4; i++)
        SIP_ROUND(s);
    store64_le(out, s.v0 ^ s.v1 ^ s.v2 ^ s.v3);
    s.v1 ^= 0xdd;
    for (int i = 0; i < 4; i++)
        SIP_ROUND(s);
    store64_le(out + 8, s.v0 ^ s.v1 ^ s.v2 ^ s.v3);
}

/* The last word of a message of `len` bytes: the low byte of its length on
 * top of the len % 8 bytes after its last whole word, at `tail`. */
static uint64_t sip_last_word(const uint8_t *tail, size_t len)
{
    uint64_t last = (uint64_t)len << 56;
    for (size_t i = 0; i < len % 8; i++)
        last |= (uint64_t)tail[i] << (8 * i);
    return last;
}

void es_siphash128(const uint8_t key[16], const void *data, size_t len, uint8_t out[16])
{
    const uint8_t *p = data;
    struct sip_state s = sip_init(key);
    size_t whole = len - len % 8;
    for (size_t i = 0; i < whole; i += 8)
        sip_absorb(&s, load64_le(p + i));
    sip_absorb(&s, sip_last_word(p + whole, len));
    sip_finish(s, out);
}

/* 16 bytes in 22 characters: five groups of three bytes, then one byte. */
static void base64url_16(const uint8_t in[16], char out[ES_ID_ORIGIN_LEN + 1])
{
    char *o = out;
    for (int i = 0; i < 15; i += 3) {
        uint32_t n = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        *o++ = base64url[n >> 18];
        *o++ = base64url[n >> 12 & 63];
        *o++ = base64url[n >> 6 & 63];
        *o++ = base64url[n & 63];
    }
    *o++ = base64url[in[15] >> 2];
    *o++ = base64url[(in[15] & 3) << 4];
    *o = '\0';
}

/* The node name comes last: the only field of variable length, so the
 * message is unambiguous without a length prefix. The message's first two
 * words are the source id and the offset, so the node name's bytes fill
 * whole words of their own, the same for every record: they are read into
 * words once, and each id hashes the two words of its origin and those. */
void es_id_origin_init(struct es_id_origin_key *key, const char *node_name)
{
    size_t node_len = strlen(node_name);
    size_t len = 16 + node_len;
    *key = (struct es_id_origin_key){.words = xcalloc(node_len / 8 + 1, sizeof *key->words)};
    key->word_count = node_len / 8;
    const uint8_t *node = (const uint8_t *)node_name;
    for (size_t i = 0; i < key->word_count; i++)
        key->words[i] = load64_le(node + 8 * i);
    /* The bytes after the message's last whole word are the node name's
     * last len % 8 (= node_len % 8), since 16 is a multiple of 8. */
    key->words[key->word_count] = sip_last_word(node + 8 * key->word_count, len);
}

void es_id_origin_key_free(struct es_id_origin_key *key)
{
    free(key->words);
    *key = (struct es_id_origin_key){0};
}

/* Records come in runs from one source (a file), whose first word is the
 * same: the state after it is kept for the next record of the run. */
void es_id_origin_of(struct es_id_origin_key *key, const struct record_origin *origin,
                     char out[ES_ID_ORIGIN_LEN + 1])
{
    struct sip_state s;
    if (key->has_source && key->source_id == origin->source_id) {
        s = (struct sip_state){key->after_source[0], key->after_source[1], key->after_source[2],
                               key->after_source[3]};
    } else {
        s = sip_init(es_id_key);
        sip_absorb(&s, origin->source_id);
        key->has_source = true;
        key->source_id = origin->source_id;
        key->after_source[0] = s.v0;
        key->after_source[1] = s.v1;
        key->after_source[2] = s.v2;
        key->after_source[3] = s.v3;
    }
    sip_absorb(&s, origin->offset);
    for (size_t i = 0; i <= key->word_count; i++)
        sip_absorb(&s, key->words[i]);
    uint8_t hash[16];
    sip_finish(s, hash);
    base64url_16(hash, out);
}

void es_id_origin(const char *node_name, const struct record_origin *origin,
                  char out[ES_ID_ORIGIN_LEN + 1])
{
    struct es_id_origin_key key;
    es_id_origin_init(&key, node_name);
    es_id_origin_of(&key, origin, out);
    es_id_origin_key_free(&key);
}

/* ---- ids from fields ---- */

/* Another key than origin ids', so that the two kinds never meet by design. */
static const uint8_t es_id_fields_key[16] = "skiff-es-fields1";

/* Where the path that starts at `p` ends: the next comma outside a quoted
 * segment, or the end. */
static const char *path_end(const char *p)
{
    bool quoted = false;
    for (; *p; p++) {
        if (quoted && *p == '\\' && p[1])
            p++;
        else if (*p == '"')
            quoted = !quoted;
        else if (*p == ',' && !quoted)
            break;
    }
    return p;
}

static int parse_paths(const char *list, bool several, struct es_id_spec *out, char **error)
{
    out->paths = xcalloc(ES_ID_MAX_FIELDS, sizeof *out->paths);
    for (const char *p = list;; p++) {
        const char *end = several ? path_end(p) : p + strlen(p);
        if (out->path_count == ES_ID_MAX_FIELDS) {
            *error = xasprintf("'%s': at most %d fields", list, ES_ID_MAX_FIELDS);
            return -1;
        }
        char *text = xstrndup(p, (size_t)(end - p));
        char *path_error = NULL;
        int rc = field_path_parse(text, &out->paths[out->path_count], &path_error);
        free(text);
        if (rc < 0) {
            *error = several
                         ? xasprintf("'%s', field %zu: %s", list, out->path_count + 1, path_error)
                         : xstrdup(path_error);
            free(path_error);
            return -1;
        }
        out->path_count++;
        if (*end == '\0')
            return 0;
        p = end;
    }
}

int es_id_spec_parse(const char *text, struct es_id_spec *out, char **error)
{
    *out = (struct es_id_spec){.mode = ES_ID_ORIGIN};
    if (strcmp(text, "origin") == 0)
        return 0;
    if (strcmp(text, "none") == 0) {
        out->mode = ES_ID_NONE;
        return 0;
    }
    bool several = strncmp(text, "fields:", 7) == 0;
    if (!several && strncmp(text, "field:", 6) != 0) {
        *error =
            xasprintf("'%s' is not origin, none, field:<path> or fields:<path>,<path>,...", text);
        return -1;
    }
    out->mode = several ? ES_ID_FIELDS : ES_ID_FIELD;
    if (parse_paths(text + (several ? 7 : 6), several, out, error) < 0) {
        es_id_spec_free(out);
        return -1;
    }
    return 0;
}

void es_id_spec_free(struct es_id_spec *spec)
{
    for (size_t i = 0; i < spec->path_count; i++)
        field_path_free(&spec->paths[i]);
    free(spec->paths);
    *spec = (struct es_id_spec){.mode = ES_ID_ORIGIN};
}

void es_id_values_add(struct buf *message, bool is_string, const char *text, size_t len)
{
    uint8_t frame[9];
    frame[0] = is_string ? 's' : 'n';
    store64_le(frame + 1, len);
    buf_append(message, frame, sizeof frame);
    buf_append(message, text, len);
}

void es_id_of_values(const struct buf *message, char out[ES_ID_ORIGIN_LEN + 1])
{
    uint8_t hash[16];
    es_siphash128(es_id_fields_key, message->data ? message->data : "", message->len, hash);
    base64url_16(hash, out);
}
