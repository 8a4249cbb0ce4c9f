/* Origins for journal entries: (source_id, offset) such that offsets grow
 * within a source in the order entries are read, and the same entry gets the
 * same origin at every read, so that ids derived from origins (the
 * Elasticsearch output's `id: origin`) make a re-read entry a duplicate the
 * server refuses. The journal numbers its entries: a sequence number within
 * a sequence-number id (seqnum_id), which journald keeps across its files
 * and rotations. An entry's origin is (hash of seqnum_id, tag and a
 * generation, seqnum). Both numbers are read from the entry's cursor
 * (sd_journal_get_cursor(3)): libsystemd before 254 has no
 * sd_journal_get_seqnum(). Pure logic. */
#ifndef SKIFF_SYSTEMD_ORIGIN_H
#define SKIFF_SYSTEMD_ORIGIN_H

#include <stdbool.h>
#include <stdint.h>

#define JOURNAL_SEQNUM_ID_LEN 32 /* hex digits of a 128-bit id */

/* Reads seqnum_id and seqnum from a cursor, which sd-journal has written as
 * "s=<seqnum_id>;i=<seqnum, hex>;b=...;m=...;t=...;x=..." since 2012. The
 * cursor is documented as opaque: false when it does not have that shape
 * (the caller then numbers entries itself). `seqnum_id` gets 32 hex digits
 * and a NUL. */
bool journal_cursor_seqnum(const char *cursor, char seqnum_id[JOURNAL_SEQNUM_ID_LEN + 1],
                           uint64_t *seqnum);

/* The source of the entries of one seqnum_id sent to one tag. `generation`
 * starts at 0 and grows when the journal handed out an entry whose seqnum
 * does not follow the last one of that source still in flight (merged files
 * out of order), so that offsets keep growing within each source. Never 0. */
uint64_t journal_source_id(const char *seqnum_id, const char *tag, uint32_t generation);

#endif
