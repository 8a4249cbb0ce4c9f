/* The answers to `_bulk` requests: each item's fate (delivered, sent again,
 * held until the cluster's setup is fixed, dead-lettered), and for a whole
 * request: a 413 or a response too large to hold splits the batch; a 429
 * stops the attempt and, repeated, shrinks the batches and the chunks in
 * flight; a 400 (or 401/403) marks the output failing until the next
 * success; a transport error or 5xx sends the batch to the next host. */
#include "es_flush.h"

#include "es_response.h"
#include "log.h"
#include "loop.h"
#include "xalloc.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    REJECTED_LOG_INTERVAL_MS = 60000,
    /* Successes in a row before a step back to the configured batch size and
     * max_in_flight, after 429s shrank them. */
    THROTTLE_RESTORE_AFTER = 4,
};

static struct metric *labelled_counter(struct es_output *es, const char *name, const char *help,
                                       const char *label, const char *value)
{
    struct buf labels = BUF_INIT;
    metrics_labels(&labels, "instance", es->out->alias, label, value, NULL);
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

/* The output is failing while credentials, a whole request or the
 * cluster's setup is refused; it clears at the first answer that is not. */
static void set_failing(struct es_output *es, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void set_failing(struct es_output *es, const char *fmt, ...)
{
    char reason[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    output_set_failing(es->out, reason);
}

/* The server's error, from its answer masked whole before it is cut to an
 * excerpt: a proxy may quote the Authorization header back. */
static void request_error(const struct http_response *response, struct buf *error)
{
    char *body = xstrndup(response->body ? response->body : "", response->body_len);
    char *masked = secret_mask(body);
    const char *text = masked ? masked : body;
    es_response_request_error(text, strlen(text), error);
    free(masked);
    free(body);
}

static void update_failing(struct es_output *es)
{
    if (!es->auth_failing && !es->request_refused && !es->items_held)
        output_clear_failing(es->out);
}

/* Items the cluster's setup refuses (privileges, a missing pipeline): the
 * same for every document, so the attempt stops and the chunk is retried
 * at retry_max; one log line per run of them, quoting Elasticsearch. */
static void handle_held(struct es_flush *f, const struct es_item *example, size_t count)
{
    struct es_output *es = f->es;
    const char *url = es->hosts[f->host].base_url;
    const char *fix = example->status == 400
                          ? "create the ingest pipeline"
                          : "grant the role the privilege (create_doc for write_operation "
                            "create, index for index)";
    if (!es->items_held)
        log_error(es->out->alias,
                  "%s refused %zu documents with %d %s: %s; %s: the records stay buffered and "
                  "are retried every retry_max until then",
                  url, count, example->status, example->error_type, example->error_reason, fix);
    es->items_held = true;
    set_failing(es, "documents refused: %d %s: %s", example->status, example->error_type,
                example->error_reason);
    count_retry(es, "held");
    delivery_retry_after(f->delivery, INT64_MAX);
    es_flush_fail(f, true, "%zu documents refused (%d %s); they stay buffered", count,
                  example->status, example->error_type);
}

static void items_not_held(struct es_output *es)
{
    if (!es->items_held)
        return;
    log_info(es->out->alias, "documents are accepted again");
    es->items_held = false;
    update_failing(es);
}

static void reject_item(struct es_flush *f, size_t position, const struct es_item *item)
{
    struct record_view view;
    char reason[ES_RESPONSE_ERROR_SIZE * 2 + 64];
    item_reason(reason, sizeof reason, item);
    if (es_flush_record_at(f, position, &view) == 0)
        delivery_dead_letter(f->delivery, f->indexes[position], &view, reason);
}

static void handle_items(struct es_flush *f, const struct es_response *response)
{
    struct es_output *es = f->es;
    struct item_error_counter errors = {0};
    const struct es_item *first_rejected = NULL;
    const struct es_item *first_held = NULL;
    size_t retried = 0;
    for (size_t i = 0; i < response->count; i++) {
        const struct es_item *item = &response->items[i];
        size_t position = f->batch.first + i;
        if (item->class == ES_ITEM_OK || item->class == ES_ITEM_ALREADY_EXISTS) {
            delivery_mark_done(f->delivery, f->indexes[position]);
            continue;
        }
        count_item_error(es, &errors, item);
        if (item->class == ES_ITEM_RETRY && !retried++)
            es_flush_fail(f, false, "%zu items answered %d (%s); they are sent again",
                          response->counts[ES_ITEM_RETRY], item->status, item->error_type);
        if (item->class == ES_ITEM_HELD && !first_held)
            first_held = item;
        if (item->class != ES_ITEM_REJECTED)
            continue;
        if (!first_rejected)
            first_rejected = item;
        reject_item(f, position, item);
    }
    if (first_rejected)
        log_rejected(f, first_rejected, response->counts[ES_ITEM_REJECTED]);
    if (first_held)
        handle_held(f, first_held, response->counts[ES_ITEM_HELD]);
    else
        items_not_held(es);
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
    char *error = NULL;
    if (es_response_parse(response->body, response->body_len, f->batch.count, &parsed, &error) <
        0) {
        count_retry(f->es, "bad_response");
        es_flush_fail(f, true, "%s: the bulk response cannot be read (%s); the batch is sent again",
                      f->es->hosts[f->host].base_url, error);
        free(error);
        return;
    }
    handle_items(f, &parsed);
    es_response_free(&parsed);
}

/* 413, or a response over ES_RESPONSE_MAX_BYTES: the halves go first, each
 * as its own request. One record alone over the server's limit can never be
 * sent: dead letter. */
static void handle_too_large(struct es_flush *f, const char *why)
{
    count_retry(f->es, why);
    if (f->batch.count > 1) {
        es_flush_split(f);
        return;
    }
    struct record_view view;
    if (es_flush_record_at(f, f->batch.first, &view) == 0)
        delivery_dead_letter(f->delivery, f->indexes[f->batch.first], &view,
                             strcmp(why, "too_large") == 0
                                 ? "the document alone is larger than Elasticsearch accepts in "
                                   "a request (413; raise http.max_content_length)"
                                 : "the answer to this document alone is larger than skiff "
                                   "holds");
}

static void handle_denied(struct es_flush *f, const struct http_response *response)
{
    struct es_output *es = f->es;
    const char *url = es->hosts[f->host].base_url;
    const char *what = response->status == 401 ? "authentication failed" : "not allowed";
    if (!es->auth_failing)
        log_error(es->out->alias,
                  "%s answered %ld (%s): check user/password or api_key and the role's "
                  "privileges on the index; records stay buffered and are retried",
                  url, response->status, what);
    es->auth_failing = true;
    set_failing(es, "%s answered %ld (%s)", url, response->status, what);
    if (response->status == 401)
        es_headers_reload(es);
    count_retry(es, "auth");
    es_flush_fail(f, true, "HTTP %ld from %s", response->status, url);
}

/* A 400 (or another 4xx) for the whole request will not heal by itself (a
 * _type refused, a media type, a proxy's rule): said once, whole, and the
 * chunk waits for retry_max between attempts; the output is failing until a
 * request passes. */
static void handle_refused(struct es_flush *f, const struct http_response *response)
{
    struct es_output *es = f->es;
    const char *url = es->hosts[f->host].base_url;
    struct buf error = BUF_INIT;
    request_error(response, &error);
    if (!es->request_refused)
        log_error(es->out->alias,
                  "%s refused the whole bulk request with %ld: %s; the records stay buffered "
                  "and are retried every retry_max until this is fixed (the output shows as "
                  "failing on /readyz and in skiff_output_failing)",
                  url, response->status, error.data);
    es->request_refused = true;
    set_failing(es, "HTTP %ld from %s: %s", response->status, url, error.data);
    count_retry(es, "refused");
    delivery_retry_after(f->delivery, INT64_MAX);
    es_flush_fail(f, true, "HTTP %ld from %s: %s", response->status, url, error.data);
    buf_free(&error);
}

static void throttle_set_in_flight(struct es_output *es, unsigned n)
{
    es->out->max_in_flight = n;
    metric_set(es->metrics.in_flight_limit, n);
}

/* A second 429 in a row halves the batch (down to one record) and the chunks
 * in flight (down to one): a request over the cluster's indexing pressure
 * limit would otherwise be refused unchanged forever. */
static void throttle_refused(struct es_output *es, size_t sent)
{
    struct es_throttle *t = &es->throttle;
    t->ok_in_row = 0;
    if (++t->refused_in_row < 2)
        return;
    if (!t->batch_records)
        t->shrunk_from = sent;
    size_t base = t->batch_records && t->batch_records < sent ? t->batch_records : sent;
    size_t next = base > 1 ? base / 2 : 1;
    unsigned in_flight = es->out->max_in_flight > 1 ? es->out->max_in_flight / 2 : 1;
    if (next == t->batch_records && in_flight == es->out->max_in_flight)
        return;
    t->batch_records = next;
    metric_add(es->metrics.batch_shrinks, 1);
    metric_set(es->metrics.batch_limit, (int64_t)next);
    throttle_set_in_flight(es, in_flight);
    log_warn(es->out->alias,
             "429 for whole requests %u times in a row: batches cut to %zu records and %u "
             "chunks in flight until requests pass again",
             t->refused_in_row, next, in_flight);
}

/* After THROTTLE_RESTORE_AFTER successes in a row: one step back, the batch
 * doubled (no limit once it reaches the size that was refused) and one more
 * chunk in flight. */
static void throttle_passed(struct es_output *es)
{
    struct es_throttle *t = &es->throttle;
    unsigned configured = (unsigned)es->opts->max_in_flight;
    t->refused_in_row = 0;
    if (!t->batch_records && es->out->max_in_flight >= configured)
        return;
    if (++t->ok_in_row < THROTTLE_RESTORE_AFTER)
        return;
    t->ok_in_row = 0;
    if (t->batch_records) {
        t->batch_records *= 2;
        if (t->batch_records >= t->shrunk_from)
            t->batch_records = 0;
        metric_set(es->metrics.batch_limit, (int64_t)t->batch_records);
    }
    if (es->out->max_in_flight < configured)
        throttle_set_in_flight(es, es->out->max_in_flight + 1);
    if (!t->batch_records && es->out->max_in_flight >= configured)
        log_info(es->out->alias, "requests pass again: batches and chunks in flight as configured");
}

static void handle_throttled(struct es_flush *f, const struct http_response *response)
{
    struct es_output *es = f->es;
    struct buf error = BUF_INIT;
    request_error(response, &error);
    throttle_refused(es, f->batch.count);
    count_retry(es, "throttled");
    es_flush_fail(f, true, "HTTP 429 from %s: %s", es->hosts[f->host].base_url, error.data);
    buf_free(&error);
}

static void handle_passed(struct es_flush *f, const struct http_response *response)
{
    struct es_output *es = f->es;
    es_hosts_ok(es, f->host);
    throttle_passed(es);
    if (es->request_refused) {
        log_info(es->out->alias, "%s accepts bulk requests again", es->hosts[f->host].base_url);
        es->request_refused = false;
        update_failing(es);
    }
    handle_ok(f, response);
}

static void handle_status(struct es_flush *f, const struct http_response *response)
{
    struct es_output *es = f->es;
    const char *url = es->hosts[f->host].base_url;
    long status = response->status;
    if (status != 401 && status != 403 && es->auth_failing && status > 0) {
        log_info(es->out->alias, "%s accepts the credentials again", url);
        es->auth_failing = false;
        update_failing(es);
    }
    if (status == 200) {
        handle_passed(f, response);
    } else if (status == 401 || status == 403) {
        handle_denied(f, response);
    } else if (status == 429) {
        handle_throttled(f, response);
    } else if (status >= 400 && status < 500) {
        handle_refused(f, response);
    } else {
        struct buf error = BUF_INIT;
        request_error(response, &error);
        count_retry(es, "status");
        es_flush_fail(f, true, "HTTP %ld from %s: %s", status, url, error.data);
        buf_free(&error);
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
    es_flush_request(f);
    return true;
}

/* Before any host fault: a 413 that came while the body was still being
 * sent (the server closes the connection then, and the send fails), and a
 * response too large to hold, are about the batch, not the host. */
static bool batch_fault(struct es_flush *f, const struct http_response *response)
{
    struct es_output *es = f->es;
    if (response->status == 413) {
        handle_too_large(f, "too_large");
        return true;
    }
    if (response->over_budget) {
        count_retry(es, "responses_held");
        es_flush_fail(f, true, "%s: %s", es->hosts[f->host].base_url, response->error);
        return true;
    }
    if (response->over_limit) {
        handle_too_large(f, "response_too_large");
        return true;
    }
    return false;
}

void es_answer(void *data, const struct http_response *response)
{
    struct es_flush *f = data;
    struct es_output *es = f->es;
    f->call = NULL;
    /* A streamed batch ends here, whether or not the server read it all
     * (an early 413): item i is list position batch.first + i. */
    es_flush_batch_end(f);
    count_request(es, response);
    if (batch_fault(f, response)) {
        es_flush_next(f);
        return;
    }
    if (flush_failover(f, response))
        return;
    if (response->error) {
        const char *url = es->hosts[f->host].base_url;
        count_retry(es, response->timed_out ? "timeout" : "transport");
        es_flush_fail(f, true, "%s: %s", url, response->error);
    } else {
        handle_status(f, response);
    }
    es_flush_next(f);
}
