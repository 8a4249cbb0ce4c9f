/* `skiff --convert` for the sections that are not plugins: [SERVICE] into
 * `service:`, [PARSER] into `parsers:`, [MULTILINE_PARSER] into
 * `multiline_parsers:` (the multiline filter's rule sets). Fluent Bit's
 * names and defaults: src/flb_config.c, src/flb_parser.c,
 * src/multiline/flb_ml_parser.c. */
#include "convert_map.h"

#include "convert_value.h"
#include "plugin.h"
#include "xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static void service_log_level(struct map_ctx *m, const struct fb_prop *p,
                              const struct map_option *o)
{
    static const char *const levels[][3] = {
        {"error", "error", NULL},
        {"warn", "warn", NULL},
        {"warning", "warn", NULL},
        {"info", "info", NULL},
        {"debug", "debug", NULL},
        {"trace", "debug", "Fluent Bit's trace: skiff's most detailed level is debug"},
        {"off", "error", "Fluent Bit's off: skiff always logs errors"},
    };
    for (size_t i = 0; i < sizeof levels / sizeof levels[0]; i++) {
        if (strcasecmp(p->value, levels[i][0]) != 0)
            continue;
        struct out_node *node = out_string(levels[i][1]);
        if (levels[i][2])
            out_set_note(node, "%s", levels[i][2]);
        map_set(m, o->skiff, node, p);
        return;
    }
    map_bad_value(m, p, "expected error, warn, info, debug, trace or off");
}

static void service_daemon(struct map_ctx *m, const struct fb_prop *p, const struct map_option *o)
{
    bool on;
    if (cv_bool(p->value, &on) == 0 && !on)
        map_comment(m, p, false, "skiff runs in the foreground");
    else
        map_none(m, p, "run skiff under systemd or in a container");
}

static void service_parsers_file(struct map_ctx *m, const struct fb_prop *p,
                                 const struct map_option *o)
{
    map_comment(m, p, false, "its parsers are in parsers: and multiline_parsers: below");
}

static const struct map_option service_options[] = {
    {"flush", "flush_interval", MAP_SECONDS, NULL, NULL},
    {"grace", "grace", MAP_SECONDS, NULL, NULL},
    {"log_level", "log_level", MAP_CUSTOM, NULL, service_log_level},
    {"daemon", NULL, MAP_CUSTOM, NULL, service_daemon},
    {"parsers_file", NULL, MAP_CUSTOM, NULL, service_parsers_file},
    {"http_server", NULL, MAP_LATER, NULL, NULL},
    {"http_listen", NULL, MAP_LATER, NULL, NULL},
    {"http_port", NULL, MAP_LATER, NULL, NULL},
    {"health_check", NULL, MAP_NOTE,
     "skiff answers /healthz and /readyz (failing outputs) wherever http.listen is set", NULL},
    {"hc_errors_count", NULL, MAP_NONE, "/readyz answers 503 while an output is failing", NULL},
    {"hc_retry_failure_count", NULL, MAP_NONE, "/readyz answers 503 while an output is failing",
     NULL},
    {"hc_period", NULL, MAP_NONE, "/readyz answers 503 while an output is failing", NULL},
    {"storage.path", "state_dir", MAP_STRING, NULL, NULL},
    {"storage.sync", "storage.sync", MAP_LOWER, NULL, NULL},
    {"storage.checksum", NULL, MAP_NOTE, "skiff's chunk files always carry CRC32s", NULL},
    {"storage.metrics", NULL, MAP_NOTE, "skiff's storage metrics are always on /metrics", NULL},
    {"storage.delete_irrecoverable_chunks", NULL, MAP_NOTE,
     "skiff moves damaged chunk files to state_dir/corrupt/", NULL},
    {"storage.max_chunks_up", NULL, MAP_NONE,
     "each input's buffer_limit bounds its chunks in memory", NULL},
    {"storage.backlog.mem_limit", NULL, MAP_NONE,
     "chunks left on disk are replayed before inputs start", NULL},
    {"log_file", NULL, MAP_NONE, "skiff logs to stderr", NULL},
    {"scheduler.base", NULL, MAP_NONE, "retry_min of each output", NULL},
    {"scheduler.cap", NULL, MAP_NONE, "retry_max of each output", NULL},
    {0},
};

void map_service(struct convert *cv, const struct fb_section *s)
{
    if (s->from_parsers_file)
        return;
    struct map_ctx m = {.cv = cv, .section = s, .label = "[SERVICE]", .item = cv->service};
    const struct map_option *const tables[] = {service_options};
    map_options(&m, tables, 1);
    map_groups_none(&m);
}

/* [SERVICE] HTTP_Server, HTTP_Listen and HTTP_Port, over every [SERVICE]
 * section, as Fluent Bit merges them, into http.listen. */
void map_service_http(struct convert *cv)
{
    const struct fb_prop *server = NULL, *listen = NULL, *port = NULL;
    const struct fb_section *last = NULL;
    for (size_t i = 0; i < cv->fb->section_count; i++) {
        const struct fb_section *s = &cv->fb->sections[i];
        if (!fb_section_is(s, "service") || s->from_parsers_file)
            continue;
        last = s;
        server = fb_section_get(s, "http_server") ? fb_section_get(s, "http_server") : server;
        listen = fb_section_get(s, "http_listen") ? fb_section_get(s, "http_listen") : listen;
        port = fb_section_get(s, "http_port") ? fb_section_get(s, "http_port") : port;
    }
    if (!last || (!server && !listen && !port))
        return;
    struct map_ctx m = {.cv = cv, .section = last, .label = "[SERVICE]", .item = cv->service};
    bool on = false;
    if (server && cv_bool(server->value, &on) < 0) {
        map_bad_value(&m, server, "expected On or Off");
        return;
    }
    if (!on) {
        const struct fb_prop *p = listen ? listen : port ? port : server;
        map_comment(&m, p, false, "the HTTP server is off (HTTP_Server Off): no http.listen");
        return;
    }
    char *host = listen ? cv_text(cv->fb, listen->value) : xstrdup("0.0.0.0");
    char *number = port ? cv_text(cv->fb, port->value) : xstrdup("2020");
    char *address =
        strchr(host, ':') ? xasprintf("[%s]:%s", host, number) : xasprintf("%s:%s", host, number);
    map_set_string(&m, "http.listen", address, server);
    free(address);
    free(number);
    free(host);
}

/* ---- [PARSER] ---- */

static void parser_time_offset(struct map_ctx *m, const struct fb_prop *p,
                               const struct map_option *o)
{
    /* A whole-hour offset is the IANA zone Etc/GMT-N (the sign is POSIX's,
     * inverted): the same fixed offset, with no summer time. */
    const char *v = p->value;
    int hours, minutes;
    if ((v[0] == '+' || v[0] == '-') && strlen(v) == 5 &&
        sscanf(v + 1, "%2d%2d", &hours, &minutes) == 2 && minutes == 0 && hours <= 14) {
        char *zone = hours == 0 ? xstrdup("Etc/UTC")
                                : xasprintf("Etc/GMT%c%d", v[0] == '+' ? '-' : '+', hours);
        struct out_node *node = out_string(zone);
        out_set_note(node, "Fluent Bit's Time_Offset %s: a fixed offset, no summer time", v);
        map_set(m, "time_zone", node, p);
        free(zone);
        return;
    }
    map_none(m, p, "time_zone takes an IANA zone; no zone has this offset in whole hours");
}

static void parser_types(struct map_ctx *m, const struct fb_prop *p, const struct map_option *o)
{
    static const char *const types[][2] = {
        {"integer", "int"}, {"float", "float"}, {"bool", "bool"}, {"string", "string"}};
    char **pairs;
    int count = cv_split_args(p->value, &pairs);
    for (int i = 0; i < count; i++) {
        char *colon = strchr(pairs[i], ':');
        size_t t = 0;
        while (colon && t < 4 && strcasecmp(colon + 1, types[t][0]) != 0)
            t++;
        if (!colon || t == 4) {
            map_comment(m, p, true,
                        "type of '%s' not carried: skiff converts to int, float, "
                        "bool or string",
                        pairs[i]);
            continue;
        }
        *colon = '\0';
        struct out_node *node = out_string(types[t][1]);
        out_set_source(node, p->file, p->line);
        struct out_node *map = out_map_get(m->item, "types");
        if (!map) {
            map = out_map();
            map_set(m, "types", map, p);
        }
        out_map_put(map, pairs[i], node);
    }
    cv_free_list(pairs, count > 0 ? (size_t)count : 0);
}

static const struct map_option parser_options[] = {
    {"format", "format", MAP_LATER, NULL, NULL},
    {"regex", "regex", MAP_STRING, NULL, NULL},
    {"time_key", "time_key", MAP_STRING, NULL, NULL},
    {"time_format", "time_format", MAP_STRING, NULL, NULL},
    {"time_keep", "time_keep", MAP_BOOL, NULL, NULL},
    {"time_offset", NULL, MAP_CUSTOM, NULL, parser_time_offset},
    {"types", NULL, MAP_CUSTOM, NULL, parser_types},
    {"time_system_timezone", NULL, MAP_NONE, "time_zone takes an IANA zone", NULL},
    {"skip_empty_values", NULL, MAP_NOTE,
     "skiff's regex parser leaves out groups that match "
     "nothing",
     NULL},
    {0},
};

/* A parser skiff has built in under the same name (docker, cri, json) is
 * used as it is: the names the configuration uses keep working. */
static const char *parser_drop_reason(const struct fb_section *s, const char *name)
{
    const struct plugin *builtin = plugin_find(name, PLUGIN_PARSER);
    if (builtin && builtin->builtin)
        return "skiff's built-in parser of this name is used instead";
    const char *format = fb_section_value(s, "format");
    if (!format)
        return "no Format: Fluent Bit refuses it";
    if (strcasecmp(format, "regex") && strcasecmp(format, "json") && strcasecmp(format, "logfmt"))
        return "no equivalent in skiff for this Format (skiff has regex, json, logfmt)";
    return NULL;
}

static void drop_section(struct convert *cv, struct out_node *list, const struct fb_section *s,
                         const char *label, const char *why)
{
    struct out_node *c = out_comment("Fluent Bit %s (%s:%u): %s", label, s->file, s->line, why);
    out_set_source(c, s->file, s->line);
    out_list_add(list, c);
    convert_note(cv, s->file, s->line, "%s: %s", label, why);
}

void map_parser(struct convert *cv, const struct fb_section *s)
{
    const char *name = fb_section_value(s, "name");
    if (!name) {
        diag_add(&cv->errors, NULL, "%s:%u: [PARSER] without Name", s->file, s->line);
        return;
    }
    char *label = xasprintf("[PARSER] %s", name);
    const char *drop = parser_drop_reason(s, name);
    if (drop) {
        drop_section(cv, cv->parsers, s, label, drop);
        free(label);
        return;
    }
    struct map_ctx m = {.cv = cv, .section = s, .label = label, .item = out_map()};
    out_set_source(m.item, s->file, s->line);
    map_set_string(&m, "name", name, fb_section_get(s, "name"));
    char *format = xstrdup(fb_section_value(s, "format"));
    for (char *c = format; *c; c++)
        *c = (char)(*c >= 'A' && *c <= 'Z' ? *c - 'A' + 'a' : *c);
    map_set_string(&m, "format", format, fb_section_get(s, "format"));
    free(format);
    const struct map_option *const tables[] = {parser_options};
    map_options(&m, tables, 1);
    map_groups_none(&m);
    out_list_add(cv->parsers, m.item);
    free(label);
}

/* ---- [MULTILINE_PARSER] ---- */

static void add_rule(struct map_ctx *m, const char *state, const char *regex, const char *next,
                     const char *file, unsigned line)
{
    size_t len = strlen(regex);
    struct out_node *rule = out_map();
    out_set_source(rule, file, line);
    out_map_set(rule, "state", out_string(state));
    /* Fluent Bit writes the regex between slashes: "/^\s+at /". */
    char *bare = len >= 2 && regex[0] == '/' && regex[len - 1] == '/' ? xstrndup(regex + 1, len - 2)
                                                                      : xstrdup(regex);
    char *text = cv_text(m->cv->fb, bare);
    out_map_set(rule, "regex", out_string(text));
    out_map_set(rule, "next_state", out_string(next));
    free(text);
    free(bare);
    struct out_node *rules = out_map_list(m->item, "rules");
    out_set_source(rules, file, line);
    out_list_add(rules, rule);
}

static void rule_line(struct map_ctx *m, const struct fb_prop *p, const struct map_option *o)
{
    char **args;
    int count = cv_split_args(p->value, &args);
    if (count != 3)
        map_bad_value(m, p, "expected \"state\" \"/regex/\" \"next_state\"");
    else
        add_rule(m, args[0], args[1], args[2], p->file, p->line);
    cv_free_list(args, count > 0 ? (size_t)count : 0);
}

static const struct map_option multiline_options[] = {
    {"type", NULL, MAP_LATER, NULL, NULL},
    {"rule", NULL, MAP_CUSTOM, NULL, rule_line},
    {"flush_timeout", NULL, MAP_NONE, "flush_timeout of the multiline filter that uses it", NULL},
    {0},
};

static bool builtin_rule_set(const char *name)
{
    static const char *const builtin[] = {"java", "python", "go"};
    for (size_t i = 0; i < 3; i++) {
        if (strcasecmp(name, builtin[i]) == 0)
            return true;
    }
    return false;
}

void map_multiline_parser(struct convert *cv, const struct fb_section *s)
{
    const char *name = fb_section_value(s, "name");
    const char *type = fb_section_value(s, "type");
    if (!name) {
        diag_add(&cv->errors, NULL, "%s:%u: [MULTILINE_PARSER] without Name", s->file, s->line);
        return;
    }
    char *label = xasprintf("[MULTILINE_PARSER] %s", name);
    if (builtin_rule_set(name) || !type || strcasecmp(type, "regex") != 0) {
        drop_section(cv, cv->multiline_parsers, s, label,
                     builtin_rule_set(name)
                         ? "skiff's built-in rule set of this name is used instead"
                         : "no equivalent in skiff: skiff's rule sets are of Type regex");
        free(label);
        return;
    }
    struct map_ctx m = {.cv = cv, .section = s, .label = label, .item = out_map()};
    out_set_source(m.item, s->file, s->line);
    map_set_string(&m, "name", name, fb_section_get(s, "name"));
    const struct map_option *const tables[] = {multiline_options};
    map_options(&m, tables, 1);
    for (size_t g = 0; g < s->group_count; g++) {
        const struct fb_section *r = &s->groups[g];
        const char *state = fb_section_value(r, "state");
        const char *regex = fb_section_value(r, "regex");
        const char *next = fb_section_value(r, "next_state");
        if (state && regex && next)
            add_rule(&m, state, regex, next, r->file, r->line);
        else
            diag_add(&cv->errors, NULL, "%s:%u: %s: a rule needs state, regex and next_state",
                     r->file, r->line, label);
    }
    out_list_add(cv->multiline_parsers, m.item);
    free(label);
}
