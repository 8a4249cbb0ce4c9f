/* One delivery (one or more chunks) being sent (es_send.c builds and sends its batches, es_answer.c
 * reads the answers). Internal to the plugin. */
#ifndef SKIFF_ES_FLUSH_H
#define SKIFF_ES_FLUSH_H

#include "es_output.h"

#include <stdbool.h>
#include <stddef.h>

/* A part of the pending list to send as its own request (413 halves). */
struct es_range {
    size_t first;
    size_t count;
};

struct es_flush {
    struct es_output *es;
    struct delivery *delivery;
    struct es_flush *prev, *next;
    struct es_record_list list; /* the records to send: chunk and byte offset */
    uint32_t *indexes;          /* their record numbers in the delivery */
    size_t cursor;              /* next list position to batch */
    struct es_range *ranges;    /* split batches waiting, sent first */
    size_t range_count, range_cap;
    struct es_range batch; /* in the request in flight */
    bool batch_from_range; /* it is the top range's, not the cursor's */
    size_t host;
    struct http_call *call;
    /* compress: none: the batch in flight is written while it is sent
     * (es_bulk_stream), and batch.count is known once es_flush_batch_end
     * ran; gzip: it is sent from `gzipped`, built before. */
    struct es_bulk_stream *stream;
    bool batch_open;     /* streamed: the batch's end is not fixed yet */
    size_t body_counted; /* streamed: its bytes counted in body_bytes */
    struct buf gzipped;  /* gzip: the batch in flight, compressed */
    size_t body_len;     /* the batch's bytes before compression, once known */
    size_t hosts_tried;  /* for the batch in flight */
    bool retry;          /* something is left for the next attempt */
    bool stop;           /* a whole-request failure: no more requests now */
    size_t malformed;    /* records that could not be read from their chunk */
    char reason[1024];
};

/* es_send.c */
/* Remembers the first reason of this attempt, for delivery_done's log; with
 * `stop`, no more requests are sent in this attempt. */
void es_flush_fail(struct es_flush *f, bool stop, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Sends the batch in flight (again) to the next host. */
void es_flush_request(struct es_flush *f);
/* A streamed batch: fixes where it ends (its records and bytes), moves past
 * it, and counts it; nothing for a batch already fixed. Before its answer is
 * read. */
void es_flush_batch_end(struct es_flush *f);
/* Sends the next batch, or ends the attempt. */
void es_flush_next(struct es_flush *f);
/* The record at list position `position`; 0, or -1 if it cannot be read. */
int es_flush_record_at(const struct es_flush *f, size_t position, struct record_view *view);
/* Splits the batch in flight in halves, sent first, each as its own request. */
void es_flush_split(struct es_flush *f);

/* es_answer.c: http_done_cb of every bulk request. */
void es_answer(void *data, const struct http_response *response);

#endif
