/* The plugin interface and registry. A plugin is a static struct: its name,
 * kind, option table and callbacks. Inputs and filters run on the pipeline
 * thread; outputs run on the output thread. A callback a kind does not use is
 * NULL. */
#ifndef SKIFF_PLUGIN_H
#define SKIFF_PLUGIN_H

#include "options.h"
#include "record.h"

#include <stddef.h>

struct cfg_node;
struct config;
struct diag_list;
struct instance_config;
struct instance;
struct delivery;

enum plugin_kind { PLUGIN_INPUT, PLUGIN_FILTER, PLUGIN_OUTPUT, PLUGIN_PARSER };

enum parse_result {
    PARSE_OK,      /* the record holds the parsed fields */
    PARSE_PENDING, /* a partial line was kept, to be joined with what follows */
    PARSE_FAILED,  /* the text does not have the parser's format; the record is unchanged */
};

enum filter_result {
    FILTER_KEEP,  /* the record goes on (possibly changed) */
    FILTER_DROP,  /* the filter counted why; the record is freed and acknowledged */
    FILTER_TAKEN, /* the filter moved the record out (record_move) to hand it on
                     later with filter_emit; it must keep the order of each
                     source's records, so acknowledgements stay in order */
};

struct plugin {
    const char *name;
    enum plugin_kind kind;
    const char *description; /* one line */
    const struct option_spec *options;
    size_t options_size; /* size of the struct the table fills */

    /* Checks what the table cannot express (combinations of options). Runs at
     * load time, also for --dry-run. May be NULL. */
    int (*validate)(const void *options, const struct cfg_node *node, const char *context,
                    struct diag_list *diags);
    /* A top-level key of the configuration the plugin owns (NULL: none), such
     * as a list of definitions its instances name. section_load reads it at
     * load time, also for --dry-run (node NULL when the key is absent), with
     * its problems in `diags`, and returns what it made: config_section()
     * gives it back, section_free frees it with the config. */
    const char *section;
    void *(*section_load)(const struct cfg_node *node, struct diag_list *diags);
    void (*section_free)(void *data);
    /* Checks one instance against the whole configuration (names it takes
     * from the plugin's section), after every section and item loaded. May
     * be NULL. */
    void (*validate_config)(const struct config *config, const struct instance_config *instance,
                            struct diag_list *diags);
    /* Allocates instance->state. Returns 0, or -1 after logging why. */
    int (*init)(struct instance *instance);
    void (*destroy)(struct instance *instance);

    /* Inputs. start registers the input's fds and timers on instance->loop.
     * pause/resume are backpressure from the chunk store: a paused input emits
     * at most what it already holds in hand. stop ends reading for good (at
     * shutdown). ack reports records as delivered: for each source, every
     * record up to `offset` is done (called in order per source). */
    int (*start)(struct instance *instance);
    void (*pause)(struct instance *instance);
    void (*resume)(struct instance *instance);
    void (*stop)(struct instance *instance);
    void (*ack)(struct instance *instance, const struct record_origin *origin);

    /* Filters: change, drop or take one record that `input` emitted. drain
     * hands on what the filter holds (at shutdown). */
    enum filter_result (*filter)(struct instance *instance, struct instance *input, const char *tag,
                                 struct record *rec);
    void (*drain)(struct instance *instance);
    /* Filters that give records new tags (filter_reemit): the tags they may
     * give, as `match` patterns with `*` where the tag depends on the record,
     * so that a `match` for them is not reported as reaching no input. At
     * load time, from the options (which may have failed their checks): a
     * malloc'ed NULL-terminated array of malloc'ed strings, or NULL. */
    char **(*emitted_tags)(const void *options);

    /* Outputs, on the output thread: send the delivery's chunks and call
     * delivery_done() exactly once, now or later from the output loop. */
    void (*flush)(struct instance *instance, struct delivery *delivery);

    /* Parsers. `builtin` ones can be used by their plugin name without a
     * `parsers:` entry. parse adds the fields it finds to rec->fields and may
     * set rec->time; the time_key, time_format and types options are applied
     * afterwards by parser.c. Parsers that join partial lines keep what they
     * hold per source in a state from state_new (NULL for the others). */
    bool builtin;
    enum parse_result (*parse)(struct instance *parser, void *state, const char *text, size_t len,
                               struct record *rec);
    void *(*state_new)(struct instance *parser, size_t max_joined);
    void (*state_free)(void *state);
    /* Hands on, as a record, one partial line still held in `state` whose
     * first piece starts before source offset `before` (the source ended, or
     * the line waited too long for its last piece), marked partial, with
     * rec->origin.offset the end of its last piece. PARSE_OK while there was
     * one. */
    enum parse_result (*state_flush)(struct instance *parser, void *state, uint64_t before,
                                     struct record *rec);
    /* For sources that can be read again (files): the next text given to
     * parse starts at source offset `start`; it ends at rec->origin.offset. */
    void (*state_at)(void *state, uint64_t start);
    /* Where the oldest piece still held starts; false when none is held. */
    bool (*state_held_from)(const void *state, uint64_t *start);
};

const struct plugin *plugin_find(const char *name, enum plugin_kind kind);
/* NULL-terminated list of every registered plugin. */
const struct plugin *const *plugin_all(void);
const char *plugin_kind_name(enum plugin_kind kind);

#endif
