/* The plugin API: everything a plugin may see and call, and nothing else.
 * Inputs emit records and learn whether they are paused; parsers are called
 * through parser_parse; filters hand on, drop or hold records; outputs end
 * deliveries (delivery.h) and report failing destinations. struct plugin
 * (plugin.h) is what a plugin provides in return.
 *
 * The pipeline's life cycle (pipeline.h) and its state (pipeline_internal.h)
 * are the core's own: no plugin includes them (tests/check_plugins.py). */
#ifndef SKIFF_PLUGIN_API_H
#define SKIFF_PLUGIN_API_H

#include "chunk.h"
#include "config.h"
#include "delivery.h"
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

struct instance_core;
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
    /* Outputs: the most bytes of buffered records (their chunk encoding) one
     * delivery takes. Chunks waiting for the output are then handed on
     * together, as one delivery of several chunks (delivery_chunk_count),
     * while they fit; always at least one. 0, the default: one chunk per
     * delivery. Set by plugin init. */
    size_t delivery_max_bytes;
    /* Owned by the core, opaque here: an input's backpressure and buffer
     * accounting, an output's failing state (pipeline_internal.h). */
    struct instance_core *core;
    /* Parsers: time format and counters, owned by parser.c. */
    struct parser_support *parsing;
};

/* The series skiff_records_dropped_total{instance,reason}; a plugin that drops
 * on its hot path looks it up once (at init, or on its first drop) and keeps
 * it: the lookup builds the labels and takes the registry's lock. */
struct metric *instance_dropped_counter(const struct instance *instance, const char *reason);
/* Counts dropped records under that series, looking it up each time: for
 * drops off the hot path (a chunk at a time, at shutdown). */
void instance_count_dropped(const struct instance *instance, const char *reason, int64_t n);

/* Inputs: hands one record to the pipeline, which takes its contents (*rec is
 * left empty). Never fails and never blocks: when the input's buffer is full
 * the input is paused (plugin->pause) after this record. */
void input_emit(struct instance *input, const char *tag, struct record *rec);
/* Inputs: the records emitted between these two calls all carry `tag`, the
 * same pointer, alive and unchanged until input_run_end (a file's records,
 * from one read): the pipeline routes the tag and finds its open chunk once
 * per run, not once per record. Records emitted with another tag pointer in
 * between are routed as usual. */
void input_run_begin(struct instance *input, const char *tag);
void input_run_end(struct instance *input);
/* Inputs, after input_run_begin: about `bytes` of the source wait to be read
 * from the run's start on (a file read from behind), so a chunk the run opens
 * is given room for their records at once rather than grown (copied) as they
 * come. A hint, never a promise; runs without it grow their chunks. */
void input_run_expect(struct instance *input, uint64_t bytes);
/* Inputs: true while the pipeline paused the input (backpressure): it must not
 * emit until plugin->resume. */
bool input_is_paused(const struct instance *input);
/* Inputs: when the records emitted now will be sealed and handed to the
 * outputs (monotonic ms, as loop_now_ms), or -1 if no chunk is open (the next
 * record opens one and is sealed flush_interval after it). An input woken for
 * a little new data may wait until just before then to read it, in one go,
 * without delaying it. */
int64_t input_flush_due_ms(const struct instance *input);

/* Parsers, for the inputs and filters that take a `parser:` option: the
 * parser with that name (the config loader checked that it exists). */
struct instance *pipeline_parser(const struct pipeline *pipeline, const char *name);
/* The loaded configuration, for plugins that read what they made of their
 * own section (config_section). */
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
/* Filters: drops a record the filter took, counted in `dropped`, a series
 * of skiff_records_dropped_total the filter looked up once
 * (instance_dropped_counter); its origin is acknowledged in order with the
 * records `input` sends to `tag` next. Takes the record's contents. */
void filter_drop(struct instance *filter, struct instance *input, const char *tag,
                 struct record *rec, struct metric *dropped);
/* Filters: gives a record from `input` the tag `tag` and sends it through
 * the whole pipeline again, from the first filter, as if `input` had emitted
 * it under that tag (filters and outputs by the new tag; the record skips
 * the filter that calls this). Its origin stays `input`'s, so `input` is
 * acknowledged for it as for its other records: from then on the input's
 * chunks are sealed together, and a checkpoint moves only when every tag a
 * source's records went to is done. A record given a new tag 8 times is
 * dropped (skiff_records_dropped_total{reason="rewrite_loop"}, logged once).
 * Takes the record's contents: a filter that keeps the record under its own
 * tag too re-emits a copy (record_copy) and returns FILTER_KEEP; one that
 * does not returns FILTER_TAKEN. Called from the filter callback, it runs
 * the record through before returning. */
void filter_reemit(struct instance *filter, struct instance *input, const char *tag,
                   struct record *rec);
/* Filters that hold records taken from `input`: `bytes` more are held (fewer
 * when negative). They count against the input's buffer_limit, so the input
 * pauses while filters hold too much and resumes as they hand records on. */
void filter_hold(struct instance *filter, struct instance *input, int64_t bytes);

/* Outputs: the destination refuses every request for a reason that will not
 * heal by itself (a 400 for a whole request, credentials refused). /readyz
 * answers 503 naming the output and `reason` (cut at 255 bytes), and
 * skiff_output_failing{instance} is 1, until output_clear_failing. Records
 * stay buffered as the output's retries decide. Any thread. */
void output_set_failing(struct instance *output, const char *reason);
void output_clear_failing(struct instance *output);

/* A password, API key, token or key the plugin holds (or a form of it a
 * server may echo: the credentials of an Authorization header). From then
 * on it is printed as "***" in every log line, /readyz reason and
 * dead-letter reason, whoever writes it: the second line of defence when a
 * server quotes it back. Plugins never print one themselves. Empty values
 * are ignored. Any thread; call it again with a value read anew. */
void secret_register(const char *value);
/* `text` with every registered secret as "***", a new string; NULL when it
 * holds none. For a server's answer before it is cut to an excerpt (a cut
 * secret is no longer recognised where it is printed). Any thread. */
char *secret_mask(const char *text);
/* A secret kept in a file (password_file, api_key_file, a Kubernetes
 * Secret mounted as a file): its first line, without the line end and
 * trailing blanks, malloc'ed and registered (secret_register). NULL with
 * *error (malloc'ed; it names the path, never the content) when the file
 * cannot be read, its first line is empty, or longer than
 * SECRET_FILE_LINE_MAX bytes. Free it with secret_free. */
#define SECRET_FILE_LINE_MAX 4096
char *secret_read_file(const char *path, char **error);
/* Overwrites and frees a secret (NULL: nothing). */
void secret_free(char *secret);

#endif
