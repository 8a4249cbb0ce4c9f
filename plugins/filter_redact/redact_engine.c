/* The redact filter on one text: see redact_engine.h. The detectors' spans
 * come first; a rule's match that overlaps one of them, or a replacement
 * already in the text, is left out, so each byte is replaced at most once. */
#include "redact_engine.h"

#include "redact_hmac.h"
#include "redact_marker.h"
#include "xalloc.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdlib.h>
#include <string.h>

/* A user rule's JIT stack may grow to this size; deeper matches fail (and
 * fail closed). */
#define RULE_JIT_STACK_MAX (1024 * 1024)

struct redact_rule {
    char *name;
    pcre2_code *code;
    uint32_t value_group; /* the group named `value`, or 0: the whole match */
};

struct redact_engine {
    struct redact_scanner scanner;
    struct redact_markers *markers;
    struct redact_rule *rules;
    size_t rule_count;
    pcre2_match_data *match_data;
    pcre2_match_context *match_context;
    pcre2_jit_stack *jit_stack;
    struct redact_hmac *hmac; /* NULL: masks */
    redact_rule_error_fn *on_rule_error;
    void *on_rule_error_arg;
    struct redact_spans spans, found, merged; /* of the last find; scratch */
    struct buf normalized;
};

static bool is_name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-' || c == '.';
}

static pcre2_code *rule_compile(const char *pattern, char **error)
{
    int code;
    PCRE2_SIZE offset;
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED,
                                   PCRE2_UTF | PCRE2_MATCH_INVALID_UTF, &code, &offset, NULL);
    if (!re) {
        PCRE2_UCHAR message[256];
        pcre2_get_error_message(code, message, sizeof message);
        *error = xasprintf("invalid regular expression at offset %zu: %s", (size_t)offset,
                           (const char *)message);
        return NULL;
    }
    uint32_t min_length = 0;
    pcre2_pattern_info(re, PCRE2_INFO_MINLENGTH, &min_length);
    if (min_length == 0) {
        *error = xstrdup("the regular expression can match empty text");
        pcre2_code_free(re);
        return NULL;
    }
    return re;
}

static int rule_name_check(const char *name, char **error)
{
    size_t len = strlen(name);
    size_t valid = 0;
    while (valid < len && is_name_char(name[valid]))
        valid++;
    if (len == 0 || len > REDACT_NAME_MAX || valid != len) {
        *error = xasprintf("rule '%s': a name is 1 to %d letters, digits, '_', '-' or '.'", name,
                           REDACT_NAME_MAX);
        return -1;
    }
    if (redact_detector_find(name) >= 0) {
        *error = xasprintf("rule '%s': that is a built-in detector's name; choose another", name);
        return -1;
    }
    return 0;
}

/* The rule compiled, or NULL with a message naming it. */
static pcre2_code *rule_prepare(const char *name, const char *pattern, char **error)
{
    if (rule_name_check(name, error) < 0)
        return NULL;
    char *detail = NULL;
    pcre2_code *re = rule_compile(pattern, &detail);
    if (!re) {
        *error = xasprintf("rule '%s': %s", name, detail);
        free(detail);
    }
    return re;
}

int redact_rule_check(const char *name, const char *pattern, char **error)
{
    pcre2_code *re = rule_prepare(name, pattern, error);
    pcre2_code_free(re);
    return re ? 0 : -1;
}

static int add_rules(struct redact_engine *e, const struct redact_engine_config *config,
                     char **error)
{
    uint32_t max_groups = 0;
    e->rules = xcalloc(config->rule_count, sizeof *e->rules);
    for (size_t i = 0; i < config->rule_count; i++) {
        struct redact_rule *rule = &e->rules[i];
        rule->code = rule_prepare(config->rules[i].name, config->rules[i].pattern, error);
        if (!rule->code)
            return -1;
        rule->name = xstrdup(config->rules[i].name);
        e->rule_count++;
        /* Without JIT (some platforms, W^X policies) the interpreter still
         * matches correctly, only slower. */
        pcre2_jit_compile(rule->code, PCRE2_JIT_COMPLETE);
        int group = pcre2_substring_number_from_name(rule->code, (PCRE2_SPTR) "value");
        rule->value_group = group > 0 ? (uint32_t)group : 0;
        uint32_t groups = 0;
        pcre2_pattern_info(rule->code, PCRE2_INFO_CAPTURECOUNT, &groups);
        if (groups > max_groups)
            max_groups = groups;
    }
    e->match_data = pcre2_match_data_create(max_groups + 1, NULL);
    e->match_context = pcre2_match_context_create(NULL);
    e->jit_stack = pcre2_jit_stack_create(32 * 1024, RULE_JIT_STACK_MAX, NULL);
    pcre2_jit_stack_assign(e->match_context, NULL, e->jit_stack);
    return 0;
}

static const char **label_names(const struct redact_engine_config *config)
{
    const char **names = xcalloc(REDACT_DETECTOR_COUNT + config->rule_count, sizeof *names);
    for (unsigned i = 0; i < REDACT_DETECTOR_COUNT; i++)
        names[i] = redact_detector_name(i);
    for (size_t i = 0; i < config->rule_count; i++)
        names[REDACT_DETECTOR_COUNT + i] = config->rules[i].name;
    return names;
}

int redact_mask_check(const char *mask, char **error)
{
    if (mask[0] == '\0') {
        *error = xstrdup("the mask is empty");
        return -1;
    }
    if (strncmp(mask, REDACT_PLACEHOLDER, strlen(REDACT_PLACEHOLDER)) == 0) {
        *error = xstrdup("the mask must not start with " REDACT_PLACEHOLDER
                         ": skiff knows its masks by their first character (`[` by default)");
        return -1;
    }
    return 0;
}

struct redact_engine *redact_engine_new(const struct redact_engine_config *config, char **error)
{
    if (!config->hash_key && redact_mask_check(config->mask, error) < 0)
        return NULL;
    struct redact_engine *e = xcalloc(1, sizeof *e);
    if (add_rules(e, config, error) < 0) {
        redact_engine_free(e);
        return NULL;
    }
    const char **names = label_names(config);
    size_t count = REDACT_DETECTOR_COUNT + config->rule_count;
    if (config->hash_key) {
        e->markers = redact_markers_new_hash(names, count, config->hash_length);
        e->hmac = redact_hmac_new(config->hash_key, config->hash_key_len, error);
    } else {
        e->markers = redact_markers_new_mask(config->mask, names, count);
    }
    free(names);
    if (config->hash_key && !e->hmac) {
        redact_engine_free(e);
        return NULL;
    }
    redact_scanner_init(&e->scanner, config->detectors, e->markers);
    return e;
}

void redact_engine_free(struct redact_engine *e)
{
    if (!e)
        return;
    for (size_t i = 0; i < e->rule_count; i++) {
        free(e->rules[i].name);
        pcre2_code_free(e->rules[i].code);
    }
    free(e->rules);
    pcre2_match_data_free(e->match_data);
    pcre2_match_context_free(e->match_context);
    pcre2_jit_stack_free(e->jit_stack);
    redact_hmac_free(e->hmac);
    redact_markers_free(e->markers);
    redact_spans_free(&e->spans);
    redact_spans_free(&e->found);
    redact_spans_free(&e->merged);
    buf_free(&e->normalized);
    free(e);
}

void redact_engine_on_rule_error(struct redact_engine *e, redact_rule_error_fn *fn, void *arg)
{
    e->on_rule_error = fn;
    e->on_rule_error_arg = arg;
}

uint32_t redact_engine_label_count(const struct redact_engine *e)
{
    return REDACT_DETECTOR_COUNT + (uint32_t)e->rule_count;
}

const char *redact_engine_label(const struct redact_engine *e, uint32_t label)
{
    return label < REDACT_DETECTOR_COUNT ? redact_detector_name(label)
                                         : e->rules[label - REDACT_DETECTOR_COUNT].name;
}

bool redact_engine_label_active(const struct redact_engine *e, uint32_t label)
{
    return label >= REDACT_DETECTOR_COUNT || (e->scanner.enabled & (1u << label));
}

size_t redact_engine_max_replacement(const struct redact_engine *e)
{
    return redact_markers_max_len(e->markers);
}

/* Past the UTF-8 character that starts at `p`. */
static size_t next_char(const char *s, size_t len, size_t p)
{
    p++;
    while (p < len && ((unsigned char)s[p] & 0xc0) == 0x80)
        p++;
    return p;
}

/* The bytes a match replaces: its `value` group when the rule has one and it
 * took part, else the whole match. */
static void match_span(const struct redact_rule *rule, const PCRE2_SIZE *ov, int rc, size_t *start,
                       size_t *end)
{
    uint32_t g = rule->value_group;
    if (g > 0 && (uint32_t)rc > g && ov[2 * g] != PCRE2_UNSET) {
        *start = ov[2 * g];
        *end = ov[2 * g + 1];
    } else {
        *start = ov[0];
        *end = ov[1];
    }
}

/* Appends to e->found the matches of `rule` that overlap nothing in
 * e->spans (sorted) nor each other. Returns 0, or a PCRE2 error. */
static int rule_find(struct redact_engine *e, const struct redact_rule *rule, const char *s,
                     size_t len)
{
    size_t offset = 0, k = 0, last_end = 0;
    e->found.count = 0;
    while (offset <= len) {
        int rc =
            pcre2_match(rule->code, (PCRE2_SPTR)s, len, offset, 0, e->match_data, e->match_context);
        if (rc == PCRE2_ERROR_NOMATCH)
            return 0;
        if (rc < 0)
            return rc;
        const PCRE2_SIZE *ov = pcre2_get_ovector_pointer(e->match_data);
        size_t start, end;
        match_span(rule, ov, rc, &start, &end);
        while (k < e->spans.count && e->spans.items[k].end <= start)
            k++;
        bool overlaps = k < e->spans.count && e->spans.items[k].start < end;
        if (end > start && start >= last_end && !overlaps) {
            redact_spans_add(&e->found, start, end,
                             REDACT_DETECTOR_COUNT + (uint32_t)(rule - e->rules), false);
            last_end = end;
        }
        /* \K can put the start after the end; an empty match moves on by a
         * character */
        offset = ov[1] > ov[0] ? ov[1] : next_char(s, len, ov[0] > offset ? ov[0] : offset);
    }
    return 0;
}

/* e->spans and e->found (both sorted) into e->spans; what in e->found
 * overlaps a span of e->spans is left out. */
static void merge_found(struct redact_engine *e)
{
    size_t a = 0, b = 0;
    e->merged.count = 0;
    while (a < e->spans.count || b < e->found.count) {
        if (b == e->found.count ||
            (a < e->spans.count && e->spans.items[a].start <= e->found.items[b].start)) {
            const struct redact_span *sp = &e->spans.items[a++];
            redact_spans_add(&e->merged, sp->start, sp->end, sp->label, sp->marker);
            continue;
        }
        const struct redact_span *sp = &e->found.items[b++];
        bool overlaps = (a < e->spans.count && e->spans.items[a].start < sp->end) ||
                        (e->merged.count && e->merged.items[e->merged.count - 1].end > sp->start);
        if (!overlaps)
            redact_spans_add(&e->merged, sp->start, sp->end, sp->label, sp->marker);
    }
    struct redact_spans swap = e->spans;
    e->spans = e->merged;
    e->merged = swap;
}

static size_t replacements(const struct redact_engine *e)
{
    size_t n = 0;
    for (size_t i = 0; i < e->spans.count; i++)
        n += !e->spans.items[i].marker;
    return n;
}

size_t redact_engine_find(struct redact_engine *e, const char *text, size_t len,
                          bool detectors_only)
{
    e->spans.count = 0;
    redact_scan(&e->scanner, text, len, &e->spans);
    if (!detectors_only && e->rule_count > 0 && e->scanner.enabled == 0) {
        /* Rules must not match inside a replacement already there; with
         * detectors on, the scan found those. */
        e->found.count = 0;
        redact_markers_find(e->markers, text, len, &e->found);
        if (e->found.count > 0)
            merge_found(e);
    }
    for (size_t r = 0; !detectors_only && r < e->rule_count; r++) {
        int rc = rule_find(e, &e->rules[r], text, len);
        if (rc < 0) {
            /* The text could not be checked to its end: it is replaced whole
             * rather than let a secret through. */
            e->spans.count = 0;
            redact_spans_add(&e->spans, 0, len, REDACT_DETECTOR_COUNT + (uint32_t)r, false);
            if (e->on_rule_error)
                e->on_rule_error(e->on_rule_error_arg, (uint32_t)r, rc);
            return 1;
        }
        if (e->found.count > 0)
            merge_found(e);
    }
    return replacements(e);
}

int redact_engine_key_label(const struct redact_engine *e, const char *key, size_t len)
{
    return redact_key_detector(e->scanner.enabled, key, len, true);
}

size_t redact_engine_find_whole(struct redact_engine *e, const char *text, size_t len,
                                uint32_t label)
{
    e->spans.count = 0;
    if (len == 0)
        return 0;
    bool marker = redact_marker_at(e->markers, text, len, 0) == len;
    redact_spans_add(&e->spans, 0, len, label, marker);
    return marker ? 0 : 1;
}

/* What is hashed: card numbers and IBANs without their spaces and dashes,
 * so that one number written two ways gives one hash. */
static void normalize(struct redact_engine *e, uint32_t label, const char *s, size_t len)
{
    buf_reset(&e->normalized);
    bool compact = label == REDACT_CARD || label == REDACT_IBAN;
    for (size_t i = 0; i < len; i++)
        if (!compact || (s[i] != ' ' && s[i] != '-'))
            buf_append_byte(&e->normalized, s[i]);
}

static void write_replacement(struct redact_engine *e, uint32_t label, const char *s, size_t len,
                              struct buf *out)
{
    if (!e->hmac) {
        redact_marker_write_mask(e->markers, label, out);
        return;
    }
    unsigned char digest[REDACT_DIGEST_SIZE];
    normalize(e, label, s, len);
    /* libcrypto does not fail once keyed; if it did, the value is still
     * hidden, under a hash that correlates nothing. */
    if (redact_hmac_sha256(e->hmac, e->normalized.data, e->normalized.len, digest) < 0)
        memset(digest, 0, sizeof digest);
    redact_marker_write_hash(e->markers, label, digest, out);
}

void redact_engine_write(struct redact_engine *e, const char *text, size_t len, struct buf *out,
                         uint32_t *counts)
{
    size_t pos = 0;
    for (size_t i = 0; i < e->spans.count; i++) {
        const struct redact_span *sp = &e->spans.items[i];
        buf_append(out, text + pos, sp->start - pos);
        if (sp->marker) {
            buf_append(out, text + sp->start, sp->end - sp->start);
        } else {
            write_replacement(e, sp->label, text + sp->start, sp->end - sp->start, out);
            if (counts)
                counts[sp->label]++;
        }
        pos = sp->end;
    }
    buf_append(out, text + pos, len - pos);
}
