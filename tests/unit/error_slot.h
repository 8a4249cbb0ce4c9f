/* For tests of functions that put a malloc'ed message in `char **error`:
 * FRESH(error) empties the slot (freeing the last message) and hands its
 * address to the call, so a test may call again and again with one `char
 * *error` and free the last message at its end. */
#ifndef SKIFF_TEST_ERROR_SLOT_H
#define SKIFF_TEST_ERROR_SLOT_H

#include <stdlib.h>

#define FRESH(slot) (free(slot), (slot) = NULL, &(slot))

#endif
