/* skiff's own metrics, served as Prometheus text on /metrics. A metric is one
 * series: a family name plus a fixed label set. Updates are relaxed atomics, so
 * any thread may count; registration takes a lock and may happen at any time
 * (label values such as an HTTP status appear at run time). */
#ifndef SKIFF_METRICS_H
#define SKIFF_METRICS_H

#include "buf.h"

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

enum metric_type { METRIC_COUNTER, METRIC_GAUGE, METRIC_HISTOGRAM };

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

/* A histogram series: counts of observations per bucket (upper bounds
 * `bounds`, increasing, plus +Inf), their sum and count, rendered as the
 * Prometheus _bucket/_sum/_count series. The sum keeps microunits (6
 * decimals). Observing is lock-free, like counting. */
struct metric_histogram;
struct metric_histogram *metrics_histogram(const char *name, const char *help, const char *labels,
                                           const double *bounds, size_t bound_count);
void metric_observe(struct metric_histogram *histogram, double value);

/* Escapes a label value for the text format (backslash, quote, newline). */
void metrics_escape_label(struct buf *out, const char *value);
/* Appends labels for metrics_counter and its kin, each value escaped:
 * metrics_labels(&labels, "instance", alias, "reason", reason, NULL) gives
 * `instance="es",reason="shutdown"`; a comma goes before them when `out` is
 * not empty. Pairs of name and value, ended by NULL. */
void metrics_labels(struct buf *out, const char *name, ...) __attribute__((sentinel));

/* Appends the Prometheus text exposition (version 0.0.4) of every series,
 * grouped by family with # HELP and # TYPE lines, families in name order. */
void metrics_render(struct buf *out);

/* Frees every series (at exit, and between unit tests). Pointers handed out
 * before are invalid afterwards. */
void metrics_reset(void);

#endif
