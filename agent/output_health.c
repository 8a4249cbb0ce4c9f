/* Whether an output is failing (plugin_api.h: output_set_failing), for /readyz
 * and skiff_output_failing. The output's plugin sets it on the output thread;
 * the HTTP endpoint reads it on the pipeline thread, hence the lock. Not a
 * health check of its own: only what outputs report. */
#include "pipeline_internal.h"
#include "secret.h"

#include <pthread.h>
#include <stdio.h>

static pthread_mutex_t health_lock = PTHREAD_MUTEX_INITIALIZER;

void output_set_failing(struct instance *output, const char *reason)
{
    pthread_mutex_lock(&health_lock);
    snprintf(output->core->failing_reason, sizeof output->core->failing_reason, "%s",
             reason && reason[0] ? reason : "failing");
    secret_mask_in_place(output->core->failing_reason, sizeof output->core->failing_reason);
    output->core->failing = true;
    pthread_mutex_unlock(&health_lock);
    if (output->metrics.failing)
        metric_set(output->metrics.failing, 1);
}

void output_clear_failing(struct instance *output)
{
    pthread_mutex_lock(&health_lock);
    output->core->failing = false;
    output->core->failing_reason[0] = '\0';
    pthread_mutex_unlock(&health_lock);
    if (output->metrics.failing)
        metric_set(output->metrics.failing, 0);
}

size_t output_health_report(const struct instance *outputs, size_t count, struct buf *out)
{
    size_t failing = 0;
    pthread_mutex_lock(&health_lock);
    for (size_t i = 0; i < count; i++) {
        if (!outputs[i].core->failing)
            continue;
        buf_printf(out, "output %s failing: %s\n", outputs[i].alias,
                   outputs[i].core->failing_reason);
        failing++;
    }
    pthread_mutex_unlock(&health_lock);
    return failing;
}
