/* The response to a `_bulk` request, item by item: what each record's fate
 * is (delivered, to retry, rejected for the dead-letter file) and, on errors,
 * Elasticsearch's error type and reason. Not the HTTP status of the request
 * itself (429, 413, 5xx for the whole request are the caller's business):
 * this reads a body that came with 200. Works for Elasticsearch 7 and 8 and
 * OpenSearch, which share the format. */
#ifndef SKIFF_ES_RESPONSE_H
#define SKIFF_ES_RESPONSE_H

#include "buf.h"

#include <stdbool.h>
#include <stddef.h>

/* The longest message of es_response_parse, NUL included: longer ones (a
 * server's reason) are cut. */
#define ES_RESPONSE_ERROR_SIZE 160

enum es_item_class {
    ES_ITEM_OK,             /* 2xx */
    ES_ITEM_ALREADY_EXISTS, /* 409 on create: our id is indexed, so delivered */
    ES_ITEM_RETRY,          /* 429, 5xx, and statuses outside 2xx-5xx */
    /* The cluster's setup refuses it (a missing privilege, a missing ingest
     * pipeline): kept buffered and retried until someone fixes the cluster,
     * since every other document would fail the same way. */
    ES_ITEM_HELD,
    ES_ITEM_REJECTED, /* other 4xx: dead-letter file */
    ES_ITEM_CLASS_COUNT,
};

struct es_item {
    int status;
    enum es_item_class class;
    /* "" when there is none (not allocated: most items have none), else
     * malloc'ed; es_response_free frees them. */
    const char *error_type;
    const char *error_reason;
};

struct es_response {
    struct es_item *items;
    size_t count;
    size_t counts[ES_ITEM_CLASS_COUNT]; /* items per es_item_class */
};

/* Parses a `_bulk` response body for a request of `expected_items` records,
 * item i being the answer for the request's record i. The usual answers are
 * read by a streaming scan that allocates only the items and their error
 * texts (es_response_scan.c); anything unusual (a body that is not a bulk
 * response, a duplicate key, escapes in keys, deep nesting, a fraction) is
 * read again by the value-tree reader, which decides and words the error.
 * Returns 0 with every item filled in, or -1 with a message in *error
 * (malloc'ed, the caller frees it) when the body is not a bulk response (not
 * JSON, no items, a different number of items, an item without a status):
 * then nothing is known about any record and the whole request is to be
 * retried. `out` is empty after an error. */
int es_response_parse(const char *text, size_t len, size_t expected_items, struct es_response *out,
                      char **error);
void es_response_free(struct es_response *response);

const char *es_item_class_name(enum es_item_class class);

/* The error of a whole request (a 400, 429...): Elasticsearch's
 * error.root_cause[0] type and reason, then error.type and reason when they
 * differ, whole; for a body that is not such JSON, its start (control bytes
 * as '?'). Appended to `out`, NUL-terminated. */
void es_response_request_error(const char *text, size_t len, struct buf *out);

#endif
