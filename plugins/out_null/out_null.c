/* Output `null`: counts and discards every record. For benchmarks and for
 * measuring the pipeline without an output's cost. */
#include "plugin_api.h"

static const struct option_spec null_options_table[] = {
    {0},
};

static void null_flush(struct instance *out, struct delivery *delivery)
{
    const struct chunk *chunk = delivery_chunk(delivery);
    metric_add(out->metrics.bytes, (int64_t)chunk->data.len);
    delivery_done(delivery, DELIVERY_OK, NULL);
}

const struct plugin out_null_plugin = {
    .name = "null",
    .kind = PLUGIN_OUTPUT,
    .description = "counts and discards records",
    .options = null_options_table,
    .options_size = 0,
    .flush = null_flush,
};
