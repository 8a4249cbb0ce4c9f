/* The redact filter on one text: the built-in detectors (redact_scan.h) and
 * the user's rules (PCRE2, JIT) find spans, and each span is replaced by a
 * mask or a keyed hash (redact_marker.h). Labels name what found a span: the
 * detectors first (enum redact_detector), then the rules in order.
 *
 * Not thread-safe: one engine per filter instance, on the pipeline thread. */
#ifndef SKIFF_REDACT_ENGINE_H
#define SKIFF_REDACT_ENGINE_H

#include "buf.h"
#include "redact_scan.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct redact_rule_spec {
    const char *name;
    const char *pattern;
};

struct redact_engine_config {
    uint32_t detectors; /* (1u << detector) for each one on */
    const struct redact_rule_spec *rules;
    size_t rule_count;
    const char *mask; /* the template, when no key is given */
    /* Keyed hashes instead of masks when `hash_key` is set. */
    const unsigned char *hash_key;
    size_t hash_key_len;
    unsigned hash_length; /* hex digits */
};

/* Called when a rule could not finish matching a text (PCRE2's match or
 * JIT stack limit): the whole text was replaced instead (fail closed). */
typedef void redact_rule_error_fn(void *arg, uint32_t rule, int pcre2_error);

struct redact_engine;

/* Checks a rule: a valid name (letters, digits, '_', '-', '.', not a
 * detector's) and a pattern that compiles and cannot match empty text. 0, or
 * -1 with a message in *error. */
int redact_rule_check(const char *name, const char *pattern, char **error);

/* Checks a mask template: not empty, not starting with "{detector}". 0, or
 * -1 with a message in *error. */
int redact_mask_check(const char *mask, char **error);

/* NULL with *error when the mask or a rule is not valid or libcrypto
 * fails. */
struct redact_engine *redact_engine_new(const struct redact_engine_config *config, char **error);
void redact_engine_free(struct redact_engine *engine);
void redact_engine_on_rule_error(struct redact_engine *engine, redact_rule_error_fn *fn, void *arg);

/* Detectors and rules: the labels, and their names. */
uint32_t redact_engine_label_count(const struct redact_engine *engine);
const char *redact_engine_label(const struct redact_engine *engine, uint32_t label);
/* Whether the label can find anything (its detector is on, or a rule). */
bool redact_engine_label_active(const struct redact_engine *engine, uint32_t label);
/* The longest replacement text. */
size_t redact_engine_max_replacement(const struct redact_engine *engine);

/* Finds what to replace in `text`: the built-in detectors, and the rules
 * unless `detectors_only`. Returns how many spans would be replaced; the
 * spans are kept for redact_engine_write on the same text. */
size_t redact_engine_find(struct redact_engine *engine, const char *text, size_t len,
                          bool detectors_only);
/* The detector a field named `key` holds the secret of (a password, an AWS
 * secret key, an Authorization header), or -1. */
int redact_engine_key_label(const struct redact_engine *engine, const char *key, size_t len);
/* Finds `text` whole as one span of `label` (the value of such a field),
 * unless it is empty or a replacement already. Returns 0 or 1. */
size_t redact_engine_find_whole(struct redact_engine *engine, const char *text, size_t len,
                                uint32_t label);
/* Appends `text` with the spans of the last redact_engine_find replaced,
 * adding one to counts[label] per replacement. */
void redact_engine_write(struct redact_engine *engine, const char *text, size_t len,
                         struct buf *out, uint32_t *counts);

#endif
