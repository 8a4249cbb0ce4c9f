/* Option tables as documentation: the aligned text of --describe and the
 * Markdown tables of the README reference. Not for validation (options.c). */
#include "options.h"

#include "buf.h"
#include "options_units.h"
#include "xalloc.h"

#include <stdlib.h>
#include <string.h>

/* One option as printed; sections are flattened to "http.listen". */
struct describe_row {
    char *name;
    const char *type;
    const char *default_text;
    bool has_default;
    char *description;
};

struct describe_rows {
    struct describe_row *rows;
    size_t count;
    size_t cap;
};

/* The description with its choices or limits appended. */
static char *describe_text(const struct option_spec *spec)
{
    struct buf text = BUF_INIT;

    buf_append_str(&text, spec->description ? spec->description : "");
    if (spec->choices) {
        buf_append_str(&text, " (one of: ");
        for (const char *const *c = spec->choices; *c; c++)
            buf_printf(&text, "%s%s", c == spec->choices ? "" : ", ", *c);
        buf_append_str(&text, ")");
    } else if (spec->min != 0 || spec->max != 0) {
        char min[OPTIONS_NUMBER_TEXT_MAX], max[OPTIONS_NUMBER_TEXT_MAX];
        options_format_number(spec->type, spec->min, min);
        options_format_number(spec->type, spec->max, max);
        if (spec->max == INT64_MAX)
            buf_printf(&text, " (at least %s)", min);
        else
            buf_printf(&text, " (%s..%s)", min, max);
    }
    if (spec->empty_is_unset)
        buf_append_str(&text, " (\"\" is unset)");
    buf_cstr(&text);
    return text.data;
}

static void collect_rows(const struct option_spec *specs, const char *prefix,
                         struct describe_rows *out)
{
    for (const struct option_spec *spec = specs; spec->name; spec++) {
        out->rows = xgrow(out->rows, &out->cap, out->count + 1, sizeof *out->rows);
        struct describe_row *row = &out->rows[out->count++];
        row->name = prefix ? xasprintf("%s.%s", prefix, spec->name) : xstrdup(spec->name);
        row->type = option_type_name(spec->type);
        row->default_text = spec->required           ? "(required)"
                            : !spec->default_value   ? "-"
                            : spec->default_value[0] ? spec->default_value
                                                     : "\"\"";
        row->has_default = !spec->required && spec->default_value;
        row->description = describe_text(spec);
        if (spec->type == OPT_SECTION)
            collect_rows(spec->section, row->name, out);
    }
}

static void free_rows(struct describe_rows *rows)
{
    for (size_t i = 0; i < rows->count; i++) {
        free(rows->rows[i].name);
        free(rows->rows[i].description);
    }
    free(rows->rows);
}

static int max_width(int width, const char *text)
{
    int len = (int)strlen(text);
    return len > width ? len : width;
}

void options_describe(const struct option_spec *specs, FILE *out)
{
    struct describe_rows rows = {0};
    int name_w = (int)strlen("OPTION"), type_w = (int)strlen("TYPE");
    int default_w = (int)strlen("DEFAULT");

    collect_rows(specs, NULL, &rows);
    for (size_t i = 0; i < rows.count; i++) {
        name_w = max_width(name_w, rows.rows[i].name);
        type_w = max_width(type_w, rows.rows[i].type);
        default_w = max_width(default_w, rows.rows[i].default_text);
    }
    fprintf(out, "%-*s  %-*s  %-*s  %s\n", name_w, "OPTION", type_w, "TYPE", default_w, "DEFAULT",
            "DESCRIPTION");
    for (size_t i = 0; i < rows.count; i++) {
        const struct describe_row *row = &rows.rows[i];
        fprintf(out, "%-*s  %-*s  %-*s  %s\n", name_w, row->name, type_w, row->type, default_w,
                row->default_text, row->description);
    }
    free_rows(&rows);
}

/* A table cell: a `|` would end the cell, so it is escaped. */
static void markdown_cell(const char *text, bool code, FILE *out)
{
    fputs(code ? " `" : " ", out);
    for (const char *p = text; *p; p++) {
        if (*p == '|')
            fputc('\\', out);
        fputc(*p, out);
    }
    fputs(code ? "` |" : " |", out);
}

void options_describe_markdown(const struct option_spec *specs, FILE *out)
{
    struct describe_rows rows = {0};

    collect_rows(specs, NULL, &rows);
    fputs("| Option | Type | Default | Description |\n", out);
    fputs("|---|---|---|---|\n", out);
    for (size_t i = 0; i < rows.count; i++) {
        const struct describe_row *row = &rows.rows[i];
        fputs("|", out);
        markdown_cell(row->name, true, out);
        markdown_cell(row->type, false, out);
        markdown_cell(row->default_text, row->has_default, out);
        markdown_cell(row->description, false, out);
        fputc('\n', out);
    }
    free_rows(&rows);
}
