/* The modify filter's program: each line is an action and its arguments,
 * split on blanks (double quotes keep blanks in one argument). Keys are field
 * paths read and changed through the record API; the wildcard and regex
 * actions look at top-level keys (fields and attachments) only. */
#include "modify_rules.h"

#include "buf.h"
#include "json.h"
#include "xalloc.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MODIFY_MAX_ARGS 3

enum modify_op {
    /* conditions */
    MOD_KEY_EXISTS,
    MOD_KEY_DOES_NOT_EXIST,
    MOD_A_KEY_MATCHES,
    MOD_NO_KEY_MATCHES,
    MOD_KEY_VALUE_EQUALS,
    MOD_KEY_VALUE_DOES_NOT_EQUAL,
    MOD_KEY_VALUE_MATCHES,
    MOD_KEY_VALUE_DOES_NOT_MATCH,
    MOD_MATCHING_KEYS_HAVE_MATCHING_VALUES,
    MOD_MATCHING_KEYS_DO_NOT_HAVE_MATCHING_VALUES,
    /* rules */
    MOD_SET,
    MOD_ADD,
    MOD_REMOVE,
    MOD_REMOVE_WILDCARD,
    MOD_REMOVE_REGEX,
    MOD_RENAME,
    MOD_HARD_RENAME,
    MOD_COPY,
    MOD_HARD_COPY,
    MOD_ENCODE_JSON,
};

/* What each argument is: a field path, a plain string, a regex, a prefix. */
enum modify_arg { ARG_NONE, ARG_PATH, ARG_STRING, ARG_REGEX, ARG_PREFIX };

struct modify_action {
    const char *name;
    enum modify_op op;
    bool condition;
    enum modify_arg a, b;
};

static const struct modify_action actions[] = {
    {"key_exists", MOD_KEY_EXISTS, true, ARG_PATH, ARG_NONE},
    {"key_does_not_exist", MOD_KEY_DOES_NOT_EXIST, true, ARG_PATH, ARG_NONE},
    {"a_key_matches", MOD_A_KEY_MATCHES, true, ARG_REGEX, ARG_NONE},
    {"no_key_matches", MOD_NO_KEY_MATCHES, true, ARG_REGEX, ARG_NONE},
    {"key_value_equals", MOD_KEY_VALUE_EQUALS, true, ARG_PATH, ARG_STRING},
    {"key_value_does_not_equal", MOD_KEY_VALUE_DOES_NOT_EQUAL, true, ARG_PATH, ARG_STRING},
    {"key_value_matches", MOD_KEY_VALUE_MATCHES, true, ARG_PATH, ARG_REGEX},
    {"key_value_does_not_match", MOD_KEY_VALUE_DOES_NOT_MATCH, true, ARG_PATH, ARG_REGEX},
    {"matching_keys_have_matching_values", MOD_MATCHING_KEYS_HAVE_MATCHING_VALUES, true, ARG_REGEX,
     ARG_REGEX},
    {"matching_keys_do_not_have_matching_values", MOD_MATCHING_KEYS_DO_NOT_HAVE_MATCHING_VALUES,
     true, ARG_REGEX, ARG_REGEX},
    {"set", MOD_SET, false, ARG_PATH, ARG_STRING},
    {"add", MOD_ADD, false, ARG_PATH, ARG_STRING},
    {"remove", MOD_REMOVE, false, ARG_PATH, ARG_NONE},
    {"remove_wildcard", MOD_REMOVE_WILDCARD, false, ARG_PREFIX, ARG_NONE},
    {"remove_regex", MOD_REMOVE_REGEX, false, ARG_REGEX, ARG_NONE},
    {"rename", MOD_RENAME, false, ARG_PATH, ARG_PATH},
    {"hard_rename", MOD_HARD_RENAME, false, ARG_PATH, ARG_PATH},
    {"copy", MOD_COPY, false, ARG_PATH, ARG_PATH},
    {"hard_copy", MOD_HARD_COPY, false, ARG_PATH, ARG_PATH},
    {"encode_json", MOD_ENCODE_JSON, false, ARG_PATH, ARG_NONE},
};

struct modify_operand {
    struct field_path path; /* ARG_PATH */
    char *text;             /* ARG_STRING, ARG_PREFIX */
    size_t len;
    pcre2_code *regex; /* ARG_REGEX */
};

struct modify_step {
    enum modify_op op;
    struct modify_operand a, b;
};

struct modify_tokens {
    char *items[MODIFY_MAX_ARGS + 1];
    size_t count;
    bool too_many;
};

/* Splits `line` on blanks; "..." is one token (without the quotes). */
static void tokenize(const char *line, struct modify_tokens *out)
{
    const char *p = line;
    memset(out, 0, sizeof *out);
    for (;;) {
        while (*p == ' ' || *p == '\t')
            p++;
        if (!*p)
            return;
        const char *start = p;
        size_t len;
        if (*p == '"') {
            start = ++p;
            while (*p && *p != '"')
                p++;
            len = (size_t)(p - start);
            if (*p)
                p++;
        } else {
            while (*p && *p != ' ' && *p != '\t')
                p++;
            len = (size_t)(p - start);
        }
        if (out->count == MODIFY_MAX_ARGS + 1) {
            out->too_many = true;
            return;
        }
        out->items[out->count++] = xstrndup(start, len);
    }
}

static void tokens_free(struct modify_tokens *t)
{
    for (size_t i = 0; i < t->count; i++)
        free(t->items[i]);
}

static const struct modify_action *find_action(const char *name, bool condition)
{
    for (size_t i = 0; i < sizeof actions / sizeof actions[0]; i++)
        if (actions[i].condition == condition && strcasecmp(actions[i].name, name) == 0)
            return &actions[i];
    return NULL;
}

static size_t arg_count(const struct modify_action *action)
{
    return (action->a != ARG_NONE) + (action->b != ARG_NONE);
}

static int compile_operand(enum modify_arg kind, const char *text, struct modify_operand *out,
                           const char *action, char **error)
{
    char *detail = NULL;
    switch (kind) {
    case ARG_PATH:
        if (field_path_parse(text, &out->path, &detail) == 0)
            return 0;
        *error = xasprintf("%s: key '%s': %s", action, text, detail);
        free(detail);
        return -1;
    case ARG_PREFIX:
    case ARG_STRING:
        out->len = strlen(text);
        if (kind == ARG_PREFIX && out->len > 0 && text[out->len - 1] == '*')
            out->len--;
        out->text = xstrndup(text, out->len);
        return 0;
    case ARG_REGEX: {
        int code;
        PCRE2_SIZE offset;
        out->regex =
            pcre2_compile((PCRE2_SPTR)text, PCRE2_ZERO_TERMINATED, 0, &code, &offset, NULL);
        if (out->regex)
            return 0;
        PCRE2_UCHAR message[256];
        pcre2_get_error_message(code, message, sizeof message);
        *error = xasprintf("%s: regex '%s' at offset %zu: %s", action, text, (size_t)offset,
                           (const char *)message);
        return -1;
    }
    case ARG_NONE:
        break;
    }
    return 0;
}

static void operand_free(struct modify_operand *o)
{
    if (o->path.segments || o->path.text)
        field_path_free(&o->path);
    free(o->text);
    pcre2_code_free(o->regex);
    memset(o, 0, sizeof *o);
}

static void step_free(struct modify_step *step)
{
    operand_free(&step->a);
    operand_free(&step->b);
}

static int compile_step(const struct modify_action *action, const struct modify_tokens *t,
                        struct modify_step *step, char **error)
{
    memset(step, 0, sizeof *step);
    step->op = action->op;
    if (compile_operand(action->a, t->items[1], &step->a, action->name, error) < 0)
        return -1;
    if (action->b != ARG_NONE &&
        compile_operand(action->b, t->items[2], &step->b, action->name, error) < 0) {
        step_free(step);
        return -1;
    }
    return 0;
}

static void append_step(struct modify_program *prog, bool condition, struct modify_step *step)
{
    struct modify_step **list = condition ? &prog->conditions : &prog->rules;
    size_t *count = condition ? &prog->condition_count : &prog->rule_count;
    *list = xrealloc(*list, (*count + 1) * sizeof **list);
    (*list)[(*count)++] = *step;
}

static int check_line(const struct modify_tokens *t, bool condition,
                      const struct modify_action **action, char **error)
{
    const char *kind = condition ? "condition" : "rule";
    if (t->count == 0) {
        *error = xasprintf("empty %s", kind);
        return -1;
    }
    *action = find_action(t->items[0], condition);
    if (!*action) {
        *error = xasprintf("unknown %s '%s'", kind, t->items[0]);
        return -1;
    }
    size_t want = arg_count(*action);
    if (t->too_many || t->count - 1 != want) {
        *error = xasprintf("%s: takes %zu argument%s", (*action)->name, want, want == 1 ? "" : "s");
        return -1;
    }
    return 0;
}

int modify_add_line(struct modify_program *prog, bool condition, const char *line, char **error)
{
    struct modify_tokens t;
    const struct modify_action *action = NULL;
    struct modify_step step;
    int rc = -1;

    tokenize(line, &t);
    if (check_line(&t, condition, &action, error) == 0 &&
        compile_step(action, &t, &step, error) == 0) {
        append_step(prog, condition, &step);
        if (!prog->match_data && (step.a.regex || step.b.regex))
            prog->match_data = pcre2_match_data_create(1, NULL);
        rc = 0;
    }
    tokens_free(&t);
    return rc;
}

void modify_program_free(struct modify_program *prog)
{
    for (size_t i = 0; i < prog->condition_count; i++)
        step_free(&prog->conditions[i]);
    for (size_t i = 0; i < prog->rule_count; i++)
        step_free(&prog->rules[i]);
    free(prog->conditions);
    free(prog->rules);
    pcre2_match_data_free(prog->match_data);
    memset(prog, 0, sizeof *prog);
}

/* Evaluation. */

static bool regex_matches(const struct modify_program *prog, pcre2_code *regex, const char *text,
                          size_t len)
{
    return pcre2_match(regex, (PCRE2_SPTR)text, len, 0, 0, prog->match_data, NULL) >= 0;
}

/* As Fluent Bit: a string matches as itself, a boolean as `true`/`false`,
 * anything else never matches. */
static bool value_matches(const struct modify_program *prog, pcre2_code *regex,
                          const struct value *v)
{
    if (!v)
        return false;
    if (v->type == VALUE_STRING)
        return regex_matches(prog, regex, v->as.string.ptr, v->as.string.len);
    if (v->type == VALUE_BOOL)
        return v->as.boolean ? regex_matches(prog, regex, "true", 4)
                             : regex_matches(prog, regex, "false", 5);
    return false;
}

static bool value_equals(const struct value *v, const struct modify_operand *want)
{
    return v && v->type == VALUE_STRING && v->as.string.len == want->len &&
           memcmp(v->as.string.ptr, want->text, want->len) == 0;
}

/* The record's top-level keys: its fields, then its attachments. */
static void root_key_at(const struct record *rec, size_t i, struct value_string *out)
{
    if (i < rec->fields.count)
        *out = rec->fields.entries[i].key;
    else
        *out = rec->attachments[i - rec->fields.count]->key;
}

static size_t root_key_count(const struct record *rec)
{
    return rec->fields.count + rec->attachment_count;
}

/* A one-segment path naming a top-level key, without parsing it. */
static struct field_path root_path(struct value_string *segment)
{
    return (struct field_path){.text = segment->ptr, .segments = segment, .count = 1};
}

static const struct value *root_value(const struct record *rec, struct value_string key)
{
    struct field_path path = root_path(&key);
    return record_get(rec, &path);
}

static bool any_key_matches(const struct modify_program *prog, const struct record *rec,
                            pcre2_code *regex)
{
    struct value_string key;
    for (size_t i = 0; i < root_key_count(rec); i++) {
        root_key_at(rec, i, &key);
        if (regex_matches(prog, regex, key.ptr, key.len))
            return true;
    }
    return false;
}

static bool matching_keys_match(const struct modify_program *prog, const struct record *rec,
                                const struct modify_step *step)
{
    struct value_string key;
    for (size_t i = 0; i < root_key_count(rec); i++) {
        root_key_at(rec, i, &key);
        if (regex_matches(prog, step->a.regex, key.ptr, key.len) &&
            !value_matches(prog, step->b.regex, root_value(rec, key)))
            return false;
    }
    return true;
}

static bool condition_holds(const struct modify_program *prog, const struct record *rec,
                            const struct modify_step *step)
{
    const struct value *v = NULL;
    if (step->a.path.count > 0)
        v = record_get(rec, &step->a.path);
    switch (step->op) {
    case MOD_KEY_EXISTS:
        return v != NULL;
    case MOD_KEY_DOES_NOT_EXIST:
        return v == NULL;
    case MOD_A_KEY_MATCHES:
        return any_key_matches(prog, rec, step->a.regex);
    case MOD_NO_KEY_MATCHES:
        return !any_key_matches(prog, rec, step->a.regex);
    case MOD_KEY_VALUE_EQUALS:
        return value_equals(v, &step->b);
    case MOD_KEY_VALUE_DOES_NOT_EQUAL:
        return v && !value_equals(v, &step->b);
    case MOD_KEY_VALUE_MATCHES:
        return value_matches(prog, step->b.regex, v);
    case MOD_KEY_VALUE_DOES_NOT_MATCH:
        return v && !value_matches(prog, step->b.regex, v);
    case MOD_MATCHING_KEYS_HAVE_MATCHING_VALUES:
        return matching_keys_match(prog, rec, step);
    case MOD_MATCHING_KEYS_DO_NOT_HAVE_MATCHING_VALUES:
        return !matching_keys_match(prog, rec, step);
    default:
        return false;
    }
}

bool modify_conditions_hold(const struct modify_program *prog, const struct record *rec)
{
    for (size_t i = 0; i < prog->condition_count; i++)
        if (!condition_holds(prog, rec, &prog->conditions[i]))
            return false;
    return true;
}

static bool key_selected(const struct modify_program *prog, const struct modify_step *step,
                         const struct value_string *key)
{
    if (step->op == MOD_REMOVE_REGEX)
        return regex_matches(prog, step->a.regex, key->ptr, key->len);
    return key->len >= step->a.len && memcmp(key->ptr, step->a.text, step->a.len) == 0;
}

/* remove_wildcard and remove_regex: names are copied first, since each
 * removal changes the record's keys. */
static bool remove_matching(const struct modify_program *prog, struct record *rec,
                            const struct modify_step *step)
{
    size_t total = root_key_count(rec), count = 0;
    struct value_string *names = xcalloc(total ? total : 1, sizeof *names);
    struct value_string key;
    for (size_t i = 0; i < total; i++) {
        root_key_at(rec, i, &key);
        if (key_selected(prog, step, &key))
            names[count++] = (struct value_string){xstrndup(key.ptr, key.len), key.len};
    }
    for (size_t i = 0; i < count; i++) {
        struct field_path path = root_path(&names[i]);
        record_delete(rec, &path);
        free(names[i].ptr);
    }
    free(names);
    return count > 0;
}

static void set_string(struct record *rec, const struct modify_step *step)
{
    struct value v = value_string(step->b.text, step->b.len);
    record_set(rec, &step->a.path, &v);
}

static bool copy_value(struct record *rec, const struct modify_step *step, bool hard)
{
    const struct value *from = record_get(rec, &step->a.path);
    if (!from || (!hard && record_get(rec, &step->b.path)))
        return false;
    struct value v = value_clone(from);
    record_set(rec, &step->b.path, &v);
    return true;
}

static bool rename_key(struct record *rec, const struct modify_step *step, bool hard)
{
    if (!record_get(rec, &step->a.path) || (!hard && record_get(rec, &step->b.path)))
        return false;
    return record_rename(rec, &step->a.path, &step->b.path);
}

/* Where to cut `len` bytes of UTF-8 to at most `max`, without splitting a
 * character. */
static size_t utf8_cut(const char *text, size_t len, size_t max)
{
    if (len <= max)
        return len;
    size_t at = max;
    while (at > 0 && ((unsigned char)text[at] & 0xC0) == 0x80)
        at--;
    return at;
}

/* encode_json: a map or array becomes one string of its JSON, so that its
 * keys do not become mapped fields; past encode_max_bytes it is cut at a
 * character boundary and marked (no longer valid JSON, and counted). */
static bool encode_json(const struct modify_program *prog, struct record *rec,
                        const struct modify_step *step)
{
    const struct value *v = record_get(rec, &step->a.path);
    if (!v || (v->type != VALUE_MAP && v->type != VALUE_ARRAY))
        return false;
    struct buf json = BUF_INIT;
    json_write_value(&json, v, NULL);
    size_t max = prog->encode_max_bytes ? prog->encode_max_bytes : MODIFY_ENCODE_MAX_DEFAULT;
    size_t keep = utf8_cut(json.data, json.len, max);
    if (keep < json.len) {
        char marker[64];
        int n = snprintf(marker, sizeof marker, "...[cut %zu bytes]", json.len - keep);
        json.len = keep;
        buf_append(&json, marker, (size_t)n);
        if (prog->encode_cut)
            metric_add(prog->encode_cut, 1);
    }
    struct value encoded = value_string(json.data, json.len);
    buf_free(&json);
    record_set(rec, &step->a.path, &encoded);
    return true;
}

static bool apply_rule(const struct modify_program *prog, struct record *rec,
                       const struct modify_step *step)
{
    switch (step->op) {
    case MOD_SET:
        set_string(rec, step);
        return true;
    case MOD_ADD:
        if (record_get(rec, &step->a.path))
            return false;
        set_string(rec, step);
        return true;
    case MOD_REMOVE:
        return record_delete(rec, &step->a.path);
    case MOD_REMOVE_WILDCARD:
    case MOD_REMOVE_REGEX:
        return remove_matching(prog, rec, step);
    case MOD_RENAME:
    case MOD_HARD_RENAME:
        return rename_key(rec, step, step->op == MOD_HARD_RENAME);
    case MOD_COPY:
    case MOD_HARD_COPY:
        return copy_value(rec, step, step->op == MOD_HARD_COPY);
    case MOD_ENCODE_JSON:
        return encode_json(prog, rec, step);
    default:
        return false;
    }
}

bool modify_apply(const struct modify_program *prog, struct record *rec)
{
    bool changed = false;
    if (!modify_conditions_hold(prog, rec))
        return false;
    for (size_t i = 0; i < prog->rule_count; i++)
        changed |= apply_rule(prog, rec, &prog->rules[i]);
    return changed;
}
