/* The Fluent Bit configuration model of `skiff --convert` (see
 * convert_model.h): building it, looking properties up, freeing it, and
 * reading a whole file for the readers. */
#include "convert_model.h"

#include "buf.h"
#include "xalloc.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

const char *fb_config_file(struct fb_config *config, const char *name)
{
    for (size_t i = 0; i < config->file_count; i++) {
        if (strcmp(config->files[i], name) == 0)
            return config->files[i];
    }
    config->files =
        xgrow(config->files, &config->file_cap, config->file_count + 1, sizeof *config->files);
    config->files[config->file_count] = xstrdup(name);
    return config->files[config->file_count++];
}

static void section_init(struct fb_section *s, const char *name, size_t len, const char *file,
                         unsigned line)
{
    memset(s, 0, sizeof *s);
    s->name = xstrndup(name, len);
    s->file = file;
    s->line = line;
}

size_t fb_config_add_section(struct fb_config *config, const char *name, size_t len,
                             const char *file, unsigned line)
{
    config->sections = xgrow(config->sections, &config->section_cap, config->section_count + 1,
                             sizeof *config->sections);
    section_init(&config->sections[config->section_count], name, len, file, line);
    return config->section_count++;
}

struct fb_section *fb_section_add_group(struct fb_section *section, const char *name, size_t len,
                                        const char *file, unsigned line)
{
    section->groups = xgrow(section->groups, &section->group_cap, section->group_count + 1,
                            sizeof *section->groups);
    struct fb_section *group = &section->groups[section->group_count++];
    section_init(group, name, len, file, line);
    return group;
}

static bool is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

static char *trimmed_copy(const char *text, size_t len)
{
    while (len > 0 && is_blank(*text)) {
        text++;
        len--;
    }
    while (len > 0 && is_blank(text[len - 1]))
        len--;
    return xstrndup(text, len);
}

void fb_section_add_prop(struct fb_section *section, const char *key, size_t key_len,
                         const char *value, size_t value_len, const char *file, unsigned line)
{
    section->props =
        xgrow(section->props, &section->prop_cap, section->prop_count + 1, sizeof *section->props);
    struct fb_prop *p = &section->props[section->prop_count++];
    p->key = trimmed_copy(key, key_len);
    p->value = trimmed_copy(value, value_len);
    p->file = file;
    p->line = line;
}

const struct fb_prop *fb_section_get(const struct fb_section *section, const char *key)
{
    for (size_t i = section->prop_count; i > 0; i--) {
        if (strcasecmp(section->props[i - 1].key, key) == 0)
            return &section->props[i - 1];
    }
    return NULL;
}

const char *fb_section_value(const struct fb_section *section, const char *key)
{
    const struct fb_prop *p = fb_section_get(section, key);
    return p ? p->value : NULL;
}

bool fb_section_is(const struct fb_section *section, const char *name)
{
    return strcasecmp(section->name, name) == 0;
}

void fb_config_set_var(struct fb_config *config, const char *name, size_t name_len,
                       const char *value, size_t value_len)
{
    for (size_t i = 0; i < config->var_count; i++) {
        struct fb_var *v = &config->vars[i];
        if (strlen(v->name) == name_len && memcmp(v->name, name, name_len) == 0) {
            free(v->value);
            v->value = xstrndup(value, value_len);
            return;
        }
    }
    config->vars =
        xgrow(config->vars, &config->var_cap, config->var_count + 1, sizeof *config->vars);
    config->vars[config->var_count].name = xstrndup(name, name_len);
    config->vars[config->var_count++].value = xstrndup(value, value_len);
}

const char *fb_config_var(const struct fb_config *config, const char *name, size_t len)
{
    for (size_t i = 0; i < config->var_count; i++) {
        const struct fb_var *v = &config->vars[i];
        if (strlen(v->name) == len && memcmp(v->name, name, len) == 0)
            return v->value;
    }
    return NULL;
}

static void add_message(struct diag_list *list, const char *file, unsigned line, const char *fmt,
                        va_list ap)
{
    struct buf text = BUF_INIT;
    if (line)
        buf_printf(&text, "%s:%u: ", file, line);
    else
        buf_printf(&text, "%s: ", file);
    buf_vprintf(&text, fmt, ap);
    diag_add(list, NULL, "%s", buf_cstr(&text));
    buf_free(&text);
}

void fb_config_error(struct fb_config *config, const char *file, unsigned line, const char *fmt,
                     ...)
{
    va_list ap;
    va_start(ap, fmt);
    add_message(&config->errors, file, line, fmt, ap);
    va_end(ap);
}

void fb_config_warn(struct fb_config *config, const char *file, unsigned line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    add_message(&config->warnings, file, line, fmt, ap);
    va_end(ap);
}

static void section_free(struct fb_section *s)
{
    for (size_t i = 0; i < s->prop_count; i++) {
        free(s->props[i].key);
        free(s->props[i].value);
    }
    free(s->props);
    for (size_t i = 0; i < s->group_count; i++)
        section_free(&s->groups[i]);
    free(s->groups);
    free(s->name);
}

void fb_config_free(struct fb_config *config)
{
    for (size_t i = 0; i < config->section_count; i++)
        section_free(&config->sections[i]);
    free(config->sections);
    for (size_t i = 0; i < config->var_count; i++) {
        free(config->vars[i].name);
        free(config->vars[i].value);
    }
    free(config->vars);
    for (size_t i = 0; i < config->file_count; i++)
        free(config->files[i]);
    free(config->files);
    free(config->main_dir);
    diag_free(&config->errors);
    diag_free(&config->warnings);
    memset(config, 0, sizeof *config);
}

char *fb_read_whole(const char *path, size_t *len, char **error)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        *error = xasprintf("cannot open: %s", strerror(errno));
        return NULL;
    }
    struct stat st;
    if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
        fclose(f);
        *error = xstrdup("is a folder, not a file");
        return NULL;
    }
    struct buf text = BUF_INIT;
    char block[65536];
    size_t n;
    while ((n = fread(block, 1, sizeof block, f)) > 0) {
        if (text.len + n > FB_FILE_MAX) {
            fclose(f);
            buf_free(&text);
            *error = xasprintf("larger than %u MiB", FB_FILE_MAX >> 20);
            return NULL;
        }
        buf_append(&text, block, n);
    }
    int failed = ferror(f) ? (errno ? errno : EIO) : 0;
    fclose(f);
    if (failed) {
        buf_free(&text);
        *error = xasprintf("cannot read: %s", strerror(failed));
        return NULL;
    }
    buf_cstr(&text);
    *len = text.len;
    return text.data;
}

bool fb_path_is_yaml(const char *path)
{
    const char *dot = strrchr(path, '.');
    return dot && (strcasecmp(dot, ".yaml") == 0 || strcasecmp(dot, ".yml") == 0);
}

int fb_read_file(struct fb_config *config, const char *path, bool parsers_file)
{
    if (fb_path_is_yaml(path))
        return fb_read_yaml_file(config, path, parsers_file);
    return fb_read_classic_file(config, path, parsers_file);
}
