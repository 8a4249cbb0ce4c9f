/* The pipeline: configured instances wired together on the pipeline thread.
 * Inputs emit records; filters that match the tag change or drop them; the
 * router picks the outputs; the records are appended to chunks that are sealed
 * and handed to the output thread; completed chunks release buffer space and
 * acknowledge origins back to their input.
 *
 * This header is also the API plugins use: input_emit, the instance fields,
 * and (for outputs) delivery_done. */
#ifndef SKIFF_PIPELINE_H
#define SKIFF_PIPELINE_H

#include "chunk.h"
#include "config.h"
#include "metrics.h"
#include "plugin.h"
#include "record.h"

#include <stdbool.h>
#include <stdint.h>

struct loop;
struct pipeline;

struct instance_metrics {
    struct metric *records; /* inputs: emitted; outputs: delivered */
    struct metric *bytes;   /* inputs: encoded bytes; outputs: bytes written */
    struct metric
        *buffer_bytes;       /* inputs: bytes in memory in chunks neither delivered nor on disk */
    struct metric *paused;   /* inputs: 1 while paused by backpressure */
    struct metric *pauses;   /* inputs: times paused */
    struct metric *retries;  /* outputs: chunk attempts that will be retried */
    struct metric *failures; /* outputs: chunks given up on */
    struct metric *invalid_utf8; /* outputs: sequences replaced by U+FFFD */
    struct metric *failing;      /* outputs: 1 while output_set_failing holds */
};

struct parser_support;

struct instance {
    const struct plugin *plugin;
    const struct instance_config *config;
    const struct service_config *service; /* state_dir, flush_interval, ... */
    const char *alias;                    /* names the instance in logs and metrics */
    unsigned index;                       /* position within its kind */
    void *options;                        /* the plugin's option struct, filled from its table */
    void *state;                          /* the plugin's own */
    struct pipeline *pipeline;
    struct loop *loop; /* pipeline loop for inputs and filters, output loop for outputs */
    struct instance_metrics metrics;
    /* Outputs: deliveries the output takes at once (plugin init may raise it;
     * the plugin may lower it again on the output thread, and raise it back
     * up to the value it had after init). */
    unsigned max_in_flight;
    /* Outputs: output_set_failing's state, under output_health.c's lock. */
    bool failing;
    char failing_reason[256];
    /* Inputs: state owned by the pipeline. */
    bool paused;          /* by backpressure; the input must not emit */
    int64_t buffer_bytes; /* in memory, in chunks neither released nor on disk */
    bool uses_disk;       /* its chunks are written to the disk buffer */
    bool warned_no_route;
    /* Parsers: time format and counters, owned by parser.c. */
    struct parser_support *parsing;
};

/* The series skiff_records_dropped_total{instance,reason}; a plugin that drops
 * on its hot path looks it up once. */
struct metric *instance_dropped_counter(const struct instance *instance, const char *reason);
/* Counts dropped records under that series. */
void instance_count_dropped(const struct instance *instance, const char *reason, int64_t n);

/* Inputs: hands one record to the pipeline, which takes its contents (*rec is
 * left empty). Never fails and never blocks: when the input's buffer is full
 * the input is paused (plugin->pause) after this record. */
void input_emit(struct instance *input, const char *tag, struct record *rec);

/* Parsers, for the inputs and filters that take a `parser:` option: the
 * parser with that name (the config loader checked that it exists). */
struct instance *pipeline_parser(const struct pipeline *pipeline, const char *name);
/* The loaded configuration, for filters that look up named sections in it
 * (multiline rule sets). */
const struct config *pipeline_config(const struct pipeline *pipeline);
/* Parses `text` into rec's fields, then applies the parser's time_key,
 * time_format and types. On PARSE_FAILED the record is as it was; the failure
 * is counted. `state` is NULL or from parser_state_new, per source. */
enum parse_result parser_parse(struct instance *parser, void *state, const char *text, size_t len,
                               struct record *rec);
/* State for one source; joined partial lines are cut at `max_joined` bytes
 * (the input's max_line_size), the rest counted as truncated. */
void *parser_state_new(struct instance *parser, size_t max_joined);
void parser_state_free(struct instance *parser, void *state);
/* As parser_parse, for a source that can be read again: `text` starts at
 * source offset `start` and ends at rec->origin.offset, so that the state
 * knows where the pieces it holds are (parser_state_held_from). */
enum parse_result parser_parse_at(struct instance *parser, void *state, const char *text,
                                  size_t len, uint64_t start, struct record *rec);
/* Where the oldest piece held in `state` starts (a checkpoint must not pass
 * it); false when nothing is held. */
bool parser_state_held_from(struct instance *parser, const void *state, uint64_t *start);
/* The source ended, or its pieces waited too long: fills `rec` with one
 * partial line held in `state` whose first piece starts before `before`
 * (UINT64_MAX: any), marked partial, rec->origin.offset the end of its last
 * piece, and returns PARSE_OK; PARSE_FAILED when there is none. Call it until
 * it returns PARSE_FAILED. */
enum parse_result parser_state_flush(struct instance *parser, void *state, uint64_t before,
                                     struct record *rec);
/* For parse callbacks: the text's time did not parse (counted, warned once);
 * the record keeps its ingestion time. */
void parser_time_failed(struct instance *parser, const char *what);
/* For parse callbacks: a joined line was cut at max_joined (counted). */
void parser_truncated(struct instance *parser);

/* Filters: hands on a record the filter took (FILTER_TAKEN) from `input`; it
 * goes through the filters after this one, then to its outputs. Takes the
 * record's contents. */
void filter_emit(struct instance *filter, struct instance *input, const char *tag,
                 struct record *rec);
/* Filters: drops a record the filter took, counted in
 * skiff_records_dropped_total{instance=filter,reason}; its origin is
 * acknowledged in order with the records `input` sends to `tag` next. Takes
 * the record's contents. */
void filter_drop(struct instance *filter, struct instance *input, const char *tag,
                 struct record *rec, const char *reason);
/* Filters that hold records taken from `input`: `bytes` more are held (fewer
 * when negative). They count against the input's buffer_limit, so the input
 * pauses while filters hold too much and resumes as they hand records on. */
void filter_hold(struct instance *filter, struct instance *input, int64_t bytes);

/* Outputs: a chunk to send. */
enum delivery_result {
    DELIVERY_OK,     /* the output took every record */
    DELIVERY_RETRY,  /* try again after backoff */
    DELIVERY_FAILED, /* undeliverable: counted and given up on */
};

struct delivery;

const struct chunk *delivery_chunk(const struct delivery *delivery);
/* Ends a flush. `reason` (may be NULL) is logged with a retry or failure.
 * DELIVERY_FAILED, and DELIVERY_RETRY once retry_limit is used up, send every
 * record not yet marked done to the output's dead-letter file with `reason`. */
void delivery_done(struct delivery *delivery, enum delivery_result result, const char *reason);

/* Per-record bookkeeping that lasts across the retries of one delivery, for
 * outputs that learn the fate of each record (Elasticsearch's bulk items).
 * Records are numbered from 0 in chunk order (the order chunk_next gives). */
bool delivery_record_done(const struct delivery *delivery, uint32_t index);
/* The destination took record `index`: a retry must not send it again, and it
 * is not dead-lettered. */
void delivery_mark_done(struct delivery *delivery, uint32_t index);
/* The destination refused record `index` for good (a mapping error, say):
 * writes it with `reason` to state_dir/dead-letter/<output>.ndjson, counts it,
 * and marks it done. */
void delivery_dead_letter(struct delivery *delivery, uint32_t index, const struct record_view *rec,
                          const char *reason);
/* The next retry of this delivery waits at least `delay_ms` (Retry-After). */
void delivery_retry_after(struct delivery *delivery, int64_t delay_ms);
/* True when a DELIVERY_RETRY now would use up retry_limit. */
bool delivery_is_last_attempt(const struct delivery *delivery);

/* Outputs: the destination refuses every request for a reason that will not
 * heal by itself (a 400 for a whole request, credentials refused). /readyz
 * answers 503 naming the output and `reason` (cut at 255 bytes), and
 * skiff_output_failing{instance} is 1, until output_clear_failing. Records
 * stay buffered as the output's retries decide. Any thread. */
void output_set_failing(struct instance *output, const char *reason);
void output_clear_failing(struct instance *output);

/* Builds every instance from the config (plugin init). Returns NULL after
 * logging if an instance cannot start. */
struct pipeline *pipeline_create(const struct config *config);
/* Runs until SIGTERM/SIGINT, then shuts down within service.grace. Returns the
 * process exit code. */
int pipeline_run(struct pipeline *pipeline);
void pipeline_destroy(struct pipeline *pipeline);

#endif
