/* What the core keeps for every instance whatever its kind, callable from
 * either thread: the drop counters. A leaf below the pipeline and the output
 * side alike, so that the output thread counts drops without calling into the
 * pipeline. */
#include "buf.h"
#include "metrics.h"
#include "plugin_api.h"

struct metric *instance_dropped_counter(const struct instance *instance, const char *reason)
{
    struct buf labels = BUF_INIT;
    metrics_labels(&labels, "instance", instance->alias, "reason", reason, NULL);
    struct metric *m =
        metrics_counter("skiff_records_dropped_total",
                        "Records dropped on purpose or given up on, by reason", buf_cstr(&labels));
    buf_free(&labels);
    return m;
}

void instance_count_dropped(const struct instance *instance, const char *reason, int64_t n)
{
    metric_add(instance_dropped_counter(instance, reason), n);
}
