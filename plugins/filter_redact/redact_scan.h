/* The redact filter's built-in detectors, run together in one pass over a
 * text: 64 bytes at a time, the places where one may start are found
 * (redact_anchor.h: four digits, "ey", four capitals, "--", "be", the byte
 * before '=' or ':', the first byte of a replacement), and only there do the
 * detectors look further; most of a log line is passed over. What they find
 * is a list of spans, in order and not overlapping; replacing them is
 * redact_engine.c's job.
 *
 * Replacements already in the text (the filter's own masks or hashes, from
 * an earlier pass) are kept whole and not looked into, and each detector
 * decides on the bytes next to its text alone, so redacting twice gives the
 * same text as redacting once (tests/fuzz/fuzz_redact.c checks it). */
#ifndef SKIFF_REDACT_SCAN_H
#define SKIFF_REDACT_SCAN_H

#include "redact_anchor.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum redact_detector {
    REDACT_CARD,
    REDACT_BEARER,
    REDACT_JWT,
    REDACT_PASSWORD,
    REDACT_AWS,
    REDACT_PRIVATE_KEY,
    REDACT_IBAN,
    REDACT_DETECTOR_COUNT
};

/* "card", "bearer", ...; NULL past the last. */
const char *redact_detector_name(unsigned detector);
/* The detector named `name`, or -1. */
int redact_detector_find(const char *name);

/* Where a replacement goes: bytes [start, end) of the text. `label` is a
 * detector (enum redact_detector) or, from REDACT_DETECTOR_COUNT on, a user
 * rule. A span with `marker` set is a replacement already in the text: it
 * stays as it is. */
struct redact_span {
    size_t start;
    size_t end;
    uint32_t label;
    bool marker;
};

struct redact_spans {
    struct redact_span *items;
    size_t count;
    size_t cap;
};

void redact_spans_add(struct redact_spans *spans, size_t start, size_t end, uint32_t label,
                      bool marker);
void redact_spans_free(struct redact_spans *spans);

/* Recognizes the replacements the filter writes (redact_marker.c). */
struct redact_markers;
/* The length of a replacement starting at text[pos], or 0 when none does. */
size_t redact_marker_at(const struct redact_markers *markers, const char *text, size_t len,
                        size_t pos);

struct redact_scanner {
    uint32_t enabled; /* bit (1u << detector) for each detector switched on */
    const struct redact_markers *markers;
    struct redact_anchor_set anchors;
};

/* Prepares the scan for the detectors in `enabled`. `markers` must outlive
 * the scanner. */
void redact_scanner_init(struct redact_scanner *scanner, uint32_t enabled,
                         const struct redact_markers *markers);
/* Appends to `spans`, in order, what the built-in detectors find in `text`,
 * and the replacements already there (marked). */
void redact_scan(const struct redact_scanner *scanner, const char *text, size_t len,
                 struct redact_spans *spans);

/* Used by the scanner's parts (redact_scan.c, redact_scan_keys.c). */
struct redact_scan_ctx {
    const struct redact_scanner *scanner;
    const char *s;
    size_t len;
    struct redact_spans *spans;
};

/* The detector whose secret a key names (`db_password`, `X-Api-Key`,
 * `aws_secret_access_key`), or -1; with `whole_value` (the key of a field,
 * not text), also `authorization` for the bearer detector. Only detectors in
 * `enabled` count. */
int redact_key_detector(uint32_t enabled, const char *key, size_t len, bool whole_value);

/* The scan of text[from..to) alone, as if the text ended at `to`: the user
 * part of a URL, before its password. */
void redact_scan_range(const struct redact_scan_ctx *ctx, size_t from, size_t to);

/* The key=value and key: value forms (password, labelled AWS secret keys)
 * and passwords in URLs, at the '=' or ':' at `i`; returns where to go on. */
size_t redact_scan_separator(struct redact_scan_ctx *ctx, size_t i);
/* A bearer token after "bearer" at `i` (and Basic credentials after an
 * Authorization label): true with *end past it (or past a replacement
 * already there). */
bool redact_scan_bearer(struct redact_scan_ctx *ctx, size_t i, size_t *end);
/* Whether a replacement starts at `pos`: then it is added as a marker span
 * and *end set past it. */
bool redact_scan_marker(struct redact_scan_ctx *ctx, size_t pos, size_t *end);

static inline bool redact_is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

static inline bool redact_is_upper(unsigned char c)
{
    return c >= 'A' && c <= 'Z';
}

static inline bool redact_is_alnum(unsigned char c)
{
    return redact_is_digit(c) || redact_is_upper(c) || (c >= 'a' && c <= 'z');
}

#endif
