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

#include "record.h"

#include <stddef.h>
#include <stdint.h>

#define ES_ID_ORIGIN_LEN 22
/* Elasticsearch rejects longer _id values. */
#define ES_ID_MAX_BYTES 512

/* SipHash-2-4 with the 128-bit output variant of the reference
 * implementation, bytes in its order. */
void es_siphash128(const uint8_t key[16], const void *data, size_t len, uint8_t out[16]);

/* Writes ES_ID_ORIGIN_LEN characters and a NUL. */
void es_id_origin(const char *node_name, const struct record_origin *origin,
                  char out[ES_ID_ORIGIN_LEN + 1]);

#endif
