/* The process-wide metrics registry (see metrics.h). Registration and rendering
 * take one mutex; counting never does. Not a client library: fixed-bucket
 * histograms only, no timestamps, no exemplars. */
#include "metrics.h"

#include "xalloc.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* Each series is its own allocation so the pointer handed out never moves. */
struct metric_histogram {
    double *bounds;
    size_t bound_count;
    _Atomic int64_t *buckets; /* bound_count + 1, the last for +Inf */
    _Atomic int64_t sum_micro;
    _Atomic int64_t count;
};

struct metric_series {
    struct metric metric;
    struct metric_histogram *histogram; /* METRIC_HISTOGRAM only */
    char *labels;
    struct metric_series *next;
};

struct metric_family {
    char *name;
    char *help;
    enum metric_type type;
    struct metric_series *first;
    struct metric_series **tail;
};

/* Families sorted by name, so lookup is a binary search and rendering is in
 * order. Series are a list in registration order; callers keep the pointer, so
 * lookups happen once per series and a list is enough. */
static struct {
    pthread_mutex_t lock;
    struct metric_family **families;
    size_t len;
    size_t cap;
} registry = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* Returns the family's index, or where it would be inserted with *found false. */
static size_t family_search(const char *name, bool *found)
{
    size_t lo = 0, hi = registry.len;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int cmp = strcmp(registry.families[mid]->name, name);
        if (cmp == 0) {
            *found = true;
            return mid;
        }
        if (cmp < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = false;
    return lo;
}

static struct metric_family *family_get(const char *name, const char *help, enum metric_type type)
{
    bool found;
    size_t i = family_search(name, &found);
    if (found)
        return registry.families[i];

    struct metric_family *family = xcalloc(1, sizeof *family);
    family->name = xstrdup(name);
    family->help = xstrdup(help ? help : "");
    family->type = type;
    family->tail = &family->first;
    registry.families =
        xgrow(registry.families, &registry.cap, registry.len + 1, sizeof *registry.families);
    memmove(&registry.families[i + 1], &registry.families[i],
            (registry.len - i) * sizeof *registry.families);
    registry.families[i] = family;
    registry.len++;
    return family;
}

static struct metric_series *series_get(struct metric_family *family, const char *labels)
{
    for (struct metric_series *s = family->first; s; s = s->next) {
        if (strcmp(s->labels, labels) == 0)
            return s;
    }
    struct metric_series *series = xcalloc(1, sizeof *series);
    series->labels = xstrdup(labels);
    *family->tail = series;
    family->tail = &series->next;
    return series;
}

static struct metric *metrics_register(const char *name, const char *help, const char *labels,
                                       enum metric_type type)
{
    pthread_mutex_lock(&registry.lock);
    struct metric_series *series = series_get(family_get(name, help, type), labels);
    pthread_mutex_unlock(&registry.lock);
    return &series->metric;
}

struct metric *metrics_counter(const char *name, const char *help, const char *labels)
{
    return metrics_register(name, help, labels, METRIC_COUNTER);
}

struct metric *metrics_gauge(const char *name, const char *help, const char *labels)
{
    return metrics_register(name, help, labels, METRIC_GAUGE);
}

struct metric_histogram *metrics_histogram(const char *name, const char *help, const char *labels,
                                           const double *bounds, size_t bound_count)
{
    pthread_mutex_lock(&registry.lock);
    struct metric_series *series = series_get(family_get(name, help, METRIC_HISTOGRAM), labels);
    if (!series->histogram) {
        struct metric_histogram *h = xcalloc(1, sizeof *h);
        h->bounds = xmalloc(bound_count * sizeof *h->bounds);
        memcpy(h->bounds, bounds, bound_count * sizeof *h->bounds);
        h->bound_count = bound_count;
        h->buckets = xcalloc(bound_count + 1, sizeof *h->buckets);
        series->histogram = h;
    }
    pthread_mutex_unlock(&registry.lock);
    return series->histogram;
}

void metric_observe(struct metric_histogram *h, double value)
{
    size_t i = 0;
    while (i < h->bound_count && value > h->bounds[i])
        i++;
    atomic_fetch_add_explicit(&h->buckets[i], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&h->sum_micro, (int64_t)(value * 1e6), memory_order_relaxed);
    atomic_fetch_add_explicit(&h->count, 1, memory_order_relaxed);
}

void metrics_escape_label(struct buf *out, const char *value)
{
    for (const char *p = value; *p; p++) {
        if (*p == '\\')
            buf_append_str(out, "\\\\");
        else if (*p == '"')
            buf_append_str(out, "\\\"");
        else if (*p == '\n')
            buf_append_str(out, "\\n");
        else
            buf_append_byte(out, *p);
    }
}

void metrics_labels(struct buf *out, const char *name, ...)
{
    va_list ap;
    va_start(ap, name);
    for (const char *key = name; key; key = va_arg(ap, const char *)) {
        const char *value = va_arg(ap, const char *);
        if (out->len > 0)
            buf_append_byte(out, ',');
        buf_append_str(out, key);
        buf_append_str(out, "=\"");
        metrics_escape_label(out, value);
        buf_append_byte(out, '"');
    }
    va_end(ap);
}

/* HELP text escapes backslash and newline, but not quotes. */
static void escape_help(struct buf *out, const char *help)
{
    for (const char *p = help; *p; p++) {
        if (*p == '\\')
            buf_append_str(out, "\\\\");
        else if (*p == '\n')
            buf_append_str(out, "\\n");
        else
            buf_append_byte(out, *p);
    }
}

/* name_bucket{labels,le="b"} per bound (cumulative), then _sum and _count. */
static void render_histogram(struct buf *out, const char *name, const char *labels,
                             const struct metric_histogram *h)
{
    const char *sep = labels[0] ? "," : "";
    int64_t cumulative = 0;
    for (size_t i = 0; i <= h->bound_count; i++) {
        cumulative += atomic_load_explicit(&h->buckets[i], memory_order_relaxed);
        if (i < h->bound_count)
            buf_printf(out, "%s_bucket{%s%sle=\"%g\"} %" PRId64 "\n", name, labels, sep,
                       h->bounds[i], cumulative);
        else
            buf_printf(out, "%s_bucket{%s%sle=\"+Inf\"} %" PRId64 "\n", name, labels, sep,
                       cumulative);
    }
    int64_t sum = atomic_load_explicit(&h->sum_micro, memory_order_relaxed);
    const char *open = labels[0] ? "{" : "", *close = labels[0] ? "}" : "";
    buf_printf(out, "%s_sum%s%s%s %" PRId64 ".%06" PRId64 "\n", name, open, labels, close,
               sum / 1000000, sum % 1000000);
    buf_printf(out, "%s_count%s%s%s %" PRId64 "\n", name, open, labels, close,
               atomic_load_explicit(&h->count, memory_order_relaxed));
}

static const char *type_name(enum metric_type type)
{
    return type == METRIC_COUNTER ? "counter" : type == METRIC_GAUGE ? "gauge" : "histogram";
}

static void render_family(struct buf *out, const struct metric_family *family)
{
    buf_printf(out, "# HELP %s", family->name);
    if (family->help[0] != '\0') {
        buf_append_byte(out, ' ');
        escape_help(out, family->help);
    }
    buf_printf(out, "\n# TYPE %s %s\n", family->name, type_name(family->type));
    for (struct metric_series *s = family->first; s; s = s->next) {
        if (s->histogram) {
            render_histogram(out, family->name, s->labels, s->histogram);
            continue;
        }
        int64_t value = metric_get(&s->metric);
        if (s->labels[0] == '\0')
            buf_printf(out, "%s %" PRId64 "\n", family->name, value);
        else
            buf_printf(out, "%s{%s} %" PRId64 "\n", family->name, s->labels, value);
    }
}

void metrics_render(struct buf *out)
{
    pthread_mutex_lock(&registry.lock);
    for (size_t i = 0; i < registry.len; i++)
        render_family(out, registry.families[i]);
    pthread_mutex_unlock(&registry.lock);
}

static void family_free(struct metric_family *family)
{
    struct metric_series *s = family->first;
    while (s) {
        struct metric_series *next = s->next;
        if (s->histogram) {
            free(s->histogram->bounds);
            free(s->histogram->buckets);
            free(s->histogram);
        }
        free(s->labels);
        free(s);
        s = next;
    }
    free(family->name);
    free(family->help);
    free(family);
}

void metrics_reset(void)
{
    pthread_mutex_lock(&registry.lock);
    for (size_t i = 0; i < registry.len; i++)
        family_free(registry.families[i]);
    free(registry.families);
    registry.families = NULL;
    registry.len = registry.cap = 0;
    pthread_mutex_unlock(&registry.lock);
}
