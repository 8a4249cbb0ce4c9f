/* `skiff --convert` for Fluent Bit's filters: kubernetes
 * (plugins/filter_kubernetes/kubernetes.c), modify, nest, record_modifier,
 * parser, multiline, rewrite_tag and throttle; grep is convert_map_grep.c.
 * Fluent Bit's defaults that differ from skiff's and change the documents
 * (Annotations, the K8S-Logging annotations) are written out. */
#include "convert_map.h"

#include "convert_value.h"
#include "xalloc.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define SERVICE_ACCOUNT "/var/run/secrets/kubernetes.io/serviceaccount/"

static bool prop_bool(struct map_ctx *m, const char *key, bool fallback)
{
    const struct fb_prop *p = fb_section_get(m->section, key);
    bool value = fallback;
    if (p && cv_bool(p->value, &value) < 0) {
        map_bad_value(m, p, "expected On or Off");
        return fallback;
    }
    return value;
}

/* K8S-Logging.Parser and K8S-Logging.Exclude (both off in Fluent Bit) are
 * one switch in skiff, on by default. */
static void k8s_annotations(struct map_ctx *m)
{
    const struct fb_prop *parser = fb_section_get(m->section, "k8s-logging.parser");
    const struct fb_prop *exclude = fb_section_get(m->section, "k8s-logging.exclude");
    bool use_parser = prop_bool(m, "k8s-logging.parser", false);
    bool use_exclude = prop_bool(m, "k8s-logging.exclude", false);
    if (!use_parser && !use_exclude) {
        map_set_default(m, "use_pod_annotations", out_raw("false"),
                        "Fluent Bit obeys no fluentbit.io/ annotation without K8S-Logging.Parser "
                        "and K8S-Logging.Exclude On");
        return;
    }
    struct out_node *on = out_raw("true");
    const struct fb_prop *source = use_parser ? parser : exclude;
    if (use_parser != use_exclude) {
        const struct fb_prop *off = use_parser ? exclude : parser;
        const char *name = use_parser ? "K8S-Logging.Exclude" : "K8S-Logging.Parser";
        out_set_note(on, "skiff obeys the parser and exclude annotations together");
        convert_note(m->cv, off ? off->file : m->section->file, off ? off->line : m->section->line,
                     "%s %s Off: not carried: skiff's use_pod_annotations obeys both the parser "
                     "and the exclude annotations",
                     m->label, name);
    }
    map_set(m, "use_pod_annotations", on, source);
}

static void k8s_kubelet(struct map_ctx *m)
{
    const struct fb_prop *host = fb_section_get(m->section, "kubelet_host");
    const struct fb_prop *port = fb_section_get(m->section, "kubelet_port");
    if (!host && !port)
        return;
    char *h = host ? map_text(m, host) : xstrdup("127.0.0.1");
    char *n = port ? map_text(m, port) : xstrdup("10250");
    char *url =
        strchr(h, ':') ? xasprintf("https://[%s]:%s", h, n) : xasprintf("https://%s:%s", h, n);
    map_set_string(m, "kubelet_url", url, host ? host : port);
    free(url);
    free(n);
    free(h);
}

/* skiff's filter reads the pod from the field the tail input writes the
 * path in (Fluent Bit's reads the tag): the first tail input's Path_Key. */
static void k8s_path_key(struct map_ctx *m)
{
    for (size_t i = 0; i < m->cv->fb->section_count; i++) {
        const struct fb_section *s = &m->cv->fb->sections[i];
        const char *plugin = fb_section_value(s, "name");
        const struct fb_prop *key = fb_section_get(s, "path_key");
        if (!fb_section_is(s, "input") || !plugin || strcasecmp(plugin, "tail") || !key)
            continue;
        struct out_node *node = out_string(key->value);
        out_set_note(node, "the tail input's Path_Key (%s:%u)", key->file, key->line);
        map_set(m, "path_key", node, key);
        return;
    }
}

static void k8s_finish(struct map_ctx *m)
{
    k8s_path_key(m);
    if (!fb_section_get(m->section, "annotations"))
        map_set_default(m, "annotations", out_raw("true"),
                        "Fluent Bit's default Annotations On; skiff's own is off");
    k8s_annotations(m);
    k8s_kubelet(m);
    /* Fluent Bit uses the service account's files also with Kube_URL;
     * skiff only when api_url is unset. */
    if (fb_section_get(m->section, "kube_url")) {
        if (!fb_section_get(m->section, "kube_ca_file"))
            map_set_default(m, "ca_file", out_string(SERVICE_ACCOUNT "ca.crt"),
                            "Fluent Bit's default Kube_CA_File");
        if (!fb_section_get(m->section, "kube_token_file"))
            map_set_default(m, "token_file", out_string(SERVICE_ACCOUNT "token"),
                            "Fluent Bit's default Kube_Token_File");
    }
    struct out_node *c = out_comment("skiff watches the pods of its node: give the DaemonSet "
                                     "NODE_NAME from spec.nodeName, or set node_name");
    out_set_source(c, m->section->file, m->section->line);
    out_map_comment(m->item, c);
}

static const struct map_option kubernetes_options[] = {
    {"merge_log", "merge_log", MAP_BOOL, NULL, NULL},
    {"merge_log_key", "merge_log_key", MAP_STRING, NULL, NULL},
    {"merge_log_trim", "merge_log_trim", MAP_BOOL, NULL, NULL},
    {"keep_log", "keep_log", MAP_BOOL, NULL, NULL},
    {"kube_url", "api_url", MAP_STRING, NULL, NULL},
    {"kube_ca_file", "ca_file", MAP_STRING, NULL, NULL},
    {"kube_token_file", "token_file", MAP_STRING, NULL, NULL},
    {"tls.verify", "tls_verify", MAP_BOOL, NULL, NULL},
    {"labels", "labels", MAP_BOOL, NULL, NULL},
    {"annotations", "annotations", MAP_BOOL, NULL, NULL},
    {"namespace_labels", "namespace_labels", MAP_BOOL, NULL, NULL},
    {"namespace_annotations", "namespace_annotations", MAP_BOOL, NULL, NULL},
    {"use_kubelet", "use_kubelet", MAP_BOOL, NULL, NULL},
    {"kubelet_host", NULL, MAP_LATER, NULL, NULL},
    {"kubelet_port", NULL, MAP_LATER, NULL, NULL},
    {"k8s-logging.parser", NULL, MAP_LATER, NULL, NULL},
    {"k8s-logging.exclude", NULL, MAP_LATER, NULL, NULL},
    {"kube_tag_prefix", NULL, MAP_NONE, "skiff reads the pod from the record's path, not the tag",
     NULL},
    {"regex_parser", NULL, MAP_NONE, "skiff reads the pod from the record's path, not the tag",
     NULL},
    {"use_tag_for_meta", NULL, MAP_NONE, "skiff reads the pod from the record's path", NULL},
    {"merge_parser", NULL, MAP_NONE,
     "merge_log reads JSON; a pod's parser annotation names "
     "another parser",
     NULL},
    {"buffer_size", NULL, MAP_NONE, "skiff reads watch events up to max_event_size, 16MiB", NULL},
    {"kube_meta_cache_ttl", NULL, MAP_NONE, "skiff's cache follows the pods' changes on a watch",
     NULL},
    {"kube_token_ttl", NULL, MAP_NOTE, "skiff reads token_file again whenever it changes", NULL},
    {"kube_token_command", NULL, MAP_NONE, "token_file is read again whenever it changes", NULL},
    {"owner_references", NULL, MAP_NOTE, "skiff adds the controlling owner as kubernetes.owner",
     NULL},
    {0},
};

static const struct map_plugin kubernetes_plugin = {.fb_name = "kubernetes",
                                                    .skiff_name = "kubernetes",
                                                    .options = kubernetes_options,
                                                    .finish = k8s_finish};

/* ---- modify ---- */

/* The actions and conditions of Fluent Bit's modify; bit n of `keys` set
 * when argument n is a record key (a field path in skiff). */
static const struct modify_form {
    const char *name;
    unsigned keys;
} modify_forms[] = {
    {"set", 1},
    {"add", 1},
    {"remove", 1},
    {"remove_wildcard", 0},
    {"remove_regex", 0},
    {"rename", 3},
    {"hard_rename", 3},
    {"copy", 3},
    {"hard_copy", 3},
    {"key_exists", 1},
    {"key_does_not_exist", 1},
    {"a_key_matches", 0},
    {"no_key_matches", 0},
    {"key_value_equals", 1},
    {"key_value_does_not_equal", 1},
    {"key_value_matches", 1},
    {"key_value_does_not_match", 1},
    {"matching_keys_have_matching_values", 0},
    {"matching_keys_do_not_have_matching_values", 0},
};

static const struct modify_form *modify_form(const char *name)
{
    for (size_t i = 0; i < sizeof modify_forms / sizeof modify_forms[0]; i++) {
        if (strcasecmp(modify_forms[i].name, name) == 0)
            return &modify_forms[i];
    }
    return NULL;
}

/* One argument as skiff's modify splits them: blanks separate, "..." keeps
 * them (without escapes). Returns -1 for what it cannot hold. */
static int append_arg(struct buf *line, const char *arg)
{
    bool quote = !arg[0] || strpbrk(arg, " \t") || arg[0] == '"';
    if (quote && strchr(arg, '"'))
        return -1;
    buf_printf(line, quote ? " \"%s\"" : " %s", arg);
    return 0;
}

/* `Condition Key_value_equals stream stderr` or `Rename a b`: one line of
 * skiff's `condition` or `rules`, keys as field paths. */
static char *modify_line(struct map_ctx *m, const char *action, const char *value, char **error)
{
    const struct modify_form *form = modify_form(action);
    char **args;
    int count = cv_split_args(value, &args);
    if (!form || count < 0) {
        *error = xstrdup(form ? "unterminated quote" : "unknown action");
        cv_free_list(args, (size_t)(count > 0 ? count : 0));
        return NULL;
    }
    struct buf line = BUF_INIT;
    buf_append_str(&line, form->name);
    for (int i = 0; i < count && !*error; i++) {
        bool is_key = i < (int)(sizeof form->keys * CHAR_BIT) && ((form->keys >> i) & 1);
        char *path = is_key ? cv_field_path(args[i], true, error) : NULL;
        if (!*error && append_arg(&line, path ? path : args[i]) < 0)
            *error = xstrdup("an argument with both blanks and a '\"' that skiff cannot hold");
        free(path);
    }
    cv_free_list(args, (size_t)(count > 0 ? count : 0));
    if (*error) {
        buf_free(&line);
        return NULL;
    }
    buf_cstr(&line);
    return line.data;
}

static void modify_rule(struct map_ctx *m, const struct fb_prop *p, const struct map_option *o)
{
    bool condition = !strcasecmp(p->key, "condition");
    char *text = map_text(m, p);
    char *error = NULL;
    char *line;
    if (condition) {
        size_t len = strcspn(text, " ");
        char *action = xstrndup(text, len);
        line = modify_line(m, action, text + len, &error);
        free(action);
    } else {
        line = modify_line(m, p->key, text, &error);
    }
    if (line)
        map_add_item(m, condition ? "condition" : "rules", out_string(line), p);
    else
        map_bad_value(m, p, error);
    free(line);
    free(error);
    free(text);
}

static const struct map_option modify_options[] = {
    {"condition", NULL, MAP_CUSTOM, NULL, modify_rule},
    {"set", NULL, MAP_CUSTOM, NULL, modify_rule},
    {"add", NULL, MAP_CUSTOM, NULL, modify_rule},
    {"remove", NULL, MAP_CUSTOM, NULL, modify_rule},
    {"remove_wildcard", NULL, MAP_CUSTOM, NULL, modify_rule},
    {"remove_regex", NULL, MAP_CUSTOM, NULL, modify_rule},
    {"rename", NULL, MAP_CUSTOM, NULL, modify_rule},
    {"hard_rename", NULL, MAP_CUSTOM, NULL, modify_rule},
    {"copy", NULL, MAP_CUSTOM, NULL, modify_rule},
    {"hard_copy", NULL, MAP_CUSTOM, NULL, modify_rule},
    {"move_to_start", NULL, MAP_NONE, "skiff does not keep key order meaningful", NULL},
    {"move_to_end", NULL, MAP_NONE, "skiff does not keep key order meaningful", NULL},
    {0},
};

static const struct map_plugin modify_plugin = {
    .fb_name = "modify", .skiff_name = "modify", .options = modify_options};

/* ---- nest, record_modifier ---- */

static const struct map_option nest_options[] = {
    {"operation", "operation", MAP_LOWER, NULL, NULL},
    {"wildcard", "wildcard", MAP_EACH, NULL, NULL},
    {"nest_under", "nest_under", MAP_STRING, NULL, NULL},
    {"nested_under", "nested_under", MAP_STRING, NULL, NULL},
    {"add_prefix", "add_prefix", MAP_STRING, NULL, NULL},
    {"remove_prefix", "remove_prefix", MAP_STRING, NULL, NULL},
    {0},
};

static const struct map_plugin nest_plugin = {
    .fb_name = "nest", .skiff_name = "nest", .options = nest_options};

/* `Record key value`: the value is the rest of the line, a string. */
static void record_line(struct map_ctx *m, const struct fb_prop *p, const struct map_option *o)
{
    char *text = map_text(m, p);
    size_t key_len = strcspn(text, " ");
    const char *value = text + key_len;
    while (*value == ' ')
        value++;
    if (key_len == 0 || !*value) {
        map_bad_value(m, p, "expected `Record key value`");
    } else {
        text[key_len] = '\0';
        struct out_node *record = out_map_get(m->item, "record");
        if (!record) {
            record = out_map();
            map_set(m, "record", record, p);
        }
        struct out_node *node = out_string(value);
        out_set_source(node, p->file, p->line);
        out_map_put(record, text, node);
    }
    free(text);
}

static const struct map_option record_modifier_options[] = {
    {"record", NULL, MAP_CUSTOM, NULL, record_line},
    {"remove_key", "remove_key", MAP_EACH, NULL, NULL},
    {"allowlist_key", "allowlist_key", MAP_EACH, NULL, NULL},
    {"whitelist_key", "whitelist_key", MAP_EACH, NULL, NULL},
    {"uuid_key", NULL, MAP_NONE, NULL, NULL},
    {0},
};

static const struct map_plugin record_modifier_plugin = {.fb_name = "record_modifier",
                                                         .skiff_name = "record_modifier",
                                                         .options = record_modifier_options};

/* ---- parser, multiline ---- */

static void parser_name(struct map_ctx *m, const struct fb_prop *p, const struct map_option *o)
{
    if (out_map_get(m->item, "parser")) {
        map_none(m, p, "skiff's parser filter takes one parser: the first is used");
        return;
    }
    char *text = map_text(m, p);
    map_set_string(m, "parser", text, p);
    free(text);
}

static const struct map_option parser_options[] = {
    {"key_name", "key_name", MAP_STRING, NULL, NULL},
    {"parser", NULL, MAP_CUSTOM, NULL, parser_name},
    {"reserve_data", "reserve_data", MAP_BOOL, NULL, NULL},
    {"preserve_key", "preserve_key", MAP_BOOL, NULL, NULL},
    {0},
};

static const struct map_plugin parser_plugin = {
    .fb_name = "parser", .skiff_name = "parser", .options = parser_options};

static void multiline_parsers(struct map_ctx *m, const struct fb_prop *p,
                              const struct map_option *o)
{
    char **names;
    size_t count = cv_split_list(p->value, &names);
    for (size_t i = 0; i < count; i++) {
        if (!strcasecmp(names[i], "cri") || !strcasecmp(names[i], "docker"))
            map_comment(m, p, false, "%s: skiff's %s parser in the tail input joins partial lines",
                        names[i], names[i]);
        else if (!out_map_get(m->item, "parser"))
            map_set_string(m, "parser", names[i], p);
        else
            map_comment(m, p, true, "%s not carried: a multiline filter takes one rule set",
                        names[i]);
    }
    cv_free_list(names, count);
}

static void multiline_flush(struct map_ctx *m, const struct fb_prop *p, const struct map_option *o)
{
    int64_t ms;
    if (cv_int(p->value, &ms) < 0 || ms <= 0) {
        map_bad_value(m, p, "expected milliseconds");
        return;
    }
    char *text = cv_duration_text(ms);
    map_set_raw(m, "flush_timeout", text, p);
    free(text);
}

static void multiline_finish(struct map_ctx *m)
{
    if (!out_map_get(m->item, "parser"))
        m->drop = "nothing left to do in skiff: its cri and docker parsers join partial lines in "
                  "the tail input";
}

static const struct map_option multiline_options[] = {
    {"multiline.parser", NULL, MAP_CUSTOM, NULL, multiline_parsers},
    {"multiline.key_content", "key", MAP_STRING, NULL, NULL},
    {"flush_ms", NULL, MAP_CUSTOM, NULL, multiline_flush},
    {"mode", NULL, MAP_NOTE, "skiff's cri and docker parsers join partial lines themselves", NULL},
    {"buffer", NULL, MAP_NOTE, "skiff's multiline filter holds events itself", NULL},
    {"emitter_name", NULL, MAP_NOTE, "skiff's multiline filter holds events itself", NULL},
    {"emitter_storage.type", NULL, MAP_NOTE, "skiff's multiline filter holds events itself", NULL},
    {"emitter_mem_buf_limit", NULL, MAP_NOTE, "held events count against the input's buffer", NULL},
    {0},
};

static const struct map_plugin multiline_plugin = {.fb_name = "multiline",
                                                   .skiff_name = "multiline",
                                                   .options = multiline_options,
                                                   .finish = multiline_finish};

/* ---- rewrite_tag, throttle ---- */

static const struct map_option rewrite_tag_options[] = {
    {"rule", "rules", MAP_EACH, NULL, NULL},
    {"emitter_name", NULL, MAP_NONE, "skiff re-routes records without an emitter input", NULL},
    {"emitter_storage.type", NULL, MAP_NONE, "skiff re-routes records without an emitter input",
     NULL},
    {"emitter_mem_buf_limit", NULL, MAP_NONE, "skiff re-routes records without an emitter input",
     NULL},
    {0},
};

static const struct map_plugin rewrite_tag_plugin = {
    .fb_name = "rewrite_tag", .skiff_name = "rewrite_tag", .options = rewrite_tag_options};

/* Interval: seconds with a fraction and s, m, h or d, as throttle.c's
 * parse_duration. */
static void throttle_interval(struct map_ctx *m, const struct fb_prop *p,
                              const struct map_option *o)
{
    int64_t ms;
    if (cv_time(p->value, false, &ms) < 0 || ms <= 0) {
        map_bad_value(m, p, "expected a time: 1s, 1m, 0.5");
        return;
    }
    char *text = cv_duration_text(ms);
    map_set_raw(m, "interval", text, p);
    free(text);
}

static const struct map_option throttle_options[] = {
    {"rate", "rate", MAP_NUMBER, NULL, NULL},
    {"window", "window", MAP_INT, NULL, NULL},
    {"interval", NULL, MAP_CUSTOM, NULL, throttle_interval},
    {"print_status", "print_status", MAP_BOOL, NULL, NULL},
    {0},
};

static const struct map_plugin throttle_plugin = {
    .fb_name = "throttle", .skiff_name = "throttle", .options = throttle_options};

static const struct map_plugin grep_plugin = {.fb_name = "grep", .convert = map_grep};

const struct map_plugin *const map_filters[] = {
    &kubernetes_plugin, &modify_plugin,
    &nest_plugin,       &record_modifier_plugin,
    &parser_plugin,     &multiline_plugin,
    &grep_plugin,       &rewrite_tag_plugin,
    &throttle_plugin,   NULL,
};
