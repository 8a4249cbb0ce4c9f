/* For the unit tests of filter plugins: one instance of a registered filter
 * made from YAML options (through its table and its validate, as the loader
 * does), records made from JSON, and records rendered as JSON to compare. */
#ifndef SKIFF_TEST_FILTER_HARNESS_H
#define SKIFF_TEST_FILTER_HARNESS_H

#include "diag.h"
#include "plugin_api.h"

struct filter_harness {
    struct instance instance;
    struct diag_list diags;
    void *options;
    int validated; /* options_apply and validate: 0, or -1 with diags */
};

/* Loads `yaml` (the plugin's own options) for filter `name`, on a loop that
 * never runs: loop_now_ms() stands still for the filter. */
void filter_harness_open(struct filter_harness *h, const char *name, const char *yaml);
void filter_harness_close(struct filter_harness *h);
/* The first message, "" when none. */
const char *filter_harness_diag(const struct filter_harness *h);

/* A record whose fields are the JSON object `json`. */
void filter_harness_record(struct record *rec, const char *json);
/* The same, but its top-level strings (and their keys) are lent by `text`
 * (record_set_text), as a tail input's records have them. */
void filter_harness_record_lent(struct record *rec, struct record_text *text, const char *json);
/* Attaches the JSON value `json` under `key`. */
void filter_harness_attach(struct record *rec, const char *key, const char *json);
/* Runs the filter on `rec` and returns its fields then attachments as JSON
 * (malloc'ed). */
char *filter_harness_run(struct filter_harness *h, struct record *rec);

/* Runs filter `name` with `yaml` on the record `json` and checks that it
 * renders as `expected` (filter_harness_run's form). */
void filter_harness_expect(const char *name, const char *yaml, const char *json,
                           const char *expected);
/* Checks that `yaml` is refused for filter `name` with first message
 * `message`. */
void filter_harness_expect_error(const char *name, const char *yaml, const char *message);

#endif
