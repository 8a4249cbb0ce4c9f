/* The throttle filter's arithmetic: sliding windows of per-interval counters
 * and a bounded table of windows per key, least recently seen evicted first.
 * A record passes while its window holds fewer than rate × panes records,
 * which is Fluent Bit's "average over the window below `rate`". Times are
 * the caller's milliseconds (the pipeline loop's clock), so tests can choose
 * them; nothing here reads a clock, logs or counts a metric. */
#ifndef SKIFF_THROTTLE_WINDOW_H
#define SKIFF_THROTTLE_WINDOW_H

#include "hmap.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Longer key values are told apart by their first this many bytes, so that
 * what a key costs is bounded by the configuration, not by the records. */
#define THROTTLE_KEY_MAX 256

struct throttle_limits {
    uint64_t rate;       /* records per interval, on average over the window */
    uint32_t panes;      /* intervals in the window (Fluent Bit's `window`) */
    int64_t interval_ms; /* > 0 */
    int64_t start_ms;    /* pane 0 starts here */
};

/* Pane p covers [start + p × interval, start + (p + 1) × interval). */
struct throttle_window {
    int64_t pane;     /* the newest pane, the one counts[pane % panes] is for */
    uint64_t total;   /* records in the window: the sum of counts */
    uint64_t *counts; /* `panes` counters */
};

/* The pane `now_ms` falls in (0 before start). */
int64_t throttle_pane_at(const struct throttle_limits *limits, int64_t now_ms);
/* An empty window at `pane`, with counters in `counts` (limits->panes). */
void throttle_window_init(struct throttle_window *w, uint64_t *counts, int64_t pane);
/* Moves the window forward to `pane`, emptying the panes that left it. */
void throttle_window_advance(struct throttle_window *w, const struct throttle_limits *limits,
                             int64_t pane);
/* Moves to `pane`; if the window holds fewer than rate × panes records,
 * counts one more and returns true; else false (a dropped record is not
 * counted, as in Fluent Bit). */
bool throttle_window_take(struct throttle_window *w, const struct throttle_limits *limits,
                          int64_t pane);
/* Whether every pane the window counted has left it by `pane`. */
bool throttle_window_idle(const struct throttle_window *w, const struct throttle_limits *limits,
                          int64_t pane);

struct throttle_key {
    struct hmap_node node;
    struct throttle_key *newer, *older; /* the recency list */
    uint64_t mark; /* for the caller: e.g. the period it was last reported in */
    struct throttle_window window;
    size_t len;
    char *text; /* the key, `len` bytes and a NUL, in the same allocation */
    uint64_t storage[];
};

struct throttle_keys {
    struct hmap map;
    struct throttle_key *newest, *oldest;
    size_t count;
    size_t max;       /* >= 1 */
    uint64_t evicted; /* keys pushed out by a new one while their window held records */
};

void throttle_keys_init(struct throttle_keys *keys, size_t max);
void throttle_keys_free(struct throttle_keys *keys);
/* The entry of key[0..len) (cut at THROTTLE_KEY_MAX), made with an empty
 * window when new, and now the most recently seen. First forgets at most
 * two keys idle for a whole window (nothing is lost, nothing counted); then
 * a new key in a full table evicts the least recently seen one, counted in
 * `evicted` when its window still held records. */
struct throttle_key *throttle_keys_get(struct throttle_keys *keys,
                                       const struct throttle_limits *limits, const char *key,
                                       size_t len, int64_t pane);

#endif
