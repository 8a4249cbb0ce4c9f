/* Sending one chunk (a delivery) as `_bulk` requests. The records not yet
 * done are listed once per attempt, then sent in batches (batch_max_bytes,
 * batch_max_records) one request at a time: parallelism comes from
 * max_in_flight deliveries, so memory stays at one body (and its gzip copy)
 * per delivery in flight. Items are marked done, dead-lettered or left for
 * the next attempt as the responses say; a 413 splits the batch in halves.
 * A whole-request failure (transport error, 429, 5xx, 401/403, a response
 * that cannot be read) ends the attempt: the rest waits for the retry. */
#include "es_output.h"

#include "es_response.h"
#include "log.h"
#include "loop.h"
#include "xalloc.h"

#include <libdeflate.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A part of the pending list to send as its own request (413 halves). */
struct es_range {
    size_t first;
    size_t count;
};

struct es_flush {
    struct es_output *es;
    struct delivery *delivery;
    struct es_flush *prev, *next;
    struct es_record_list list; /* byte offsets of the records to send */
    uint32_t *indexes;          /* their record numbers in the chunk */
    size_t cursor;              /* next list position to batch */
    struct es_range *ranges;    /* split batches waiting, sent first */
    size_t range_count, range_cap;
    struct es_range batch; /* in the request in flight */
    size_t host;
    struct http_call *call;
    struct buf body;
    struct buf gzipped;
    const struct buf *payload; /* body or gzipped: what is sent */
    size_t hosts_tried;        /* for the batch in flight */
    bool retry;                /* something is left for the next attempt */
    bool stop;                 /* a whole-request failure: no more requests now */
    size_t malformed;          /* records that could not be read from the chunk */
    char reason[256];
};

enum { REJECTED_LOG_INTERVAL_MS = 60000 };

static void flush_next(struct es_flush *f);
static void flush_request(struct es_flush *f);

void es_gzip(struct es_output *es, const struct buf *in, struct buf *out)
{
    size_t bound = libdeflate_gzip_compress_bound(es->gzip, in->len);
    buf_reset(out);
    buf_reserve(out, bound);
    out->len = libdeflate_gzip_compress(es->gzip, in->data, in->len, out->data, bound);
}

static struct metric *labelled_counter(struct es_output *es, const char *name, const char *help,
                                       const char *label, const char *value)
{
    struct buf labels = BUF_INIT;
    buf_append_str(&labels, "instance=\"");
    metrics_escape_label(&labels, es->out->alias);
    buf_printf(&labels, "\",%s=\"", label);
    metrics_escape_label(&labels, value);
    buf_append_byte(&labels, '"');
    struct metric *m = metrics_counter(name, help, buf_cstr(&labels));
    buf_free(&labels);
    return m;
}

static void count_request(struct es_output *es, const struct http_response *response)
{
    char status[16];
    if (response->status)
        snprintf(status, sizeof status, "%ld", response->status);
    else
        snprintf(status, sizeof status, "%s", response->timed_out ? "timeout" : "error");
    metric_add(labelled_counter(es, "skiff_es_bulk_requests_total",
                                "Bulk requests by HTTP status (timeout, error: no answer)",
                                "status", status),
               1);
    metric_observe(es->metrics.latency, (double)response->elapsed_ms / 1000.0);
}

static void count_retry(struct es_output *es, const char *why)
{
    metric_add(labelled_counter(es, "skiff_es_retries_total",
                                "Bulk requests or items left for a retry, by cause", "reason", why),
               1);
}

/* Remembers the first reason of this attempt, for delivery_done's log. */
static void flush_fail(struct es_flush *f, bool stop, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void flush_fail(struct es_flush *f, bool stop, const char *fmt, ...)
{
    if (!f->retry && fmt) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(f->reason, sizeof f->reason, fmt, ap);
        va_end(ap);
    }
    f->retry = true;
    f->stop = f->stop || stop;
}

static void flush_free(struct es_flush *f)
{
    struct es_output *es = f->es;
    if (f->prev)
        f->prev->next = f->next;
    else
        es->flushes = f->next;
    if (f->next)
        f->next->prev = f->prev;
    es_record_list_free(&f->list);
    free(f->indexes);
    free(f->ranges);
    buf_free(&f->body);
    buf_free(&f->gzipped);
    free(f);
}

static void flush_finish(struct es_flush *f)
{
    struct delivery *d = f->delivery;
    if (f->retry) {
        delivery_done(d, DELIVERY_RETRY, f->reason);
    } else if (f->malformed) {
        char reason[96];
        snprintf(reason, sizeof reason, "%zu records of the chunk cannot be read", f->malformed);
        delivery_done(d, DELIVERY_FAILED, reason);
    } else {
        delivery_done(d, DELIVERY_OK, NULL);
    }
    flush_free(f);
}

static void item_reason(char *out, size_t size, const struct es_item *item)
{
    snprintf(out, size, "elasticsearch rejected the document (status %d): %s: %s", item->status,
             item->error_type[0] ? item->error_type : "error",
             item->error_reason[0] ? item->error_reason : "no reason given");
}

/* Item errors come in runs of one type (a full queue rejects a whole batch):
 * the series is looked up once per run, not per item. */
struct item_error_counter {
    char type[64];
    struct metric *metric;
};

static void count_item_error(struct es_output *es, struct item_error_counter *last,
                             const struct es_item *item)
{
    char type[64];
    if (item->error_type[0])
        snprintf(type, sizeof type, "%s", item->error_type);
    else
        snprintf(type, sizeof type, "status_%d", item->status);
    if (!last->metric || strcmp(last->type, type) != 0) {
        memcpy(last->type, type, sizeof type);
        last->metric =
            labelled_counter(es, "skiff_es_item_errors_total",
                             "Bulk items that failed, by Elasticsearch's error type", "type", type);
    }
    metric_add(last->metric, 1);
}

static int record_view_at(const struct es_flush *f, size_t position, struct record_view *view)
{
    size_t pos = f->list.offsets[position];
    return chunk_next(delivery_chunk(f->delivery), &pos, view) == 1 ? 0 : -1;
}

/* Rejected documents are in the dead-letter file with their reasons; the
 * log says so at most once a minute, with one example. */
static void log_rejected(struct es_flush *f, const struct es_item *example, size_t count)
{
    struct es_output *es = f->es;
    int64_t now = loop_now_ms(es->out->loop);
    if (es->rejected_logged_ms && now - es->rejected_logged_ms < REJECTED_LOG_INTERVAL_MS)
        return;
    es->rejected_logged_ms = now;
    char reason[ES_RESPONSE_ERROR_SIZE * 2 + 64];
    item_reason(reason, sizeof reason, example);
    log_warn(es->out->alias,
             "%zu documents rejected, e.g. %s; they are in the dead-letter file "
             "(see skiff_es_item_errors_total; logged at most once a minute)",
             count, reason);
}

static void handle_items(struct es_flush *f, const struct es_response *response)
{
    struct es_output *es = f->es;
    struct item_error_counter errors = {0};
    const struct es_item *first_rejected = NULL;
    size_t retried = 0;
    for (size_t i = 0; i < response->count; i++) {
        const struct es_item *item = &response->items[i];
        size_t position = f->batch.first + i;
        uint32_t index = f->indexes[position];
        if (item->class == ES_ITEM_OK || item->class == ES_ITEM_ALREADY_EXISTS) {
            delivery_mark_done(f->delivery, index);
            continue;
        }
        count_item_error(es, &errors, item);
        if (item->class == ES_ITEM_RETRY) {
            if (!retried++)
                flush_fail(f, false, "%zu items answered %d (%s); they are sent again",
                           response->counts[ES_ITEM_RETRY], item->status, item->error_type);
            continue;
        }
        struct record_view view;
        char reason[ES_RESPONSE_ERROR_SIZE * 2 + 64];
        if (!first_rejected)
            first_rejected = item;
        item_reason(reason, sizeof reason, item);
        if (record_view_at(f, position, &view) == 0)
            delivery_dead_letter(f->delivery, index, &view, reason);
    }
    if (first_rejected)
        log_rejected(f, first_rejected, response->counts[ES_ITEM_REJECTED]);
    size_t delivered = response->counts[ES_ITEM_OK] + response->counts[ES_ITEM_ALREADY_EXISTS];
    metric_add(es->metrics.documents, (int64_t)delivered);
    if (retried) {
        metric_add(es->metrics.items_retried, (int64_t)retried);
        count_retry(es, "items");
    }
}

static void handle_ok(struct es_flush *f, const struct http_response *response)
{
    struct es_response parsed;
    char error[ES_RESPONSE_ERROR_SIZE];
    if (es_response_parse(response->body, response->body_len, f->batch.count, &parsed, error) < 0) {
        count_retry(f->es, "bad_response");
        flush_fail(f, true, "%s: the bulk response cannot be read (%s); the batch is sent again",
                   f->es->hosts[f->host].base_url, error);
        return;
    }
    handle_items(f, &parsed);
    es_response_free(&parsed);
}

/* 413: the halves go first, each as its own request. One record alone over
 * the server's limit can never be sent: dead letter. */
static void handle_too_large(struct es_flush *f)
{
    count_retry(f->es, "too_large");
    if (f->batch.count == 1) {
        struct record_view view;
        if (record_view_at(f, f->batch.first, &view) == 0)
            delivery_dead_letter(f->delivery, f->indexes[f->batch.first], &view,
                                 "the document alone is larger than Elasticsearch accepts in "
                                 "a request (413; raise http.max_content_length)");
        return;
    }
    size_t half = f->batch.count / 2;
    f->ranges = xgrow(f->ranges, &f->range_cap, f->range_count + 2, sizeof *f->ranges);
    /* A stack: the first half is pushed last so that it goes first. */
    f->ranges[f->range_count++] = (struct es_range){f->batch.first + half, f->batch.count - half};
    f->ranges[f->range_count++] = (struct es_range){f->batch.first, half};
}

static void handle_denied(struct es_flush *f, const struct http_response *response)
{
    struct es_output *es = f->es;
    if (!es->auth_failing) {
        log_error(es->out->alias,
                  "%s answered %ld (%s): check user/password or api_key and the role's "
                  "privileges on the index; records stay buffered and are retried",
                  es->hosts[f->host].base_url, response->status,
                  response->status == 401 ? "authentication failed" : "not allowed");
        es->auth_failing = true;
    }
    if (response->status == 401)
        es_headers_reload(es);
    count_retry(es, "auth");
    flush_fail(f, true, "HTTP %ld from %s", response->status, es->hosts[f->host].base_url);
}

static void handle_status(struct es_flush *f, const struct http_response *response)
{
    struct es_output *es = f->es;
    const char *url = es->hosts[f->host].base_url;
    long status = response->status;
    if (status != 401 && status != 403 && es->auth_failing && status > 0) {
        log_info(es->out->alias, "%s accepts the credentials again", url);
        es->auth_failing = false;
    }
    if (status == 200) {
        es_hosts_ok(es, f->host);
        handle_ok(f, response);
    } else if (status == 413) {
        handle_too_large(f);
    } else if (status == 401 || status == 403) {
        handle_denied(f, response);
    } else {
        count_retry(es, status == 429 ? "throttled" : "status");
        flush_fail(f, true, "HTTP %ld from %s: %.120s", status, url, response->body);
    }
    if (response->retry_after_ms > 0)
        delivery_retry_after(f->delivery, response->retry_after_ms);
}

/* A host that does not answer, or answers 5xx, is set aside and the
 * same body goes to the next host that is up, once per host: a failing node
 * costs the others one request, not the chunk a retry delay. */
static bool flush_failover(struct es_flush *f, const struct http_response *response)
{
    struct es_output *es = f->es;
    long status = response->status;
    bool host_fault = response->error || status >= 500;
    int64_t now = loop_now_ms(es->out->loop);
    if (!host_fault)
        return false;
    es_hosts_failed(es, f->host, now, response->error ? response->error : "answers 5xx");
    if (f->hosts_tried >= es->host_count || !es_hosts_any_up(es, now))
        return false;
    count_retry(es, "failover");
    flush_request(f);
    return true;
}

static void on_response(void *data, const struct http_response *response)
{
    struct es_flush *f = data;
    struct es_output *es = f->es;
    f->call = NULL;
    count_request(es, response);
    if (flush_failover(f, response))
        return;
    if (response->error) {
        const char *url = es->hosts[f->host].base_url;
        count_retry(es, response->timed_out ? "timeout" : "transport");
        flush_fail(f, true, "%s: %s", url, response->error);
    } else {
        handle_status(f, response);
    }
    flush_next(f);
}

static void flush_request(struct es_flush *f)
{
    struct es_output *es = f->es;
    metric_add(es->metrics.sent_bytes, (int64_t)f->payload->len);
    f->host = es_hosts_pick(es, loop_now_ms(es->out->loop));
    f->hosts_tried++;
    struct http_request request = {
        .method = "POST",
        .url = es->hosts[f->host].bulk_url,
        .headers = (const char *const *)es->headers,
        .header_count = es->header_count,
        .body = f->payload->data,
        .body_len = f->payload->len,
        .timeout_ms = es->opts->timeout_ms,
        .tls = &es->tls,
        .on_done = on_response,
        .data = f,
    };
    f->call = http_client_start(es->http, &request);
    if (!f->call) {
        flush_fail(f, true, "the request could not be started (see the log)");
        flush_next(f);
    }
}

static void flush_send(struct es_flush *f)
{
    struct es_output *es = f->es;
    metric_add(es->metrics.body_bytes, (int64_t)f->body.len);
    f->payload = &f->body;
    if (es->gzip) {
        es_gzip(es, &f->body, &f->gzipped);
        f->payload = &f->gzipped;
    }
    f->hosts_tried = 0;
    flush_request(f);
}

/* Builds the next batch into f->body; false when there is none left. */
static bool flush_build(struct es_flush *f)
{
    struct es_output *es = f->es;
    const struct chunk *chunk = delivery_chunk(f->delivery);
    for (;;) {
        struct es_bulk_options opts = es->bulk;
        size_t first;
        size_t limit = 0;
        if (f->range_count) {
            struct es_range *range = &f->ranges[f->range_count - 1];
            first = range->first;
            limit = range->count;
            opts.batch_max_records = limit;
        } else if (f->cursor < f->list.count) {
            first = f->cursor;
        } else {
            return false;
        }
        struct es_bulk_result result;
        buf_reset(&f->body);
        int rc = es_bulk_build(chunk, &f->list, first, &opts, &f->body, &result);
        size_t took = rc < 0 ? 1 : result.records;
        if (limit) {
            struct es_range *range = &f->ranges[f->range_count - 1];
            range->first += took;
            range->count -= took;
            if (range->count == 0)
                f->range_count--;
        } else {
            f->cursor += took;
        }
        if (rc < 0) {
            f->malformed++;
            continue;
        }
        metric_add(es->metrics.index_fallbacks, (int64_t)result.index_fallbacks);
        metric_add(es->metrics.id_fallbacks, (int64_t)result.id_fallbacks);
        metric_add(es->out->metrics.invalid_utf8, (int64_t)result.stats.invalid_utf8);
        f->batch = (struct es_range){first, result.records};
        return true;
    }
}

static void flush_next(struct es_flush *f)
{
    if (!f->stop && flush_build(f)) {
        flush_send(f);
        return;
    }
    flush_finish(f);
}

/* Lists the records of the chunk not done by earlier attempts. */
static void flush_list(struct es_flush *f)
{
    const struct chunk *chunk = delivery_chunk(f->delivery);
    struct es_record_list all = {0};
    if (es_record_list_from_chunk(&all, chunk) < 0) {
        f->malformed += chunk->record_count - all.count;
        log_error(f->es->out->alias, "chunk %llu is malformed after record %zu",
                  (unsigned long long)chunk->id, all.count);
    }
    f->indexes = xmalloc((all.count ? all.count : 1) * sizeof *f->indexes);
    for (size_t i = 0; i < all.count; i++) {
        if (delivery_record_done(f->delivery, (uint32_t)i))
            continue;
        f->indexes[f->list.count] = (uint32_t)i;
        es_record_list_push(&f->list, all.offsets[i]);
    }
    es_record_list_free(&all);
}

void es_send_flush(struct es_output *es, struct delivery *delivery)
{
    struct es_flush *f = xcalloc(1, sizeof *f);
    f->es = es;
    f->delivery = delivery;
    f->next = es->flushes;
    if (es->flushes)
        es->flushes->prev = f;
    es->flushes = f;
    flush_list(f);
    flush_next(f);
}

/* At destroy: the requests stop without on_done, the deliveries stay with
 * the core, which keeps their chunks buffered. */
void es_send_cancel_all(struct es_output *es)
{
    while (es->flushes) {
        struct es_flush *f = es->flushes;
        if (f->call)
            http_call_cancel(es->http, f->call);
        flush_free(f);
    }
}
