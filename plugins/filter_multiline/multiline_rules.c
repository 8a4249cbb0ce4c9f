/* The multiline rule engine and its built-in rule sets. Compiles rule
 * definitions into a state machine and tells which state a line moves an event
 * to. Not for holding events or records: filter_multiline.c does that. */
#include "multiline_rules.h"

#include "xalloc.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdlib.h>
#include <string.h>

struct multiline_rule {
    int state;
    int next_state;
    pcre2_code *code;
};

struct multiline_rules {
    char **states; /* states[0] is start_state */
    size_t state_count;
    struct multiline_rule *rules;
    size_t rule_count;
    pcre2_match_data *match_data;
};

/* A Java exception header: "java.lang.IllegalStateException: boom", or with
 * the thread, "Exception in thread "main" java.lang.Error". */
#define JAVA_EXCEPTION                                                                             \
    "^(?:Exception in thread \"[^\"]*\" )?(?:[a-zA-Z_$][\\w$]*\\.)+[\\w$]*"                        \
    "(?:Exception|Error|Throwable)\\b"
/* Lines inside a Java trace: frames, causes, suppressed ones, elided frames. */
#define JAVA_FRAME "^\\s+at "
#define JAVA_CAUSE "^\\s*(?:Caused by|Suppressed): "
#define JAVA_MORE "^\\s*\\.\\.\\. \\d+ (?:more|common frames omitted)"

/* java: an exception header, or a dated log line at ERROR/SEVERE/FATAL
 * ("2024-05-01 ERROR Foo - failed") that may be followed by one; then "\tat
 * ..." frames, "Caused by: ..." and "Suppressed: ..." lines and "\t... 12
 * more". A dated error line with no trace after it is an event of one line. */
static const struct multiline_rule_def java_rules[] = {
    {"start_state", JAVA_EXCEPTION, "java_exception"},
    {"start_state", "^\\d{4}-\\d{2}-\\d{2}[T ].*\\b(?:ERROR|SEVERE|FATAL)\\b", "java_log"},
    {"java_log", JAVA_EXCEPTION, "java_exception"},
    {"java_log", JAVA_FRAME, "java_exception"},
    {"java_exception", JAVA_FRAME, "java_exception"},
    {"java_exception", JAVA_CAUSE, "java_exception"},
    {"java_exception", JAVA_MORE, "java_exception"},
};

/* python: "Traceback (most recent call last):", indented "  File ..." and
 * "    code" lines, and the unindented "ValueError: message" line, which ends
 * the event at once. */
static const struct multiline_rule_def python_rules[] = {
    {"start_state", "^Traceback \\(most recent call last\\):\\s*$", "python"},
    {"python", "^[\\t ]+\\S", "python"},
    {"python", "^[A-Za-z_][\\w.]*(?::.*)?$", "python_end"},
};

/* go: "panic: ...", "fatal error: ..." or a "goroutine N [running]:" header;
 * then blank lines, "goroutine N [...]:" headers, function lines such as
 * "main.main()" or "panic({0x4a1b20, 0xc0000140a0})", tab-indented
 * "\t/path/file.go:12 +0x1d" lines, "created by ..." and "[signal ..." lines. */
static const struct multiline_rule_def go_rules[] = {
    {"start_state", "^(?:panic|fatal error): ", "go"},
    {"start_state", "^goroutine \\d+ .*\\[.*\\]:$", "go"},
    {"go", "^$", "go"},
    {"go", "^goroutine \\d+ .*\\[.*\\]:$", "go"},
    {"go", "^\\[signal ", "go"},
    {"go", "^\\t", "go"},
    {"go", "^created by ", "go"},
    {"go", "^(?:[\\w.\\-]+/)*[\\w\\-]+\\.\\S*\\(.*\\)$", "go"},
    {"go", "^panic\\(.*\\)$", "go"},
};

const char *const multiline_builtin_names[] = {"java", "python", "go", NULL};

bool multiline_is_builtin(const char *name)
{
    for (size_t i = 0; multiline_builtin_names[i]; i++) {
        if (strcmp(multiline_builtin_names[i], name) == 0)
            return true;
    }
    return false;
}

struct multiline_rules *multiline_rules_builtin(const char *name)
{
    char *error = NULL;
    struct multiline_rules *rules = NULL;
    if (strcmp(name, "java") == 0)
        rules = multiline_rules_compile(java_rules, sizeof java_rules / sizeof *java_rules, &error);
    else if (strcmp(name, "python") == 0)
        rules = multiline_rules_compile(python_rules, sizeof python_rules / sizeof *python_rules,
                                        &error);
    else if (strcmp(name, "go") == 0)
        rules = multiline_rules_compile(go_rules, sizeof go_rules / sizeof *go_rules, &error);
    free(error); /* the built-in rules compile */
    return rules;
}

/* The index of state `name`, added if new. */
static int state_index(struct multiline_rules *rules, const char *name)
{
    for (size_t i = 0; i < rules->state_count; i++) {
        if (strcmp(rules->states[i], name) == 0)
            return (int)i;
    }
    rules->states = xrealloc(rules->states, (rules->state_count + 1) * sizeof *rules->states);
    rules->states[rules->state_count] = xstrdup(name);
    return (int)rules->state_count++;
}

static pcre2_code *compile_regex(const char *pattern, char **error)
{
    int code_error;
    PCRE2_SIZE offset;
    pcre2_code *code =
        pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED,
                      PCRE2_UTF | PCRE2_MATCH_INVALID_UTF, &code_error, &offset, NULL);
    if (!code) {
        PCRE2_UCHAR message[256];
        pcre2_get_error_message(code_error, message, sizeof message);
        *error = xasprintf("%s at offset %zu", (char *)message, (size_t)offset);
        return NULL;
    }
    pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);
    return code;
}

struct multiline_rules *multiline_rules_new(void)
{
    struct multiline_rules *rules = xcalloc(1, sizeof *rules);
    rules->match_data = pcre2_match_data_create(1, NULL);
    state_index(rules, MULTILINE_START_STATE);
    return rules;
}

int multiline_rules_add(struct multiline_rules *rules, const struct multiline_rule_def *def,
                        char **error)
{
    pcre2_code *code = compile_regex(def->regex, error);
    if (!code)
        return -1;
    rules->rules = xrealloc(rules->rules, (rules->rule_count + 1) * sizeof *rules->rules);
    struct multiline_rule *rule = &rules->rules[rules->rule_count++];
    rule->code = code;
    rule->state = state_index(rules, def->state);
    rule->next_state = state_index(rules, def->next_state);
    return 0;
}

static bool has_start_rule(const struct multiline_rules *rules)
{
    for (size_t i = 0; i < rules->rule_count; i++) {
        if (rules->rules[i].state == MULTILINE_START)
            return true;
    }
    return false;
}

struct multiline_rules *multiline_rules_compile(const struct multiline_rule_def *defs, size_t count,
                                                char **error)
{
    struct multiline_rules *rules = multiline_rules_new();
    for (size_t i = 0; i < count; i++) {
        char *message = NULL;
        if (multiline_rules_add(rules, &defs[i], &message) != 0) {
            *error = xasprintf("regex '%s': %s", defs[i].regex, message);
            free(message);
            multiline_rules_free(rules);
            return NULL;
        }
    }
    if (!has_start_rule(rules)) {
        *error = xasprintf("no rule for state '%s'", MULTILINE_START_STATE);
        multiline_rules_free(rules);
        return NULL;
    }
    return rules;
}

void multiline_rules_free(struct multiline_rules *rules)
{
    if (!rules)
        return;
    for (size_t i = 0; i < rules->state_count; i++)
        free(rules->states[i]);
    for (size_t i = 0; i < rules->rule_count; i++)
        pcre2_code_free(rules->rules[i].code);
    free(rules->states);
    free(rules->rules);
    pcre2_match_data_free(rules->match_data);
    free(rules);
}

int multiline_rules_match(struct multiline_rules *rules, int state, const char *text, size_t len)
{
    for (size_t i = 0; i < rules->rule_count; i++) {
        const struct multiline_rule *rule = &rules->rules[i];
        if (rule->state != state)
            continue;
        if (pcre2_match(rule->code, (PCRE2_SPTR)text, len, 0, 0, rules->match_data, NULL) >= 0)
            return rule->next_state;
    }
    return -1;
}

bool multiline_rules_final(const struct multiline_rules *rules, int state)
{
    for (size_t i = 0; i < rules->rule_count; i++) {
        if (rules->rules[i].state == state)
            return false;
    }
    return true;
}
