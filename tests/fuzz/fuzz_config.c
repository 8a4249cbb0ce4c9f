/* Fuzz target: the configuration loader (YAML parse, ${VAR} substitution,
 * option tables, cross checks). Any input must either load or be rejected with
 * at least one message, without crashing or leaking. */
#include "fuzz.h"

#include "config.h"
#include "log.h"
#include "xalloc.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = xstrndup((const char *)data, size);
    struct config config;
    struct diag_list diags = {0};

    log_set_level(LOG_ERROR);
    if (config_load_string("fuzz.yaml", text, &config, &diags) == 0)
        config_free(&config);
    else if (diags.count == 0)
        abort(); /* a rejected config must say why */
    diag_free(&diags);
    free(text);
    return 0;
}
