/* Checkpoint entries shared by the tail checkpoint tests
 * (test_tail_checkpoint.c, test_tail_checkpoint_store.c; see
 * checkpoint_fixture.c). */
#ifndef SKIFF_TEST_CHECKPOINT_FIXTURE_H
#define SKIFF_TEST_CHECKPOINT_FIXTURE_H

#include "plugins/in_tail/tail_checkpoint.h"

#include <stddef.h>

#define HEADER "skiff-tail-checkpoints 1\n"

/* Entries with extreme ids and offsets and paths that need escaping. */
extern const struct checkpoint_entry sample[];
extern const size_t sample_count;
#define SAMPLE_COUNT sample_count

void free_entries(struct checkpoint_entry *entries, size_t count);
void assert_entries_equal(const struct checkpoint_entry *a, const struct checkpoint_entry *b);

#endif
