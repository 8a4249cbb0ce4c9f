/* `skiff --convert` for Fluent Bit's inputs: tail (plugins/in_tail/tail.c,
 * tail_config.c) and dummy (plugins/in_dummy/in_dummy.c). Where Fluent Bit's
 * default differs from skiff's and changes what is read, the Fluent Bit
 * value is written, with a comment. */
#include "convert_map.h"

#include "convert_value.h"
#include "json_parse.h"
#include "xalloc.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Fluent Bit's Buffer_Max_Size default (FLB_TAIL_CHUNK): with
 * Skip_Long_Lines, longer lines are skipped. */
#define FB_TAIL_BUFFER_MAX 32768

static void tail_inotify(struct map_ctx *m, const struct fb_prop *p, const struct map_option *o)
{
    bool on;
    if (cv_bool(p->value, &on) < 0)
        map_bad_value(m, p, "expected On or Off");
    else if (!on)
        map_set_string(m, "watcher", "poll", p);
}

static void tail_new_files_from_head(struct map_ctx *m, const struct fb_prop *p,
                                     const struct map_option *o)
{
    bool on;
    if (cv_bool(p->value, &on) == 0 && on)
        map_comment(m, p, false, "skiff reads files that appear later from their start");
    else
        map_none(m, p, "skiff reads files that appear later from their start");
}

static void tail_parser(struct map_ctx *m, const struct fb_prop *p, const struct map_option *o)
{
    if (fb_section_get(m->section, "multiline.parser")) {
        map_comment(m, p, false, "Fluent Bit does not use Parser with multiline.parser");
        return;
    }
    char *text = map_text(m, p);
    map_set_string(m, "parser", text, p);
    free(text);
}

static const struct map_option tail_options[] = {
    {"path", "path", MAP_LIST, NULL, NULL},
    {"exclude_path", "exclude", MAP_LIST, NULL, NULL},
    {"key", "key", MAP_STRING, NULL, NULL},
    {"path_key", "path_key", MAP_STRING, NULL, NULL},
    {"read_from_head", "read_from_head", MAP_BOOL, NULL, NULL},
    {"refresh_interval", "refresh_interval", MAP_SECONDS, NULL, NULL},
    {"rotate_wait", "rotate_wait", MAP_TIME, NULL, NULL},
    {"ignore_older", "ignore_older", MAP_TIME, NULL, NULL},
    {"buffer_chunk_size", "buffer_chunk_size", MAP_SIZE, NULL, NULL},
    {"buffer_max_size", "max_line_size", MAP_SIZE, NULL, NULL},
    {"skip_long_lines", "skip_long_lines", MAP_BOOL, NULL, NULL},
    {"inotify_watcher", NULL, MAP_CUSTOM, NULL, tail_inotify},
    {"docker_mode_flush", "partial_wait", MAP_SECONDS, NULL, NULL},
    {"parser", NULL, MAP_CUSTOM, NULL, tail_parser},
    {"multiline.parser", NULL, MAP_LATER, NULL, NULL},
    {"docker_mode", NULL, MAP_NONE, "skiff's docker parser joins the lines docker split", NULL},
    {"docker_mode_parser", NULL, MAP_NONE, "skiff's docker parser joins the lines docker split",
     NULL},
    {"db", NULL, MAP_NONE,
     "checkpoints live in service.state_dir; the offsets in Fluent Bit's database are not read",
     NULL},
    {"db.sync", NULL, MAP_NONE,
     "checkpoints are always written to a temporary file, fsynced and "
     "renamed",
     NULL},
    {"db.locking", NULL, MAP_NONE, "checkpoints live in service.state_dir", NULL},
    {"db.journal_mode", NULL, MAP_NONE, "checkpoints live in service.state_dir", NULL},
    {"db.compare_filename", NULL, MAP_NONE, "a file is its inode and a CRC32 of its first bytes",
     NULL},
    {"multiline", NULL, MAP_NONE, "use the multiline filter", NULL},
    {"multiline_flush", NULL, MAP_NONE, "use the multiline filter's flush_timeout", NULL},
    {"parser_firstline", NULL, MAP_NONE, "use the multiline filter", NULL},
    {"truncate_long_lines", NULL, MAP_NONE,
     "a longer line is split at max_line_size, or skipped with skip_long_lines", NULL},
    {"read_newly_discovered_files_from_head", NULL, MAP_CUSTOM, NULL, tail_new_files_from_head},
    {0},
};

static bool runtime_parser(const char *name)
{
    return !strcasecmp(name, "cri") || !strcasecmp(name, "docker");
}

/* The multiline filter that does what a multiline.parser other than docker
 * and cri did in the input: first among the filters, for the input's tag. */
static void tail_multiline_filter(struct map_ctx *m, const char *parser, const struct fb_prop *p)
{
    struct out_node *filter = out_map();
    out_set_source(filter, p->file, p->line);
    out_map_set(filter, "name", out_string("multiline"));
    const struct out_node *tag = out_map_get(m->item, "tag");
    out_map_set(filter, "match", out_string(tag ? tag->text : "*"));
    struct out_node *name = out_string(parser);
    out_set_note(name, "from %s multiline.parser (%s:%u)", m->label, p->file, p->line);
    out_map_set(filter, "parser", name);
    out_list_insert(m->cv->filters, m->cv->filters_in_front++, filter);
}

/* Fluent Bit tries the parsers of multiline.parser in turn on each line;
 * skiff's input reads one runtime format (cri or docker) and joins stack
 * traces in a multiline filter. */
static void tail_multiline(struct map_ctx *m)
{
    const struct fb_prop *first_runtime = NULL, *other = NULL;
    bool cri = false, docker = false;
    char *other_name = NULL;
    for (size_t i = 0; i < m->section->prop_count; i++) {
        const struct fb_prop *p = &m->section->props[i];
        if (strcasecmp(p->key, "multiline.parser") != 0)
            continue;
        char **names;
        size_t count = cv_split_list(p->value, &names);
        for (size_t n = 0; n < count; n++) {
            if (runtime_parser(names[n])) {
                cri |= !strcasecmp(names[n], "cri");
                docker |= !strcasecmp(names[n], "docker");
                first_runtime = first_runtime ? first_runtime : p;
            } else if (!other_name) {
                other_name = xstrdup(names[n]);
                other = p;
            } else {
                map_comment(m, p, true,
                            "%s not carried: skiff joins with one rule set per "
                            "multiline filter",
                            names[n]);
            }
        }
        cv_free_list(names, count);
    }
    if (first_runtime) {
        struct out_node *parser = out_string(cri ? "cri" : "docker");
        if (cri && docker) {
            out_set_note(parser, "Fluent Bit's docker, cri: skiff reads one format, cri "
                                 "(containerd, CRI-O); write docker for the docker runtime");
            convert_note(m->cv, first_runtime->file, first_runtime->line,
                         "%s multiline.parser: docker not carried: skiff reads one runtime "
                         "format per input; cri chosen (containerd, CRI-O)",
                         m->label);
        } else if (cri) {
            out_set_note(parser, "Fluent Bit names the P/F flag _p; skiff's cri parser, logtag");
        }
        map_set(m, "parser", parser, first_runtime);
    }
    if (other && first_runtime)
        map_comment(m, other, true, "%s not carried: add a multiline filter after the input",
                    other_name);
    else if (other)
        tail_multiline_filter(m, other_name, other);
    free(other_name);
}

static void tail_finish(struct map_ctx *m)
{
    tail_multiline(m);
    if (!fb_section_get(m->section, "path_key")) {
        if (m->cv->has_kubernetes) {
            struct out_node *c = out_comment(
                "skiff adds the file's path as `path`, which its kubernetes filter reads the pod "
                "from; Fluent Bit adds no path field without Path_Key");
            out_set_source(c, m->section->file, m->section->line);
            out_map_comment(m->item, c);
        } else {
            map_set_default(m, "path_key", out_string(""),
                            "Fluent Bit adds no path field without Path_Key");
        }
    }
    const struct out_node *skip = out_map_get(m->item, "skip_long_lines");
    if (skip && !strcmp(skip->text, "true") && !fb_section_get(m->section, "buffer_max_size")) {
        char *size = cv_size_text(FB_TAIL_BUFFER_MAX);
        map_set_default(m, "max_line_size", out_raw(size),
                        "Fluent Bit's Buffer_Max_Size: longer lines are skipped");
        free(size);
    }
}

static const struct map_plugin tail_plugin = {
    .fb_name = "tail", .skiff_name = "tail", .options = tail_options, .finish = tail_finish};

/* ---- dummy ---- */

static struct out_node *value_node(const struct value *v)
{
    char number[64];
    switch (v->type) {
    case VALUE_STRING:
        return out_string(v->as.string.ptr);
    case VALUE_INT:
        snprintf(number, sizeof number, "%" PRId64, v->as.integer);
        return out_raw(number);
    case VALUE_FLOAT:
        snprintf(number, sizeof number, "%.17g", v->as.real);
        return out_raw(number);
    case VALUE_BOOL:
        return out_raw(v->as.boolean ? "true" : "false");
    case VALUE_MAP: {
        struct out_node *map = out_map();
        for (uint32_t i = 0; i < v->as.map.count; i++)
            out_map_put(map, v->as.map.entries[i].key.ptr, value_node(&v->as.map.entries[i].value));
        return map;
    }
    case VALUE_ARRAY: {
        struct out_node *list = out_list();
        for (uint32_t i = 0; i < v->as.array.count; i++)
            out_list_add(list, value_node(&v->as.array.items[i]));
        return list;
    }
    default:
        return out_raw("null");
    }
}

static void dummy_record(struct map_ctx *m, const struct fb_prop *p, const struct map_option *o)
{
    char *text = map_text(m, p);
    struct value record;
    char *error = NULL;
    if (json_parse(text, strlen(text), &record, &error) < 0 || record.type != VALUE_MAP) {
        map_bad_value(m, p, error ? error : "expected a JSON object");
    } else {
        struct out_node *node = value_node(&record);
        out_set_note(node, "skiff's dummy adds a seq field");
        map_set(m, "record", node, p);
    }
    value_free(&record);
    free(error);
    free(text);
}

static const struct map_option dummy_options[] = {
    {"dummy", NULL, MAP_CUSTOM, NULL, dummy_record},
    {"rate", "rate", MAP_INT, NULL, NULL},
    {"samples", "count", MAP_INT, NULL, NULL},
    {0},
};

static const struct map_plugin dummy_plugin = {
    .fb_name = "dummy", .skiff_name = "dummy", .options = dummy_options};

const struct map_plugin *const map_inputs[] = {&tail_plugin, &dummy_plugin, NULL};
