/* Hosts of the `forward` output: new connections go to the configured
 * hosts in turn, skipping one that failed (no connection, a failed
 * handshake, a chunk not acknowledged) for a backoff that doubles per
 * failure in a row, from 0.5 s to 30 s. */
#include "fw_output.h"

#include "log.h"
#include "xalloc.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum { HOST_BACKOFF_MIN_MS = 500, HOST_BACKOFF_MAX_MS = 30000 };

static int host_init(struct fw_host *host, const char *text, int64_t port, char **error)
{
    if (fw_host_parse(text, port, &host->name, &host->port, error) < 0)
        return -1;
    host->label = strchr(host->name, ':') ? xasprintf("[%s]:%s", host->name, host->port)
                                          : xasprintf("%s:%s", host->name, host->port);
    return 0;
}

int fw_hosts_init(struct fw_output *fw, char **error)
{
    const struct fw_options *opts = fw->opts;
    fw->host_count = opts->host ? 1 : opts->hosts.count;
    fw->hosts = xcalloc(fw->host_count, sizeof *fw->hosts);
    if (opts->host) {
        char *text = fw_host_text(opts->host);
        int rc = host_init(&fw->hosts[0], text, opts->port, error);
        free(text);
        return rc;
    }
    for (size_t i = 0; i < fw->host_count; i++)
        if (host_init(&fw->hosts[i], opts->hosts.items[i], opts->port, error) < 0)
            return -1;
    return 0;
}

void fw_hosts_free(struct fw_output *fw)
{
    for (size_t i = 0; i < fw->host_count; i++) {
        free(fw->hosts[i].name);
        free(fw->hosts[i].port);
        free(fw->hosts[i].label);
    }
    free(fw->hosts);
    fw->hosts = NULL;
}

size_t fw_hosts_pick(struct fw_output *fw, int64_t now_ms)
{
    size_t best = fw->next_host % fw->host_count;
    for (size_t k = 0; k < fw->host_count; k++) {
        size_t i = (fw->next_host + k) % fw->host_count;
        if (fw->hosts[i].down_until_ms <= now_ms) {
            fw->next_host = i + 1;
            return i;
        }
        if (fw->hosts[i].down_until_ms < fw->hosts[best].down_until_ms)
            best = i;
    }
    fw->next_host = best + 1;
    return best;
}

size_t fw_hosts_other_up(const struct fw_output *fw, size_t host, int64_t now_ms)
{
    for (size_t k = 1; k < fw->host_count; k++) {
        size_t i = (host + k) % fw->host_count;
        if (fw->hosts[i].down_until_ms <= now_ms)
            return i;
    }
    return SIZE_MAX;
}

void fw_hosts_failed(struct fw_output *fw, size_t i, int64_t now_ms)
{
    struct fw_host *host = &fw->hosts[i];
    unsigned shift = host->failures < 6 ? host->failures : 6;
    int64_t backoff = (int64_t)HOST_BACKOFF_MIN_MS << shift;
    if (backoff > HOST_BACKOFF_MAX_MS)
        backoff = HOST_BACKOFF_MAX_MS;
    host->down_until_ms = now_ms + backoff;
    host->failures++;
}

void fw_hosts_ok(struct fw_output *fw, size_t i)
{
    struct fw_host *host = &fw->hosts[i];
    if (host->failures > 0 && fw->host_count > 1)
        log_info(fw->out->alias, "%s: taking chunks again", host->label);
    host->failures = 0;
    host->down_until_ms = 0;
}
