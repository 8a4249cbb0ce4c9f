/* The plugin registry: every plugin built into skiff, found by name and kind.
 * The list is generated at configure time from the plugin folders built
 * (plugin_registry.h, see meson.build); nothing registers at run time. */
#include "plugin.h"
#include "plugin_registry.h"

#include <string.h>

static const struct plugin *const registry[] = {PLUGIN_REGISTRY_ENTRIES NULL};

const struct plugin *plugin_find(const char *name, enum plugin_kind kind)
{
    for (const struct plugin *const *p = registry; *p; p++) {
        if ((*p)->kind == kind && strcmp((*p)->name, name) == 0)
            return *p;
    }
    return NULL;
}

const struct plugin *const *plugin_all(void)
{
    return registry;
}

const char *plugin_kind_name(enum plugin_kind kind)
{
    switch (kind) {
    case PLUGIN_INPUT:
        return "input";
    case PLUGIN_FILTER:
        return "filter";
    case PLUGIN_OUTPUT:
        return "output";
    case PLUGIN_PARSER:
        return "parser";
    }
    return "?";
}
