/* How `skiff --convert` maps Fluent Bit's sections and plugins onto skiff's:
 * per plugin, a table of Fluent Bit option name -> skiff option and the kind
 * of conversion (convert_map_input.c, convert_map_filter.c, ...), run by one
 * engine (convert_map.c). What a table cannot say (an index made of four
 * Logstash options, a default Fluent Bit users depend on) is a plugin's
 * `begin` or `finish` hook. */
#ifndef SKIFF_CONVERT_MAP_H
#define SKIFF_CONVERT_MAP_H

#include "convert_model.h"
#include "convert_out.h"

enum fb_kind { FB_INPUT, FB_FILTER, FB_OUTPUT };

/* One line for stderr: "FILE:LINE: text", sorted by file and line. */
struct convert_note {
    const char *file; /* NULL: the text has its position already */
    unsigned line;
    size_t order;
    char *text;
};

/* The whole conversion: the document being written and what is reported. */
struct convert {
    struct fb_config *fb;
    struct out_node *doc;
    struct out_node *service, *parsers, *multiline_parsers, *inputs, *filters, *outputs;
    struct convert_note *notes; /* what was not carried, for stderr */
    size_t note_count, note_cap;
    struct diag_list errors; /* values Fluent Bit would refuse */
    size_t filters_in_front; /* multiline filters made from tail inputs */
    bool has_kubernetes;     /* a kubernetes filter is configured */
};

enum map_kind {
    MAP_STRING,  /* copied */
    MAP_LOWER,   /* copied in lower case (choices: `nest`, `normal`) */
    MAP_BOOL,    /* On/Off... -> true/false */
    MAP_INT,     /* an integer */
    MAP_NUMBER,  /* an integer or decimal number */
    MAP_SIZE,    /* 5MB, 32k -> skiff's size */
    MAP_SECONDS, /* seconds, maybe with a fraction -> a duration */
    MAP_TIME,    /* a Fluent Bit time (5, 10m, 1h) -> a duration */
    MAP_LIST,    /* a comma list; repeated keys add to the list */
    MAP_EACH,    /* each line one item of a list, as written */
    MAP_CUSTOM,  /* the option's own function */
    MAP_LATER,   /* read by the plugin's begin or finish hook */
    MAP_NOTE,    /* carried by what skiff does anyway: a comment, not reported */
    MAP_NONE,    /* no equivalent: a comment, and reported */
};

struct map_ctx;
struct map_option;
typedef void (*map_custom_fn)(struct map_ctx *m, const struct fb_prop *p,
                              const struct map_option *o);

struct map_option {
    const char *fb;    /* Fluent Bit's name, any case */
    const char *skiff; /* skiff's option (a path: `tls.verify`), or NULL */
    enum map_kind kind;
    const char *note; /* why, for MAP_NONE and MAP_NOTE */
    map_custom_fn custom;
};

struct map_plugin {
    const char *fb_name;
    const char *skiff_name;
    const struct map_option *options;  /* ends with {0} */
    void (*begin)(struct map_ctx *m);  /* after name, alias, tag, match */
    void (*finish)(struct map_ctx *m); /* after every option */
    /* Instead of the engine, for a plugin that becomes several items. */
    void (*convert)(struct convert *cv, const struct fb_section *s);
};

/* One Fluent Bit section being made into one skiff item. */
struct map_ctx {
    struct convert *cv;
    const struct fb_section *section;
    const char *label; /* `[INPUT] tail`, `[SERVICE]`: for comments and notes */
    struct out_node *item;
    const char *drop; /* set by a hook: the item becomes this comment instead */
};

/* The plugin tables (NULL-terminated), by kind. */
extern const struct map_plugin *const map_inputs[];
extern const struct map_plugin *const map_filters[];
extern const struct map_plugin *const map_outputs[];
/* Options every plugin of a kind takes, Fluent Bit's and skiff's. */
extern const struct map_option map_input_common[];
extern const struct map_option map_filter_common[];
extern const struct map_option map_output_common[];

/* Converts one [INPUT], [FILTER] or [OUTPUT] section into the document. */
void map_plugin_section(struct convert *cv, enum fb_kind kind, const struct fb_section *s);
/* [SERVICE], [PARSER], [MULTILINE_PARSER] (convert_map_service.c). */
void map_service(struct convert *cv, const struct fb_section *s);
/* HTTP_Server, HTTP_Listen, HTTP_Port of every [SERVICE]: http.listen. */
void map_service_http(struct convert *cv);
void map_parser(struct convert *cv, const struct fb_section *s);
void map_multiline_parser(struct convert *cv, const struct fb_section *s);
/* Runs a table over a section's properties into m->item (the engine). */
void map_options(struct map_ctx *m, const struct map_option *const *tables, size_t table_count);

/* Reports the section's groups (a YAML map value: `processors`), which no
 * skiff option takes. */
void map_groups_none(struct map_ctx *m);

/* ---- for the tables' functions ---- */

/* The property's value as skiff text (variables replaced; convert_value.h). */
char *map_text(const struct map_ctx *m, const struct fb_prop *p);
/* Sets a skiff option from a property (its source is the property's line). */
void map_set(struct map_ctx *m, const char *path, struct out_node *node, const struct fb_prop *p);
void map_set_string(struct map_ctx *m, const char *path, const char *text, const struct fb_prop *p);
void map_set_raw(struct map_ctx *m, const char *path, const char *text, const struct fb_prop *p);
/* Writes a Fluent Bit default that differs from skiff's, explained. */
void map_set_default(struct map_ctx *m, const char *path, struct out_node *node, const char *why);
/* Appends `text` to the list option `path`. */
void map_add_item(struct map_ctx *m, const char *path, struct out_node *node,
                  const struct fb_prop *p);
/* A comment in place; with `report` also a line on stderr. */
void map_comment(struct map_ctx *m, const struct fb_prop *p, bool report, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* An option skiff has no equivalent of: comment and report. */
void map_none(struct map_ctx *m, const struct fb_prop *p, const char *why);
/* A value Fluent Bit would not take: an error (exit 2) and a comment. */
void map_bad_value(struct map_ctx *m, const struct fb_prop *p, const char *expected);
/* A report line (stderr) at `file:line`. */
void convert_note(struct convert *cv, const char *file, unsigned line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* True for option names whose values are secrets: never echoed. */
bool map_is_secret(const char *key);

/* The grep filter, which may become several skiff filters. */
void map_grep(struct convert *cv, const struct fb_section *s);
/* Retry_Limit, common to every output. */
void map_retry_limit(struct map_ctx *m, const struct fb_prop *p, const struct map_option *o);

#endif
