/* skiff's own metrics, served as Prometheus text on /metrics. A metric is one
 * series: a family name plus a fixed label set. Updates are relaxed atomics, so
 * any thread may count; registration takes a lock and may happen at any time
 * (label values such as an HTTP status appear at run time). */
#ifndef SKIFF_METRICS_H
#define SKIFF_METRICS_H

#include "buf.h"

#include <stdatomic.h>
#include <stdint.h>

enum metric_type { METRIC_COUNTER, METRIC_GAUGE };

struct metric {
    _Atomic int64_t value;
};

/* Returns the series for (name, labels), creating it on first use. `labels` is
 * the inside of the braces, already escaped, e.g. `plugin="file",instance="out"`,
 * or "" for none. A family keeps the type and help of its first registration. */
struct metric *metrics_counter(const char *name, const char *help, const char *labels);
struct metric *metrics_gauge(const char *name, const char *help, const char *labels);

static inline void metric_add(struct metric *m, int64_t n)
{
    atomic_fetch_add_explicit(&m->value, n, memory_order_relaxed);
}

static inline void metric_set(struct metric *m, int64_t v)
{
    atomic_store_explicit(&m->value, v, memory_order_relaxed);
}

static inline int64_t metric_get(struct metric *m)
{
    return atomic_load_explicit(&m->value, memory_order_relaxed);
}

/* Escapes a label value for the text format (backslash, quote, newline). */
void metrics_escape_label(struct buf *out, const char *value);

/* Appends the Prometheus text exposition (version 0.0.4) of every series,
 * grouped by family with # HELP and # TYPE lines, families in name order. */
void metrics_render(struct buf *out);

/* Frees every series (at exit, and between unit tests). Pointers handed out
 * before are invalid afterwards. */
void metrics_reset(void);

#endif
