/* A Fluent Bit configuration as `skiff --convert` reads it, whatever its
 * format (classic .conf or YAML): sections in file order, each with its
 * properties in order (a key may repeat, as `Set` in modify does), and the
 * file and line each came from. Keys are kept as written and compared in any
 * case, as Fluent Bit does. Not skiff's configuration: convert_map*.c turn
 * this into skiff's YAML. */
#ifndef SKIFF_CONVERT_MODEL_H
#define SKIFF_CONVERT_MODEL_H

#include "diag.h"

#include <stdbool.h>
#include <stddef.h>

struct fb_prop {
    char *key;   /* as written: `Mem_Buf_Limit` */
    char *value; /* trimmed; ${VAR} references as written */
    const char *file;
    unsigned line;
};

/* A section ([INPUT], a YAML pipeline item) or a group inside one (a YAML
 * multiline rule, a classic `[GROUP]` line). */
struct fb_section {
    char *name; /* `INPUT`, `service`, `multiline_parser`, ...; any case */
    const char *file;
    unsigned line;
    bool from_parsers_file; /* read through Parsers_File: only parsers count */
    struct fb_prop *props;
    size_t prop_count, prop_cap;
    struct fb_section *groups;
    size_t group_count, group_cap;
};

struct fb_var {
    char *name;
    char *value;
};

struct fb_config {
    struct fb_section *sections;
    size_t section_count, section_cap;
    struct fb_var *vars; /* @SET and the YAML `env:` section */
    size_t var_count, var_cap;
    char **files; /* file names the positions point to */
    size_t file_count, file_cap;
    char *main_dir;            /* folder of the file given to --convert, with '/' */
    struct diag_list errors;   /* "FILE:LINE: message": the input cannot be read */
    struct diag_list warnings; /* what Fluent Bit ignores with a warning (@FOO, @SET x) */
    bool no_files;             /* fuzzing: @INCLUDE, includes and Parsers_File are errors */
};

/* The file name as stored for positions (one copy per name). */
const char *fb_config_file(struct fb_config *config, const char *name);
/* Appends a section; returns its index (the array may move). */
size_t fb_config_add_section(struct fb_config *config, const char *name, size_t len,
                             const char *file, unsigned line);
struct fb_section *fb_section_add_group(struct fb_section *section, const char *name, size_t len,
                                        const char *file, unsigned line);
/* Appends a property; key and value are trimmed of blanks. */
void fb_section_add_prop(struct fb_section *section, const char *key, size_t key_len,
                         const char *value, size_t value_len, const char *file, unsigned line);
/* The last property named `key` (any case), or NULL: for options that take one
 * value, the last one written wins, as in Fluent Bit. */
const struct fb_prop *fb_section_get(const struct fb_section *section, const char *key);
const char *fb_section_value(const struct fb_section *section, const char *key);
bool fb_section_is(const struct fb_section *section, const char *name);

void fb_config_set_var(struct fb_config *config, const char *name, size_t name_len,
                       const char *value, size_t value_len);
/* The value @SET gave `name`, or NULL. */
const char *fb_config_var(const struct fb_config *config, const char *name, size_t len);

void fb_config_error(struct fb_config *config, const char *file, unsigned line, const char *fmt,
                     ...) __attribute__((format(printf, 4, 5)));
void fb_config_warn(struct fb_config *config, const char *file, unsigned line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void fb_config_free(struct fb_config *config);

/* Readers (convert_classic.c, convert_yaml.c). `path` is read as Fluent Bit
 * reads a main file or a Parsers_File; problems go to config->errors. Return
 * 0, or -1 when the file could not be read whole. */
int fb_read_classic_file(struct fb_config *config, const char *path, bool parsers_file);
int fb_read_classic_text(struct fb_config *config, const char *name, const char *text, size_t len,
                         const char *root_dir);
int fb_read_yaml_file(struct fb_config *config, const char *path, bool parsers_file);
int fb_read_yaml_text(struct fb_config *config, const char *name, const char *text, size_t len,
                      bool parsers_file);
/* By the name's ending, as Fluent Bit chooses: .yaml and .yml are YAML. */
int fb_read_file(struct fb_config *config, const char *path, bool parsers_file);
bool fb_path_is_yaml(const char *path);

/* Reads a whole file of at most FB_FILE_MAX bytes into a NUL-terminated
 * buffer; on failure returns NULL with a message (malloc'ed) in *error. */
#define FB_FILE_MAX (32u << 20)
char *fb_read_whole(const char *path, size_t *len, char **error);

#endif
