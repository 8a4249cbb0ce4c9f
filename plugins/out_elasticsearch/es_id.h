/* Document ids for Elasticsearch: deterministic, so that a record sent again
 * (after a retry, a crash, a restart) overwrites its first copy instead of
 * becoming a duplicate. Not a security feature: the hash key is public.
 *
 * The origin id is SipHash-2-4 with 128-bit output over (source_id, offset,
 * node name), base64url without padding: 22 characters. For ids to collide by
 * chance, two of the n documents of an index must share 128 bits of a PRF's
 * output: probability about n^2 / 2^129, 1.5e-15 for n = 10^12 documents. The
 * inputs are not chosen by an attacker (offsets and file identities come from
 * the node), so the public key costs nothing. */
#ifndef SKIFF_ES_ID_H
#define SKIFF_ES_ID_H

#include "buf.h"
#include "record.h"

#include <stdbool.h>

#include <stddef.h>
#include <stdint.h>

#define ES_ID_ORIGIN_LEN 22
/* Elasticsearch rejects longer _id values. */
#define ES_ID_MAX_BYTES 512

/* At most this many fields in `id: fields:...`. */
#define ES_ID_MAX_FIELDS 8

/* What the `id` option names: nothing, the origin, one field whose value is
 * the id, or several fields whose values are hashed into one. */
enum es_id_mode {
    ES_ID_ORIGIN, /* from (node name, origin source id, origin offset) */
    /* ES_ID_FIELD and ES_ID_FIELDS: a record lacking a field, or where one is
     * empty, not a string or number, or (FIELD) longer than ES_ID_MAX_BYTES,
     * gets its origin id and is counted: still idempotent, never rejected for
     * its id. */
    ES_ID_FIELD,  /* a record field's value, as it is */
    ES_ID_FIELDS, /* SipHash-128 of several fields' values, as origin ids */
    ES_ID_NONE,   /* Elasticsearch picks one: retries may duplicate */
};

/* The `id` option compiled: its mode and, for FIELD and FIELDS, the paths. */
struct es_id_spec {
    enum es_id_mode mode;
    struct field_path *paths;
    size_t path_count;
};

/* Parses `origin`, `none`, `field:<path>` or `fields:<path>,<path>,...` (at
 * most ES_ID_MAX_FIELDS; a comma inside a quoted segment, as in
 * labels["a,b"], belongs to the path). Returns 0, or -1 with a message. */
int es_id_spec_parse(const char *text, struct es_id_spec *out, char **error);
void es_id_spec_free(struct es_id_spec *spec);

/* Collects the values of an ES_ID_FIELDS id, one after the other, each
 * framed by its kind and length so that ("ab","c") and ("a","bc") differ. */
void es_id_values_add(struct buf *message, bool is_string, const char *text, size_t len);
/* The id of the values collected in `message`: ES_ID_ORIGIN_LEN characters
 * and a NUL. */
void es_id_of_values(const struct buf *message, char out[ES_ID_ORIGIN_LEN + 1]);

/* SipHash-2-4 with the 128-bit output variant of the reference
 * implementation, bytes in its order. */
void es_siphash128(const uint8_t key[16], const void *data, size_t len, uint8_t out[16]);

/* Writes ES_ID_ORIGIN_LEN characters and a NUL. */
void es_id_origin(const char *node_name, const struct record_origin *origin,
                  char out[ES_ID_ORIGIN_LEN + 1]);

/* The same ids with the node name's part of the message prepared once
 * (es_id_origin_init), for a batch of records: no per-record copy of it. */
struct es_id_origin_key {
    uint64_t *words;   /* the node name as message words, the last with the length */
    size_t word_count; /* whole words of it; words[word_count] is the last */
    /* The hash state after the source id of the last record hashed. */
    bool has_source;
    uint64_t source_id;
    uint64_t after_source[4];
};
void es_id_origin_init(struct es_id_origin_key *key, const char *node_name);
void es_id_origin_key_free(struct es_id_origin_key *key);
void es_id_origin_of(struct es_id_origin_key *key, const struct record_origin *origin,
                     char out[ES_ID_ORIGIN_LEN + 1]);

#endif
