/* The throttle filter's windows and its table of windows per key (see
 * throttle_window.h). A window moves forward lazily, when a record of its
 * key arrives, so keys need no timer; the table is a hash map plus a list
 * in order of last use, both intrusive, one allocation per key. */
#include "throttle_window.h"

#include "xalloc.h"

#include <stdlib.h>
#include <string.h>

/* Keys checked for idleness per lookup: a constant cost per record, and
 * more than one so that the idle keys are forgotten faster than new keys
 * come. */
#define THROTTLE_FORGET_PER_GET 2

int64_t throttle_pane_at(const struct throttle_limits *limits, int64_t now_ms)
{
    if (now_ms <= limits->start_ms)
        return 0;
    return (now_ms - limits->start_ms) / limits->interval_ms;
}

void throttle_window_init(struct throttle_window *w, uint64_t *counts, int64_t pane)
{
    w->pane = pane;
    w->total = 0;
    w->counts = counts;
}

void throttle_window_advance(struct throttle_window *w, const struct throttle_limits *limits,
                             int64_t pane)
{
    if (pane <= w->pane)
        return;
    if (pane - w->pane >= (int64_t)limits->panes) {
        memset(w->counts, 0, limits->panes * sizeof *w->counts);
        w->total = 0;
    } else {
        for (int64_t p = w->pane + 1; p <= pane; p++) {
            uint64_t *slot = &w->counts[p % limits->panes];
            w->total -= *slot;
            *slot = 0;
        }
    }
    w->pane = pane;
}

bool throttle_window_take(struct throttle_window *w, const struct throttle_limits *limits,
                          int64_t pane)
{
    throttle_window_advance(w, limits, pane);
    if (w->total >= limits->rate * limits->panes)
        return false;
    w->counts[w->pane % limits->panes]++;
    w->total++;
    return true;
}

bool throttle_window_idle(const struct throttle_window *w, const struct throttle_limits *limits,
                          int64_t pane)
{
    return w->total == 0 || w->pane + (int64_t)limits->panes <= pane;
}

void throttle_keys_init(struct throttle_keys *keys, size_t max)
{
    memset(keys, 0, sizeof *keys);
    keys->max = max ? max : 1;
}

static void unlink_key(struct throttle_keys *keys, struct throttle_key *k)
{
    if (k->newer)
        k->newer->older = k->older;
    else
        keys->newest = k->older;
    if (k->older)
        k->older->newer = k->newer;
    else
        keys->oldest = k->newer;
    k->newer = k->older = NULL;
}

static void push_newest(struct throttle_keys *keys, struct throttle_key *k)
{
    k->older = keys->newest;
    k->newer = NULL;
    if (keys->newest)
        keys->newest->newer = k;
    else
        keys->oldest = k;
    keys->newest = k;
}

static void remove_key(struct throttle_keys *keys, struct throttle_key *k)
{
    unlink_key(keys, k);
    hmap_remove(&keys->map, &k->node);
    keys->count--;
    free(k);
}

void throttle_keys_free(struct throttle_keys *keys)
{
    while (keys->oldest)
        remove_key(keys, keys->oldest);
    hmap_free(&keys->map);
}

static struct throttle_key *find_key(const struct throttle_keys *keys, uint64_t hash,
                                     const char *key, size_t len)
{
    for (struct hmap_node *n = hmap_find(&keys->map, hash); n; n = hmap_find_next(n)) {
        struct throttle_key *k = hmap_entry(n, struct throttle_key, node);
        if (k->len == len && memcmp(k->text, key, len) == 0)
            return k;
    }
    return NULL;
}

static void forget_idle(struct throttle_keys *keys, const struct throttle_limits *limits,
                        int64_t pane)
{
    for (int i = 0; i < THROTTLE_FORGET_PER_GET && keys->oldest; i++) {
        if (!throttle_window_idle(&keys->oldest->window, limits, pane))
            return;
        remove_key(keys, keys->oldest);
    }
}

static struct throttle_key *new_key(const struct throttle_limits *limits, const char *key,
                                    size_t len, int64_t pane)
{
    size_t counts = limits->panes * sizeof(uint64_t);
    struct throttle_key *k = xcalloc(1, sizeof *k + counts + len + 1);
    throttle_window_init(&k->window, k->storage, pane);
    k->text = (char *)k->storage + counts;
    memcpy(k->text, key, len);
    k->len = len;
    return k;
}

struct throttle_key *throttle_keys_get(struct throttle_keys *keys,
                                       const struct throttle_limits *limits, const char *key,
                                       size_t len, int64_t pane)
{
    if (len > THROTTLE_KEY_MAX)
        len = THROTTLE_KEY_MAX;
    uint64_t hash = hash_bytes(key, len);
    forget_idle(keys, limits, pane);
    struct throttle_key *k = find_key(keys, hash, key, len);
    if (k) {
        unlink_key(keys, k);
        push_newest(keys, k);
        return k;
    }
    if (keys->count >= keys->max) {
        if (!throttle_window_idle(&keys->oldest->window, limits, pane))
            keys->evicted++;
        remove_key(keys, keys->oldest);
    }
    k = new_key(limits, key, len, pane);
    hmap_insert(&keys->map, &k->node, hash);
    push_newest(keys, k);
    keys->count++;
    return k;
}
