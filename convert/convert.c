/* `skiff --convert FILE` (see convert.h): reads the Fluent Bit files (the
 * main one, what it includes, its Parsers_File), converts each section in
 * order into the skiff document, leaves as comments the filters and
 * outputs whose Match reaches no input skiff has, writes the YAML, and loads
 * it as --dry-run does, naming for each problem the Fluent Bit line it came
 * from. */
#include "convert.h"

#include "buf.h"

#include "config.h"
#include "convert_map.h"
#include "convert_value.h"
#include "tag_match.h"
#include "xalloc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define CONVERTED_NAME "converted"

/* A path as Fluent Bit reads it from a value: variables of the file and the
 * environment replaced (flb_env_var_translate; unset ones are empty). */
static char *resolved_text(const struct fb_config *fb, const char *value)
{
    struct buf out = BUF_INIT;
    for (const char *p = value; *p; p++) {
        const char *close = p[0] == '$' && p[1] == '{' ? strchr(p, '}') : NULL;
        if (!close) {
            buf_append_byte(&out, *p);
            continue;
        }
        const char *ref = p + 2;
        size_t len = (size_t)(close - ref);
        const char *sep = memmem(ref, len, ":-", 2);
        size_t name_len = sep ? (size_t)(sep - ref) : len;
        char *name = xstrndup(ref, name_len);
        const char *found = fb_config_var(fb, ref, name_len);
        found = found ? found : getenv(name);
        free(name);
        if (found && (found[0] || !sep))
            buf_append_str(&out, found);
        else if (sep)
            buf_append(&out, sep + 2, len - name_len - 2);
        p = close;
    }
    buf_cstr(&out);
    return out.data;
}

/* Parsers_File: a relative path is tried from the current folder, then from
 * the main file's folder, as Fluent Bit does (flb_parser_conf_file). */
static void read_parsers_file(struct fb_config *fb, const char *value, const char *file,
                              unsigned line)
{
    if (fb->no_files) {
        fb_config_error(fb, file, line, "Parsers_File: files are not read here");
        return;
    }
    char *path = resolved_text(fb, value);
    struct stat st;
    if (path[0] != '/' && stat(path, &st) < 0 && fb->main_dir) {
        char *in_main = xasprintf("%s%s", fb->main_dir, path);
        free(path);
        path = in_main;
    }
    if (access(path, R_OK) < 0)
        fb_config_error(fb, file, line, "Parsers_File %s: cannot open: %s", path, strerror(errno));
    else
        fb_read_file(fb, path, true);
    free(path);
}

static void read_parsers_files(struct fb_config *fb)
{
    for (size_t i = 0; i < fb->section_count; i++) {
        if (!fb_section_is(&fb->sections[i], "service") || fb->sections[i].from_parsers_file)
            continue;
        for (size_t k = 0; k < fb->sections[i].prop_count; k++) {
            /* Reading adds sections: the property is copied first. */
            const struct fb_prop *p = &fb->sections[i].props[k];
            if (strcasecmp(p->key, "parsers_file") != 0)
                continue;
            char *value = xstrdup(p->value);
            const char *file = p->file;
            unsigned line = p->line;
            read_parsers_file(fb, value, file, line);
            free(value);
        }
    }
}

static bool has_filter(const struct fb_config *fb, const char *name)
{
    for (size_t i = 0; i < fb->section_count; i++) {
        const struct fb_section *s = &fb->sections[i];
        const char *plugin = fb_section_value(s, "name");
        if (fb_section_is(s, "filter") && plugin && !strcasecmp(plugin, name))
            return true;
    }
    return false;
}

static void start_document(struct convert *cv, const char *source)
{
    cv->doc = out_map();
    out_map_comment(cv->doc, out_comment("skiff configuration converted by skiff --convert from "
                                         "%s",
                                         source));
    out_map_comment(cv->doc, out_comment("Comments starting with 'Fluent Bit' say what was "
                                         "carried over differently, or not at all."));
    cv->service = out_map();
    cv->parsers = out_list();
    cv->multiline_parsers = out_list();
    out_map_set(cv->doc, "service", cv->service);
    out_map_set(cv->doc, "parsers", cv->parsers);
    out_map_set(cv->doc, "multiline_parsers", cv->multiline_parsers);
    struct out_node *pipeline = out_map();
    out_map_set(cv->doc, "pipeline", pipeline);
    cv->inputs = out_map_list(pipeline, "inputs");
    cv->filters = out_map_list(pipeline, "filters");
    cv->outputs = out_map_list(pipeline, "outputs");
}

static void other_section(struct convert *cv, const struct fb_section *s)
{
    struct out_node *c =
        out_comment("Fluent Bit [%s] (%s:%u): no equivalent in skiff", s->name, s->file, s->line);
    out_set_source(c, s->file, s->line);
    out_map_comment(cv->doc, c);
    convert_note(cv, s->file, s->line, "[%s]: no equivalent in skiff", s->name);
}

static void map_section(struct convert *cv, const struct fb_section *s)
{
    if (fb_section_is(s, "service"))
        map_service(cv, s);
    else if (fb_section_is(s, "parser"))
        map_parser(cv, s);
    else if (fb_section_is(s, "multiline_parser"))
        map_multiline_parser(cv, s);
    else if (s->from_parsers_file)
        return; /* Fluent Bit reads only parsers from a Parsers_File */
    else if (fb_section_is(s, "input"))
        map_plugin_section(cv, FB_INPUT, s);
    else if (fb_section_is(s, "filter"))
        map_plugin_section(cv, FB_FILTER, s);
    else if (fb_section_is(s, "output"))
        map_plugin_section(cv, FB_OUTPUT, s);
    else
        other_section(cv, s);
}

/* The tag a rewrite_tag rule (`KEY REGEX NEW_TAG KEEP`) gives, as a pattern:
 * each `$...` part ($TAG, $1, $a['b'], ${x}) becomes `*`, as skiff's own
 * reach check reads it. NULL when the rule has no third part. */
static char *rule_tag_pattern(const char *rule)
{
    const char *p = rule;
    for (int part = 0; part < 2; part++) {
        p += strspn(p, " \t");
        p += strcspn(p, " \t");
    }
    p += strspn(p, " \t");
    size_t len = strcspn(p, " \t");
    if (len == 0)
        return NULL;
    struct buf pattern = BUF_INIT;
    for (size_t i = 0; i < len;) {
        if (p[i] != '$') {
            buf_append_byte(&pattern, p[i++]);
            continue;
        }
        while (i < len && p[i] != '.')
            i++;
        buf_append_byte(&pattern, '*');
    }
    buf_cstr(&pattern);
    return pattern.data;
}

/* Whether a carried rewrite_tag filter can give a tag `match` fits. */
static bool reaches_a_new_tag(const struct convert *cv, const char *match)
{
    bool found = false;
    for (size_t i = 0; i < cv->filters->count && !found; i++) {
        const struct out_node *filter = cv->filters->entries[i].node;
        const struct out_node *name = out_map_get(filter, "name");
        const struct out_node *rules = out_map_get(filter, "rules");
        if (filter->type != OUT_MAP || filter->hidden || !name || !rules ||
            strcmp(name->text, "rewrite_tag") != 0 || rules->type != OUT_LIST)
            continue;
        for (size_t j = 0; j < rules->count && !found; j++) {
            const struct out_node *rule = rules->entries[j].node;
            char *tag = rule->type == OUT_SCALAR ? rule_tag_pattern(rule->text) : NULL;
            found = tag && tag_patterns_overlap(match, tag);
            free(tag);
        }
    }
    return found;
}

static bool reaches_an_input(const struct convert *cv, const char *match)
{
    for (size_t i = 0; i < cv->inputs->count; i++) {
        const struct out_node *input = cv->inputs->entries[i].node;
        const struct out_node *tag = out_map_get(input, "tag");
        if (input->type == OUT_MAP && !input->hidden && tag &&
            tag_patterns_overlap(match, tag->text))
            return true;
    }
    return reaches_a_new_tag(cv, match);
}

/* A filter or output whose Match reaches no input skiff has (because an
 * input had no equivalent) receives nothing in Fluent Bit either, and skiff
 * refuses such a match: it is kept as comment lines. */
static void hide_unreachable(struct convert *cv, struct out_node *list, const char *kind)
{
    for (size_t i = 0; i < list->count; i++) {
        struct out_node *item = list->entries[i].node;
        if (item->type != OUT_MAP || item->hidden)
            continue;
        const struct out_node *match = out_map_get(item, "match");
        const struct out_node *name = out_map_get(item, "name");
        if (match && reaches_an_input(cv, match->text))
            continue;
        char *why =
            match ? xasprintf("its Match %s reaches none of the inputs skiff has", match->text)
                  : xstrdup("no Match: Fluent Bit sends it no record");
        struct out_node *c = out_comment("Fluent Bit [%s] %s (%s:%u): not carried: %s; kept "
                                         "below as comments",
                                         kind, name->text, item->file, item->line, why);
        out_set_source(c, item->file, item->line);
        convert_note(cv, item->file, item->line, "[%s] %s: not carried: %s", kind, name->text, why);
        free(why);
        item->hidden = true;
        out_list_insert(list, i++, c);
    }
}

static void warnings_as_notes(struct convert *cv)
{
    for (size_t i = 0; i < cv->fb->warnings.count; i++) {
        const char *text = cv->fb->warnings.messages[i];
        out_map_comment(cv->doc, out_comment("Fluent Bit: %s", text));
        cv->notes = xgrow(cv->notes, &cv->note_cap, cv->note_count + 1, sizeof *cv->notes);
        cv->notes[cv->note_count] = (struct convert_note){NULL, 0, cv->note_count, xstrdup(text)};
        cv->note_count++;
    }
}

/* Drops the top-level keys left empty (no entry, not even a comment). */
static void tidy(struct convert *cv)
{
    static const char *const keys[] = {"service", "parsers", "multiline_parsers"};
    for (size_t i = 0; i < 3; i++) {
        const struct out_node *node = out_map_get(cv->doc, keys[i]);
        if (node && node->count == 0)
            out_map_remove(cv->doc, keys[i]);
    }
    struct out_node *pipeline = out_map_get(cv->doc, "pipeline");
    if (cv->filters->count == 0)
        out_map_remove(pipeline, "filters");
}

static size_t file_rank(const struct fb_config *fb, const char *file)
{
    for (size_t i = 0; file && i < fb->file_count; i++) {
        if (fb->files[i] == file)
            return i + 1;
    }
    return 0;
}

static int note_order(const void *a, const void *b, void *config)
{
    const struct convert_note *x = a, *y = b;
    size_t rx = file_rank(config, x->file), ry = file_rank(config, y->file);
    if (rx != ry)
        return rx < ry ? -1 : 1;
    if (x->line != y->line)
        return x->line < y->line ? -1 : 1;
    return x->order < y->order ? -1 : x->order > y->order;
}

/* The notes by file (in the order they were read) and line. */
static void take_notes(struct convert *cv, struct convert_result *result)
{
    if (cv->note_count > 1)
        qsort_r(cv->notes, cv->note_count, sizeof *cv->notes, note_order, cv->fb);
    for (size_t i = 0; i < cv->note_count; i++) {
        const struct convert_note *n = &cv->notes[i];
        if (n->file)
            diag_add(&result->notes, NULL, "%s:%u: %s", n->file, n->line, n->text);
        else
            diag_add(&result->notes, NULL, "%s", n->text);
        free(n->text);
    }
    free(cv->notes);
}

static void build(struct fb_config *fb, const char *source, struct convert_result *result)
{
    struct convert cv = {.fb = fb};
    start_document(&cv, source);
    cv.has_kubernetes = has_filter(fb, "kubernetes");
    warnings_as_notes(&cv);
    for (size_t i = 0; i < fb->section_count; i++)
        map_section(&cv, &fb->sections[i]);
    map_service_http(&cv);
    hide_unreachable(&cv, cv.filters, "FILTER");
    hide_unreachable(&cv, cv.outputs, "OUTPUT");
    tidy(&cv);
    struct buf text = BUF_INIT;
    out_emit(cv.doc, &text, &result->lines);
    result->yaml = xstrdup(buf_cstr(&text));
    buf_free(&text);
    take_notes(&cv, result);
    result->errors = cv.errors;
    out_free(cv.doc);
}

/* The names the result's positions point to outlive the model. */
static void take_files(struct fb_config *fb, struct convert_result *result)
{
    result->files = fb->files;
    result->file_count = fb->file_count;
    fb->files = NULL;
    fb->file_count = 0;
    fb->file_cap = 0;
}

static void take_errors(struct fb_config *fb, struct convert_result *result)
{
    for (size_t i = 0; i < fb->errors.count; i++)
        diag_add(&result->errors, NULL, "%s", fb->errors.messages[i]);
}

int convert_file(const char *path, struct convert_result *result)
{
    memset(result, 0, sizeof *result);
    struct fb_config fb = {0};
    char *real = realpath(path, NULL);
    if (real) {
        strrchr(real, '/')[1] = '\0';
        fb.main_dir = real;
    }
    fb_read_file(&fb, path, false);
    if (fb.errors.count == 0)
        read_parsers_files(&fb);
    int rc = fb.errors.count ? -1 : 0;
    if (rc == 0)
        build(&fb, path, result);
    else
        take_errors(&fb, result);
    take_files(&fb, result);
    fb_config_free(&fb);
    return rc;
}

int convert_text(const char *name, const char *text, bool yaml, struct convert_result *result)
{
    memset(result, 0, sizeof *result);
    struct fb_config fb = {.no_files = true};
    if (yaml)
        fb_read_yaml_text(&fb, name, text, strlen(text), false);
    else
        fb_read_classic_text(&fb, name, text, strlen(text), NULL);
    if (fb.errors.count == 0)
        read_parsers_files(&fb);
    int rc = fb.errors.count ? -1 : 0;
    if (rc == 0)
        build(&fb, name, result);
    else
        take_errors(&fb, result);
    take_files(&fb, result);
    fb_config_free(&fb);
    return rc;
}

void convert_result_free(struct convert_result *result)
{
    free(result->yaml);
    out_lines_free(&result->lines);
    diag_free(&result->notes);
    diag_free(&result->errors);
    for (size_t i = 0; i < result->file_count; i++)
        free(result->files[i]);
    free(result->files);
    memset(result, 0, sizeof *result);
}

/* Prints skiff's message, with the Fluent Bit line the YAML line came from. */
static void print_validation(const struct convert_result *r, const char *message, FILE *err)
{
    size_t prefix = strlen(CONVERTED_NAME ":");
    unsigned long line = 0;
    if (strncmp(message, CONVERTED_NAME ":", prefix) == 0)
        line = strtoul(message + prefix, NULL, 10);
    if (line > 0 && line <= r->lines.count && r->lines.files[line - 1])
        fprintf(err, "%s (Fluent Bit: %s:%u)\n", message, r->lines.files[line - 1],
                r->lines.lines[line - 1]);
    else
        fprintf(err, "%s\n", message);
}

/* The same load as --dry-run; returns the number of problems. */
static size_t validate(const struct convert_result *r, FILE *err)
{
    struct config config;
    struct diag_list diags = {0};
    if (config_load_string(CONVERTED_NAME, r->yaml, &config, &diags) == 0) {
        config_free(&config);
        diag_free(&diags);
        return 0;
    }
    for (size_t i = 0; i < diags.count; i++)
        print_validation(r, diags.messages[i], err);
    size_t count = diags.count ? diags.count : 1;
    diag_free(&diags);
    return count;
}

int convert_main(const char *path, FILE *out, FILE *err)
{
    struct convert_result r;
    if (convert_file(path, &r) < 0) {
        diag_print(&r.errors, err);
        fprintf(err, "skiff: %s: cannot convert it: %zu error%s in the Fluent Bit configuration\n",
                path, r.errors.count, r.errors.count == 1 ? "" : "s");
        convert_result_free(&r);
        return 2;
    }
    fputs(r.yaml, out);
    fflush(out);
    diag_print(&r.notes, err);
    diag_print(&r.errors, err);
    size_t problems = r.errors.count + validate(&r, err);
    if (problems)
        fprintf(err,
                "skiff: %s: the converted configuration has %zu problem%s (line numbers of "
                "'" CONVERTED_NAME "' are those of the YAML printed)\n",
                path, problems, problems == 1 ? "" : "s");
    else
        fprintf(err,
                "skiff: %s: converted; %zu setting%s not carried over (above, and as comments "
                "in the YAML)\n",
                path, r.notes.count, r.notes.count == 1 ? "" : "s");
    convert_result_free(&r);
    return problems ? 2 : 0;
}
