/* The reader of Fluent Bit's classic configuration format (.conf) for
 * `skiff --convert`, with the rules of Fluent Bit's own reader
 * (src/config_format/flb_cf_fluentbit.c): `[SECTION]` headers at column 0;
 * `Key value` lines indented by the blanks of the first indented line of the
 * file, a `[GROUP]` line opening a group whose lines are indented twice;
 * comments are lines whose first non-indent character is `#`; `@INCLUDE` (a
 * glob is allowed) and `@SET KEY=VALUE` at column 0. An included path is
 * tried as given, then in the folder of the file given at the top (Fluent
 * Bit's root path); a file read twice is an error. The first error in a file
 * stops its reading, as in Fluent Bit. Not for interpreting the values:
 * convert_map*.c do that. */
#include "convert_model.h"

#include "buf.h"
#include "xalloc.h"

#include <errno.h>
#include <glob.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

/* Fluent Bit's limit on the files one configuration reads. */
#define CLASSIC_MAX_FILES 1000

struct file_id {
    dev_t dev;
    ino_t ino;
};

struct classic_reader {
    struct fb_config *config;
    char *root_dir; /* folder of the top file, ending in '/', or NULL */
    bool parsers_file;
    struct file_id *ids;
    size_t id_count;
};

/* What one file's reading keeps between lines. */
struct file_state {
    const char *file;
    char *indent; /* the blanks of the file's first indented line */
    size_t indent_len;
    bool has_section;
    size_t section; /* index in config->sections */
    bool in_group;
    unsigned keys; /* in the current section or group */
};

static int read_file_at(struct classic_reader *r, const char *path, const char *from,
                        unsigned from_line);

static bool blank(char c)
{
    return c == ' ' || c == '\t';
}

static struct fb_section *current_section(struct classic_reader *r, struct file_state *fs)
{
    return fs->has_section ? &r->config->sections[fs->section] : NULL;
}

static int fail(struct classic_reader *r, struct file_state *fs, unsigned line, const char *what)
{
    fb_config_error(r->config, fs->file, line, "%s", what);
    return -1;
}

static int include_glob(struct classic_reader *r, struct file_state *fs, const char *path,
                        unsigned line)
{
    char *pattern =
        path[0] != '/' && r->root_dir ? xasprintf("%s%s", r->root_dir, path) : xstrdup(path);
    glob_t found;
    int status = glob(pattern, 0, NULL, &found);
    if (status != 0) {
        fb_config_error(r->config, fs->file, line, "@INCLUDE %s: %s", path,
                        status == GLOB_NOMATCH ? "no file matches" : "cannot list the folder");
        free(pattern);
        return -1;
    }
    int rc = 0;
    for (size_t i = 0; i < found.gl_pathc && rc == 0; i++)
        rc = read_file_at(r, found.gl_pathv[i], fs->file, line);
    globfree(&found);
    free(pattern);
    return rc;
}

static int include(struct classic_reader *r, struct file_state *fs, const char *arg, unsigned line)
{
    while (blank(*arg))
        arg++;
    char *path = xstrdup(arg);
    for (size_t n = strlen(path); n > 0 && blank(path[n - 1]); n--)
        path[n - 1] = '\0';
    int rc;
    struct stat st;
    if (r->config->no_files)
        rc = fail(r, fs, line, "@INCLUDE: files are not read here");
    else if (strchr(path, '*'))
        rc = include_glob(r, fs, path, line);
    else if (stat(path, &st) == 0 || path[0] == '/' || !r->root_dir)
        rc = read_file_at(r, path, fs->file, line);
    else {
        char *in_root = xasprintf("%s%s", r->root_dir, path);
        rc = read_file_at(r, in_root, fs->file, line);
        free(in_root);
    }
    free(path);
    return rc;
}

/* `@SET KEY=VALUE` defines a variable for ${KEY}; Fluent Bit ignores other
 * commands, and a @SET without '=', with a message. */
static int meta(struct classic_reader *r, struct file_state *fs, const char *text, unsigned line)
{
    const char *space = strchr(text, ' ');
    if (!space)
        return fail(r, fs, line, "a '@' command without a value (write @SET KEY=VALUE)");
    const char *params = space + 1;
    while (blank(*params))
        params++;
    size_t params_len = strlen(params);
    while (params_len > 0 && blank(params[params_len - 1]))
        params_len--;
    int command_len = (int)(space - text - 1);
    if (command_len != 3 || strncasecmp(text + 1, "SET", 3) != 0) {
        fb_config_warn(r->config, fs->file, line,
                       "@%.*s: not a Fluent Bit command (@INCLUDE, @SET); ignored, as Fluent Bit "
                       "does",
                       command_len, text + 1);
        return 0;
    }
    const char *eq = memchr(params, '=', params_len);
    if (!eq) {
        fb_config_warn(r->config, fs->file, line,
                       "@SET without '=' (write @SET KEY=VALUE); ignored, as Fluent Bit does");
        return 0;
    }
    fb_config_set_var(r->config, params, (size_t)(eq - params), eq + 1,
                      params_len - (size_t)(eq - params) - 1);
    return 0;
}

static int section_header(struct classic_reader *r, struct file_state *fs, const char *text,
                          size_t len, unsigned line)
{
    const char *end = memchr(text, ']', len);
    if (!end || end == text + 1)
        return fail(r, fs, line, "bad section header: write [NAME]");
    fs->section =
        fb_config_add_section(r->config, text + 1, (size_t)(end - text - 1), fs->file, line);
    fs->has_section = true;
    fs->in_group = false;
    fs->keys = 0;
    r->config->sections[fs->section].from_parsers_file = r->parsers_file;
    return 0;
}

/* Fluent Bit's check_indent(): the line must start with the file's indent;
 * more blanks are allowed only as many again (a group's content). Sets
 * *level to where the key starts; returns -1 after the message. */
static int check_indent(struct classic_reader *r, struct file_state *fs, const char *text,
                        unsigned line, size_t *level, bool *group_content)
{
    size_t n = 0;
    while (n < fs->indent_len && text[n] == fs->indent[n])
        n++;
    if (n < fs->indent_len)
        return fail(r, fs, line,
                    blank(text[n]) ? "invalid indentation: tabs and spaces mixed"
                                   : "invalid indentation: the line is indented less than the "
                                     "first indented line of the file");
    size_t extra = 0;
    while (blank(text[n + extra]))
        extra++;
    if (extra != 0 && extra != fs->indent_len)
        return fail(r, fs, line,
                    "invalid indentation: the line is indented more than the first indented "
                    "line of the file, but not twice as much (a group's content)");
    *level = n + extra;
    *group_content = extra != 0;
    return 0;
}

static int group_header(struct classic_reader *r, struct file_state *fs, const char *key,
                        size_t len, unsigned line)
{
    const char *end = memchr(key, ']', len);
    struct fb_section *section = current_section(r, fs);
    if (!end)
        return fail(r, fs, line, "expected a group name: [NAME]");
    if (!section)
        return fail(r, fs, line, "a group outside of a section");
    if (fs->in_group && fs->keys == 0)
        return fail(r, fs, line, "the previous group has no keys");
    fb_section_add_group(section, key + 1, (size_t)(end - key - 1), fs->file, line);
    fs->in_group = true;
    fs->keys = 0;
    return 0;
}

/* An indented line: a comment, a `Key value` pair or a `[GROUP]`. */
static int key_line(struct classic_reader *r, struct file_state *fs, const char *text, size_t len,
                    unsigned line)
{
    if (!fs->indent) {
        size_t n = 0;
        while (n < len && blank(text[n]))
            n++;
        if (n == 0)
            return fail(r, fs, line,
                        "invalid indentation: a key must be indented under its [SECTION]");
        fs->indent = xstrndup(text, n);
        fs->indent_len = n;
        if (n == len)
            return 0;
    }
    size_t level;
    bool group_content;
    if (check_indent(r, fs, text, line, &level, &group_content) < 0)
        return -1;
    if (!group_content)
        fs->in_group = false;
    if (level == len || text[level] == '#')
        return 0;
    const char *key = text + level;
    const char *space = memchr(key, ' ', len - level);
    if (!space)
        return fail(r, fs, line, "a key without a value: write `Key value`");
    size_t key_len = (size_t)(space - key);
    if (key[0] == '[')
        return group_header(r, fs, key, len - level, line);
    size_t value_len = len - level - key_len - 1;
    if (value_len == 0)
        return fail(r, fs, line, "a key with an empty value");
    struct fb_section *section = current_section(r, fs);
    if (!section)
        return fail(r, fs, line, "a key outside of a [SECTION]");
    if (fs->in_group)
        section = &section->groups[section->group_count - 1];
    fb_section_add_prop(section, key, key_len, space + 1, value_len, fs->file, line);
    fs->keys++;
    return 0;
}

static int classic_line(struct classic_reader *r, struct file_state *fs, char *text, size_t len,
                        unsigned line)
{
    if (len == 0 || text[0] == '#')
        return 0;
    if (len > 9 && strncasecmp(text, "@INCLUDE ", 9) == 0)
        return include(r, fs, text + 9, line);
    if (text[0] == '@' && len > 3)
        return meta(r, fs, text, line);
    if (text[0] == '[')
        return section_header(r, fs, text, len, line);
    return key_line(r, fs, text, len, line);
}

static int parse_text(struct classic_reader *r, const char *file, char *text, size_t len)
{
    struct file_state fs = {.file = file};
    unsigned line = 0;
    size_t pos = 0;
    int rc = 0;
    while (pos < len && rc == 0) {
        char *start = text + pos;
        char *newline = memchr(start, '\n', len - pos);
        size_t line_len = newline ? (size_t)(newline - start) : len - pos;
        pos += line_len + (newline ? 1 : 0);
        if (line_len > 0 && start[line_len - 1] == '\r')
            line_len--;
        start[line_len] = '\0';
        line++;
        if (memchr(start, '\0', line_len))
            rc = fail(r, &fs, line, "a NUL byte: not a text file");
        else
            rc = classic_line(r, &fs, start, line_len, line);
    }
    free(fs.indent);
    return rc;
}

static int remember_file(struct classic_reader *r, const char *path, const char *from,
                         unsigned from_line)
{
    struct stat st;
    if (stat(path, &st) < 0)
        return 0; /* reading it reports why */
    for (size_t i = 0; i < r->id_count; i++) {
        if (r->ids[i].dev == st.st_dev && r->ids[i].ino == st.st_ino) {
            fb_config_error(r->config, from ? from : path, from_line,
                            "%s: included twice (a file may be read once)", path);
            return -1;
        }
    }
    if (r->id_count == CLASSIC_MAX_FILES) {
        fb_config_error(r->config, from ? from : path, from_line, "%s: more than %d files to read",
                        path, CLASSIC_MAX_FILES);
        return -1;
    }
    r->ids[r->id_count++] = (struct file_id){st.st_dev, st.st_ino};
    return 0;
}

static int read_file_at(struct classic_reader *r, const char *path, const char *from,
                        unsigned from_line)
{
    if (remember_file(r, path, from, from_line) < 0)
        return -1;
    char *error = NULL;
    size_t len = 0;
    char *text = fb_read_whole(path, &len, &error);
    if (!text) {
        if (from)
            fb_config_error(r->config, from, from_line, "@INCLUDE %s: %s", path, error);
        else
            fb_config_error(r->config, path, 0, "%s", error);
        free(error);
        return -1;
    }
    int rc = parse_text(r, fb_config_file(r->config, path), text, len);
    free(text);
    return rc;
}

/* The folder of `path` as Fluent Bit takes it: of its real path. */
static char *root_of(const char *path)
{
    char *real = realpath(path, NULL);
    if (!real)
        return NULL;
    char *slash = strrchr(real, '/');
    slash[1] = '\0';
    return real;
}

int fb_read_classic_file(struct fb_config *config, const char *path, bool parsers_file)
{
    struct classic_reader r = {.config = config, .parsers_file = parsers_file};
    r.root_dir = root_of(path);
    if (!r.root_dir) {
        fb_config_error(config, path, 0, "cannot open: %s", strerror(errno));
        return -1;
    }
    r.ids = xcalloc(CLASSIC_MAX_FILES, sizeof *r.ids);
    int rc = read_file_at(&r, path, NULL, 0);
    free(r.ids);
    free(r.root_dir);
    return rc;
}

int fb_read_classic_text(struct fb_config *config, const char *name, const char *text, size_t len,
                         const char *root_dir)
{
    struct classic_reader r = {.config = config};
    r.root_dir = root_dir ? xasprintf("%s/", root_dir) : NULL;
    r.ids = xcalloc(CLASSIC_MAX_FILES, sizeof *r.ids);
    char *copy = xmalloc(len + 1);
    memcpy(copy, text, len);
    copy[len] = '\0';
    int rc = parse_text(&r, fb_config_file(config, name), copy, len);
    free(copy);
    free(r.ids);
    free(r.root_dir);
    return rc;
}
