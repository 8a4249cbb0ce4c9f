/* The `service:` section: its option table and the checks that need more
 * than the table (http.listen's form). Not the pipeline's items: config.c. */
#include "config.h"
#include "config_internal.h"

#include "cfg_node.h"
#include "diag.h"
#include "http_server.h"

#include <stddef.h>
#include <stdlib.h>

static const char *const log_levels[] = {"error", "warn", "info", "debug", NULL};

static const char *const reload_callers[] = {"local", "any", "off", NULL};

static const struct option_spec http_options[] = {
    {.name = "listen",
     .type = OPT_STRING,
     .offset = offsetof(struct http_config, listen),
     .description = "host:port of the /metrics, /healthz, /readyz and /reload server; unset = no "
                    "server"},
    {.name = "reload",
     .type = OPT_STRING,
     .default_value = "local",
     .choices = reload_callers,
     .offset = offsetof(struct http_config, reload),
     .description = "who may POST /reload: local (callers on this host: in a pod, `kubectl exec`), "
                    "any (every caller that reaches listen), off (SIGHUP only)"},
    {0},
};

const char *const config_storage_types[] = {"memory", "filesystem", NULL};
static const char *const storage_syncs[] = {"normal", "full", NULL};

static const struct option_spec storage_options[] = {
    {.name = "type",
     .type = OPT_STRING,
     .default_value = "memory",
     .choices = config_storage_types,
     .offset = offsetof(struct storage_config, type),
     .description = "`filesystem` also writes every sealed chunk under state_dir/chunks/, so "
                    "buffered records survive a restart or crash and outages may buffer up to "
                    "max_size on disk; `memory` buffers up to each input's buffer_limit"},
    {.name = "max_size",
     .type = OPT_SIZE,
     .default_value = "1GiB",
     .min = 1LL << 20,
     .max = 1LL << 50,
     .offset = offsetof(struct storage_config, max_size),
     .description = "bytes of chunk files on disk; when reached, inputs pause until outputs "
                    "free space"},
    {.name = "sync",
     .type = OPT_STRING,
     .default_value = "normal",
     .choices = storage_syncs,
     .offset = offsetof(struct storage_config, sync),
     .description = "`normal` writes chunk files without fsync (they survive a crash of skiff, "
                    "not of the machine); `full` fsyncs each file and folder before the input's "
                    "checkpoint may pass it"},
    {0},
};

static const struct option_spec dead_letter_options[] = {
    {.name = "max_size",
     .type = OPT_SIZE,
     .default_value = "256MiB",
     .min = 0,
     .max = 1LL << 50,
     .offset = offsetof(struct dead_letter_config, max_size),
     .description = "bytes the files under state_dir/dead-letter/ may take; beyond that, records "
                    "given up on are dropped and counted; 0 turns dead-lettering off"},
    {0},
};

const struct option_spec service_options[] = {
    {.name = "log_level",
     .type = OPT_STRING,
     .default_value = "info",
     .choices = log_levels,
     .offset = offsetof(struct service_config, log_level),
     .description = "how much skiff logs about itself"},
    {.name = "state_dir",
     .type = OPT_STRING,
     .default_value = "/var/lib/skiff",
     .offset = offsetof(struct service_config, state_dir),
     .description =
         "folder for checkpoints and buffered chunks (used by the tail input and the disk buffer)"},
    {.name = "flush_interval",
     .type = OPT_DURATION,
     .default_value = "1s",
     .min = 10,
     .max = 3600000,
     .offset = offsetof(struct service_config, flush_interval_ms),
     .description = "how often buffered records are handed to the outputs"},
    {.name = "grace",
     .type = OPT_DURATION,
     .default_value = "5s",
     .min = 0,
     .max = 600000,
     .offset = offsetof(struct service_config, grace_ms),
     .description = "on SIGTERM or SIGINT, how long the outputs may take to deliver what is "
                    "buffered; on a reload, how long the old outputs may take to finish what "
                    "they are sending"},
    {.name = "http",
     .type = OPT_SECTION,
     .section = http_options,
     .offset = offsetof(struct service_config, http),
     .description = "the HTTP server for metrics and health checks"},
    {.name = "storage",
     .type = OPT_SECTION,
     .section = storage_options,
     .offset = offsetof(struct service_config, storage),
     .description = "where chunks are buffered: memory only, or also on disk"},
    {.name = "dead_letter",
     .type = OPT_SECTION,
     .section = dead_letter_options,
     .offset = offsetof(struct service_config, dead_letter),
     .description = "the dead-letter folder, for records an output gives up on"},
    {0},
};

/* A listen address that cannot work is a config error (exit 2 with file and
 * line under --dry-run), not a failure once running. */
static void check_listen(const struct service_config *service, const struct cfg_node *map,
                         struct diag_list *diags)
{
    char *error = NULL;
    if (!service->http.listen || http_listen_check(service->http.listen, &error) == 0)
        return;
    const struct cfg_node *http = cfg_map_get(map, "http");
    const struct cfg_node *at = cfg_map_get(http, "listen");
    diag_add(diags, at ? at : map, "service: option 'http.listen': %s", error);
    free(error);
}

void config_load_service(struct config *config, const struct cfg_node *map, struct diag_list *diags)
{
    struct option_target service = {service_options, &config->service};
    if (options_apply(&service, 1, map, "service", NULL, diags) == 0)
        check_listen(&config->service, map, diags);
}
