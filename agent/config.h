/* The loaded configuration: service settings and one instance_config per
 * configured input, filter and output, each validated against its option
 * tables. config_load reports every problem at once. */
#ifndef SKIFF_CONFIG_H
#define SKIFF_CONFIG_H

#include "diag.h"
#include "options.h"
#include "plugin.h"

#include <stdint.h>

struct cfg_node;

struct http_config {
    char *listen; /* host:port, or NULL when the server is off */
    char *reload; /* who may POST /reload: "local", "any" or "off" */
};

struct storage_config {
    char *type;       /* "memory" or "filesystem" */
    int64_t max_size; /* bytes of chunk files on disk */
    char *sync;       /* "normal": no fsync; "full": fsync every chunk file */
};

struct dead_letter_config {
    int64_t max_size; /* bytes in the dead-letter folder; 0 = off */
};

struct service_config {
    char *log_level;
    char *state_dir;
    int64_t flush_interval_ms;
    int64_t grace_ms;
    struct http_config http;
    struct storage_config storage;
    struct dead_letter_config dead_letter;
};

/* Options every instance of a kind takes, besides the plugin's own. */
struct instance_common {
    char *name;           /* the plugin */
    char *alias;          /* names the instance in logs and metrics; default <plugin>.<index> */
    char *tag;            /* inputs */
    char *match;          /* filters and outputs: glob over tags, `*` matches any run */
    int64_t buffer_limit; /* inputs: bytes buffered in memory before the input pauses */
    char *storage_type;   /* inputs: "memory", "filesystem", or NULL for service.storage.type */
    int64_t retry_min_ms; /* outputs */
    int64_t retry_max_ms; /* outputs */
    int64_t retry_limit;  /* outputs: attempts after the first; -1 = no limit */
    char *time_key;       /* parsers: field holding the record's time */
    char *time_format;    /* parsers: its strptime-style format; unset = RFC 3339 */
    bool time_keep;       /* parsers: keep the field after taking the time from it */
    char *time_zone;      /* parsers: IANA zone of times written without an offset */
    struct value types;   /* parsers: field -> int, float, bool or string */
};

struct instance_config {
    const struct plugin *plugin;
    unsigned index; /* position within its kind */
    struct instance_common common;
    void *options; /* plugin->options_size bytes, filled from plugin->options */
    const struct cfg_node *node;
};

/* What a plugin made of the top-level section it owns (plugin->section). */
struct config_section {
    const struct plugin *plugin;
    void *data; /* from plugin->section_load, freed by plugin->section_free */
};

struct config {
    char *path;
    struct cfg_node *root;
    struct service_config service;
    struct instance_config *inputs;
    size_t input_count;
    struct instance_config *filters;
    size_t filter_count;
    struct instance_config *outputs;
    size_t output_count;
    struct instance_config *parsers; /* the `parsers:` list; alias is the parser's name */
    size_t parser_count;
    struct config_section *sections; /* one per registered plugin that owns one */
    size_t section_count;
};

extern const struct option_spec service_options[];
extern const struct option_spec input_common_options[];
extern const struct option_spec filter_common_options[];
extern const struct option_spec output_common_options[];
extern const struct option_spec parser_common_options[];

/* Loads and validates. Returns 0, or -1 with every problem in `diags` (the
 * config is then freed). */
int config_load(const char *path, struct config *out, struct diag_list *diags);
int config_load_string(const char *name, const char *yaml, struct config *out,
                       struct diag_list *diags);
void config_free(struct config *config);

/* What `plugin` made of its top-level section (plugin->section), or NULL. */
const void *config_section(const struct config *config, const struct plugin *plugin);

/* For plugins that check their section or an instance against the whole
 * configuration, so that their messages read as the loader's own. */
/* Reports every key of `map` not in `allowed`, with a "did you mean";
 * `prefix` starts each message ("pipeline: ", or "" at the top). */
void config_check_keys(const struct cfg_node *map, const char *const *allowed, size_t count,
                       const char *prefix, struct diag_list *diags);
/* "outputs[0]", and "outputs[0] (file)" once the plugin is known. */
char *config_instance_context(enum plugin_kind kind, unsigned index, const struct plugin *plugin);
/* Where a message about option `key` of an item points: its value if given,
 * else the item. */
const struct cfg_node *config_option_node(const struct instance_config *inst, const char *key);

/* The common options of a kind, for --describe. */
const struct option_spec *config_common_options(enum plugin_kind kind);

#endif
