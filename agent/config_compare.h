/* Comparing two loaded configurations, for a reload: which instances are the
 * same, which service settings changed, whether the change may be applied to
 * a running pipeline, and a one-line account of what changed. Pure: it reads
 * two configs and starts nothing. */
#ifndef SKIFF_CONFIG_COMPARE_H
#define SKIFF_CONFIG_COMPARE_H

#include "buf.h"
#include "config.h"

#include <stdbool.h>

/* True when every option of the table holds the same value in `a` and `b`
 * (two structs the table fills): strings and parser names by text, numbers,
 * lists item by item, maps as values, regexes by pattern, sections nested. */
bool options_equal(const struct option_spec *specs, const void *a, const void *b);

/* Same plugin, same common options (alias, tag, match, ...) and same plugin
 * options. The position is not compared: the default alias holds it. */
bool config_instance_equal(const struct instance_config *a, const struct instance_config *b);

/* An input of `old` that may keep running as input `b` of `new`: the same
 * instance, every parser it names (its `parser` options) defined the same in
 * both, and the section its plugin owns, if any, written the same. */
bool config_input_same(const struct config *old, const struct instance_config *a,
                       const struct config *new, const struct instance_config *b);

/* Two YAML trees with the same content: scalars by text, maps by key whatever
 * the order, sequences in order. Positions are not compared. */
bool cfg_node_equal(const struct cfg_node *a, const struct cfg_node *b);

struct config_diff {
    /* Why the new config cannot be applied while running ("changing ... needs
     * a restart ..."), or NULL when it can. malloc'ed. */
    char *refused;
    /* What changed, for the log and /reload: "outputs: out changed; service:
     * log_level", or "nothing changed". */
    struct buf summary;
    /* Per input of the new config: the index of the old input that keeps
     * running as it, or -1 (an added input, or a changed one). */
    int *input_from;
    size_t input_count;
};

/* Compares `old` (running) with `new` (just loaded and valid). Inputs are
 * matched by alias; a service setting that needs a restart (state_dir,
 * storage.type) makes the diff refused. */
void config_diff(const struct config *old, const struct config *new, struct config_diff *diff);
void config_diff_free(struct config_diff *diff);

#endif
