/* `skiff --convert` for Fluent Bit's outputs: es (plugins/out_es/es.c,
 * es_conf.c) into skiff's elasticsearch, and stdout, file, null. Host, Port,
 * TLS and Path make `hosts`; Index or the four Logstash options make
 * `index`, with Fluent Bit's defaults (fluent-bit, logstash-%Y.%m.%d)
 * written out; so is Suppress_Type_Name Off. */
#include "convert_map.h"

#include "convert_value.h"
#include "xalloc.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

static char *prop_text(struct map_ctx *m, const char *key, const char *fallback)
{
    const struct fb_prop *p = fb_section_get(m->section, key);
    return p ? map_text(m, p) : xstrdup(fallback);
}

static void es_hosts(struct map_ctx *m)
{
    const struct fb_prop *host = fb_section_get(m->section, "host");
    const struct fb_prop *tls = fb_section_get(m->section, "tls");
    bool https = false;
    if (tls && cv_bool(tls->value, &https) < 0)
        map_bad_value(m, tls, "expected On or Off");
    char *name = prop_text(m, "host", "127.0.0.1");
    char *port = prop_text(m, "port", "9200");
    char *path = prop_text(m, "path", "");
    size_t path_len = strlen(path);
    while (path_len > 0 && path[path_len - 1] == '/')
        path[--path_len] = '\0';
    char *url = xasprintf("%s://%s%s%s:%s%s%s", https ? "https" : "http",
                          strchr(name, ':') ? "[" : "", name, strchr(name, ':') ? "]" : "", port,
                          path[0] && path[0] != '/' ? "/" : "", path);
    struct out_node *item = out_string(url);
    if (!host) {
        out_set_note(item, "Fluent Bit's default Host and Port");
        out_set_source(item, m->section->file, m->section->line);
    }
    map_add_item(m, "hosts", item, host);
    out_set_source(out_map_get(m->item, "hosts"), item->file, item->line);
    free(url);
    free(path);
    free(port);
    free(name);
}

/* Logstash_Prefix_Key as a reference in skiff's index: `${a.b}` for a
 * nested field, `$${a}` for a top-level one (`${a}` is the environment). */
static char *prefix_reference(struct map_ctx *m, const struct fb_prop *key)
{
    char *error = NULL;
    char *path = cv_field_path(key->value, false, &error);
    if (!path) {
        map_bad_value(m, key, error);
        free(error);
        return NULL;
    }
    char *ref = xasprintf("%s${%s}", strpbrk(path, ".[") ? "" : "$", path);
    free(path);
    return ref;
}

static void es_logstash_index(struct map_ctx *m)
{
    const struct fb_prop *prefix = fb_section_get(m->section, "logstash_prefix");
    const struct fb_prop *key = fb_section_get(m->section, "logstash_prefix_key");
    const struct fb_prop *index = fb_section_get(m->section, "index");
    char *fixed = prop_text(m, "logstash_prefix", "logstash");
    char *separator = prop_text(m, "logstash_prefix_separator", "-");
    char *date = prop_text(m, "logstash_dateformat", "%Y.%m.%d");
    char *ref = key ? prefix_reference(m, key) : NULL;
    char *text = xasprintf("%s%s%s", ref ? ref : fixed, separator, date);
    struct out_node *node = out_string(text);
    if (ref)
        out_set_note(node, "a record without %s gets `unknown` here; Fluent Bit writes %s",
                     key->value, fixed);
    else if (!prefix && !fb_section_get(m->section, "logstash_dateformat"))
        out_set_note(node, "Fluent Bit's Logstash_Format names, logstash-YYYY.MM.DD");
    const struct fb_prop *source = key      ? key
                                   : prefix ? prefix
                                            : fb_section_get(m->section, "logstash_format");
    map_set(m, "index", node, source);
    if (index)
        map_comment(m, index, false, "Fluent Bit does not use Index with Logstash_Format On");
    free(text);
    free(ref);
    free(date);
    free(separator);
    free(fixed);
}

static void es_index(struct map_ctx *m)
{
    const struct fb_prop *logstash = fb_section_get(m->section, "logstash_format");
    bool on = false;
    if (logstash && cv_bool(logstash->value, &on) < 0)
        map_bad_value(m, logstash, "expected On or Off");
    if (on) {
        es_logstash_index(m);
        return;
    }
    const struct fb_prop *index = fb_section_get(m->section, "index");
    if (!index) {
        map_set_default(m, "index", out_string("fluent-bit"), "Fluent Bit's default Index");
        return;
    }
    char *text = map_text(m, index);
    struct out_node *node = out_string(text);
    if (strchr(text, '%'))
        out_set_note(node, "dates of the record's time; Fluent Bit takes the current time");
    map_set(m, "index", node, index);
    free(text);
}

static void es_begin(struct map_ctx *m)
{
    es_hosts(m);
    es_index(m);
}

static void es_type(struct map_ctx *m, const struct fb_prop *p, const struct map_option *o)
{
    if (!strcmp(p->value, "_doc"))
        map_comment(m, p, false, "with suppress_type_name false skiff sends _type _doc");
    else
        map_none(m, p, "with suppress_type_name false skiff sends _type _doc");
}

static void es_compress(struct map_ctx *m, const struct fb_prop *p, const struct map_option *o)
{
    if (!strcasecmp(p->value, "gzip"))
        map_set_string(m, "compress", "gzip", p);
    else
        map_none(m, p, "skiff compresses with gzip, or not (compress: none)");
}

static void es_generate_id(struct map_ctx *m, const struct fb_prop *p, const struct map_option *o)
{
    bool on;
    if (cv_bool(p->value, &on) < 0) {
        map_bad_value(m, p, "expected On or Off");
    } else if (on && !fb_section_get(m->section, "id_key")) {
        struct out_node *node = out_string("origin");
        out_set_note(node, "ids from the record's file and offset, not a hash of its content: "
                           "a retry is not indexed twice either");
        map_set(m, "id", node, p);
    } else if (!on) {
        map_comment(m, p, false,
                    "skiff's id: origin (the default) gives ids from the record's "
                    "file and offset, so a retry is not indexed twice");
    }
}

static void es_id_key(struct map_ctx *m, const struct fb_prop *p, const struct map_option *o)
{
    char *error = NULL;
    char *path = cv_field_path(p->value, false, &error);
    if (!path) {
        map_bad_value(m, p, error);
        free(error);
        return;
    }
    char *id = xasprintf("field:%s", path);
    map_set_string(m, "id", id, p);
    free(id);
    free(path);
}

static void es_write_operation(struct map_ctx *m, const struct fb_prop *p,
                               const struct map_option *o)
{
    if (!strcasecmp(p->value, "create") || !strcasecmp(p->value, "index")) {
        char *lower = xstrdup(p->value);
        for (char *c = lower; *c; c++)
            *c = (char)(*c >= 'A' && *c <= 'Z' ? *c - 'A' + 'a' : *c);
        map_set_string(m, "write_operation", lower, p);
        free(lower);
    } else {
        map_none(m, p, "skiff writes with create or index");
    }
}

static void es_finish(struct map_ctx *m)
{
    if (!fb_section_get(m->section, "suppress_type_name"))
        map_set_default(m, "suppress_type_name", out_raw("false"),
                        "Fluent Bit's default Suppress_Type_Name Off sends _type, which "
                        "Elasticsearch 8 refuses: set true there");
}

static const struct map_option es_options[] = {
    {"host", NULL, MAP_LATER, NULL, NULL},
    {"port", NULL, MAP_LATER, NULL, NULL},
    {"tls", NULL, MAP_LATER, NULL, NULL},
    {"path", NULL, MAP_LATER, NULL, NULL},
    {"index", NULL, MAP_LATER, NULL, NULL},
    {"logstash_format", NULL, MAP_LATER, NULL, NULL},
    {"logstash_prefix", NULL, MAP_LATER, NULL, NULL},
    {"logstash_prefix_key", NULL, MAP_LATER, NULL, NULL},
    {"logstash_prefix_separator", NULL, MAP_LATER, NULL, NULL},
    {"logstash_dateformat", NULL, MAP_LATER, NULL, NULL},
    {"type", NULL, MAP_CUSTOM, NULL, es_type},
    {"suppress_type_name", "suppress_type_name", MAP_BOOL, NULL, NULL},
    {"http_user", "user", MAP_STRING, NULL, NULL},
    {"http_passwd", "password", MAP_STRING, NULL, NULL},
    {"http_api_key", "api_key", MAP_STRING, NULL, NULL},
    {"compress", NULL, MAP_CUSTOM, NULL, es_compress},
    {"generate_id", NULL, MAP_CUSTOM, NULL, es_generate_id},
    {"id_key", NULL, MAP_CUSTOM, NULL, es_id_key},
    {"write_operation", NULL, MAP_CUSTOM, NULL, es_write_operation},
    {"replace_dots", "dedot_keys", MAP_BOOL, NULL, NULL},
    {"time_key", "time_key", MAP_STRING, NULL, NULL},
    {"time_key_format", NULL, MAP_NONE, "skiff writes RFC 3339 times with nanoseconds", NULL},
    {"time_key_nanos", NULL, MAP_NOTE, "skiff writes times with nanoseconds", NULL},
    {"include_tag_key", NULL, MAP_NONE, "skiff's documents do not carry the tag", NULL},
    {"tag_key", NULL, MAP_NONE, "skiff's documents do not carry the tag", NULL},
    {"pipeline", "pipeline", MAP_STRING, NULL, NULL},
    {"workers", "max_in_flight", MAP_INT, NULL, NULL},
    {"buffer_size", NULL, MAP_NONE, "skiff reads bulk responses of up to 16MiB", NULL},
    {"trace_output", NULL, MAP_NONE, "skiff logs rejected documents, with an example", NULL},
    {"trace_error", NULL, MAP_NONE,
     "rejected documents are logged with an example, at most once a minute, and dead-lettered",
     NULL},
    {"current_time_index", NULL, MAP_NONE, "index dates come from the record's time", NULL},
    {"cloud_id", NULL, MAP_NONE, "write the deployment's URL in hosts", NULL},
    {"cloud_auth", NULL, MAP_NONE, "use user and password", NULL},
    {"upstream", NULL, MAP_NONE, "list every node's URL in hosts", NULL},
    {"tls.verify", "tls.verify", MAP_BOOL, NULL, NULL},
    {"tls.ca_file", "tls.ca_file", MAP_STRING, NULL, NULL},
    {"tls.crt_file", "tls.cert_file", MAP_STRING, NULL, NULL},
    {"tls.key_file", "tls.key_file", MAP_STRING, NULL, NULL},
    {"tls.vhost", "tls.server_name", MAP_STRING, NULL, NULL},
    {"tls.key_passwd", NULL, MAP_NONE, "give tls.key_file without a passphrase", NULL},
    {"tls.ca_path", NULL, MAP_NONE, "tls.ca_file takes a PEM bundle", NULL},
    {0},
};

static const struct map_plugin es_plugin = {.fb_name = "es",
                                            .skiff_name = "elasticsearch",
                                            .options = es_options,
                                            .begin = es_begin,
                                            .finish = es_finish};

/* ---- stdout, file, null ---- */

static const struct map_option stdout_options[] = {
    {"format", NULL, MAP_NOTE, "skiff writes JSON lines", NULL},
    {"json_date_key", NULL, MAP_NONE, "skiff writes the time as @timestamp, RFC 3339", NULL},
    {"json_date_format", NULL, MAP_NONE, "skiff writes the time as @timestamp, RFC 3339", NULL},
    {0},
};

static const struct map_plugin stdout_plugin = {
    .fb_name = "stdout", .skiff_name = "stdout", .options = stdout_options};

static void file_finish(struct map_ctx *m)
{
    const struct fb_prop *dir = fb_section_get(m->section, "path");
    const struct fb_prop *name = fb_section_get(m->section, "file");
    if (!name) {
        const struct fb_prop *at = dir ? dir : fb_section_get(m->section, "name");
        map_comment(m, at, true,
                    "Fluent Bit names the file after the tag; skiff writes one "
                    "file: set path");
        return;
    }
    char *file = map_text(m, name);
    char *folder = dir ? map_text(m, dir) : NULL;
    char *path = folder ? xasprintf("%s/%s", folder, file) : xstrdup(file);
    map_set_string(m, "path", path, name);
    free(path);
    free(folder);
    free(file);
}

static const struct map_option file_options[] = {
    {"path", NULL, MAP_LATER, NULL, NULL},
    {"file", NULL, MAP_LATER, NULL, NULL},
    {"format", NULL, MAP_NONE, "skiff writes JSON lines", NULL},
    {"mkdir", NULL, MAP_NONE, "skiff creates the file, not its folder", NULL},
    {0},
};

static const struct map_plugin file_plugin = {
    .fb_name = "file", .skiff_name = "file", .options = file_options, .finish = file_finish};

static const struct map_option null_options[] = {{0}};

static const struct map_plugin null_plugin = {
    .fb_name = "null", .skiff_name = "null", .options = null_options};

const struct map_plugin *const map_outputs[] = {&es_plugin, &stdout_plugin, &file_plugin,
                                                &null_plugin, NULL};
