/* Writing option numbers back the way a user would type them, for limits in
 * messages and in --describe. The parsers are declared in options.h. */
#ifndef SKIFF_OPTIONS_UNITS_H
#define SKIFF_OPTIONS_UNITS_H

#include "options.h"

#include <stdint.h>

/* Large enough for any int64_t with its unit. */
#define OPTIONS_NUMBER_TEXT_MAX 32

/* An OPT_SIZE or OPT_DURATION value in the largest unit that divides it
 * exactly (65536 -> "64KiB", 3600000 -> "1h", 0 -> "0"); any other type as a
 * plain integer. */
void options_format_number(enum option_type type, int64_t value, char out[OPTIONS_NUMBER_TEXT_MAX]);

#endif
