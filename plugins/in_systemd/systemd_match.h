/* The systemd input's `matches`: each a "FIELD=value" string, checked as
 * sd_journal_add_match(3) takes them, and the whole list described for the
 * log the way journalctl combines it: values of one field ORed, different
 * fields ANDed (or everything ORed with `match_any`). Pure logic, for the
 * config check and the unit tests; adding them to a journal is in
 * systemd_journal.c. */
#ifndef SKIFF_SYSTEMD_MATCH_H
#define SKIFF_SYSTEMD_MATCH_H

#include <stdbool.h>
#include <stddef.h>

/* Checks one match: a field name of upper-case letters, digits and '_' that
 * does not start with "__", then '=', then any value (empty too). Returns 0,
 * or -1 with a message in *error (malloc'ed) saying what is wrong. */
int journal_match_check(const char *match, char **error);

/* The matches as the journal applies them, for the log:
 * "(_SYSTEMD_UNIT=a OR _SYSTEMD_UNIT=b) AND PRIORITY=3"; "everything" for
 * none. Fields in the order they first appear. malloc'ed. */
char *journal_matches_describe(char *const *matches, size_t count, bool match_any);

#endif
