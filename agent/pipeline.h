/* The pipeline's life cycle, for main.c: configured instances wired together
 * on the pipeline thread. Inputs emit records; filters that match the tag
 * change or drop them; the router picks the outputs; the records are appended
 * to chunks that are sealed and handed to the output thread; completed chunks
 * release buffer space and acknowledge origins back to their input.
 *
 * Core only: plugins see plugin_api.h. */
#ifndef SKIFF_PIPELINE_H
#define SKIFF_PIPELINE_H

struct config;
struct pipeline;

/* Builds every instance from the config (plugin init). Returns NULL after
 * logging if an instance cannot start. */
struct pipeline *pipeline_create(const struct config *config);
/* Runs until SIGTERM/SIGINT, then shuts down within service.grace. Returns the
 * process exit code. */
int pipeline_run(struct pipeline *pipeline);
void pipeline_destroy(struct pipeline *pipeline);

#endif
