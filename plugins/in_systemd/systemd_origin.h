/* Origins for journal entries: (source_id, offset) such that offsets grow
 * within a source in the order entries are read, and the same entry gets the
 * same origin at every read, so that ids derived from origins (the
 * Elasticsearch output's `id: origin`) make a re-read entry a duplicate the
 * server refuses. The journal numbers its entries: a sequence number within
 * a sequence-number id (seqnum_id), which journald keeps across its files
 * and rotations. An entry's origin is (hash of seqnum_id, tag and a
 * generation, seqnum). Both numbers are read from the entry's cursor
 * (sd_journal_get_cursor(3)): libsystemd before 254 has no
 * sd_journal_get_seqnum().
 *
 * journald before 254 could hand out a number twice (restarted, it went on
 * from the tail of the file it reopened while another of its files held
 * higher numbers; systemd's test-journal.c "sequence_numbers" shows it). Two
 * entries with one origin would have one id, and the second would be
 * refused as a duplicate: lost. So the highest number read is kept per
 * seqnum_id (seeded with the checkpoint's entry at start), and an entry
 * numbered at or below it moves that seqnum_id to a new generation: its
 * origin is then one no entry had. Pure logic. */
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

/* The source of the entries of one seqnum_id sent to one tag, in one
 * generation. Never 0. */
uint64_t journal_source_id(const char *seqnum_id, const char *tag, uint32_t generation);

/* The highest seqnum read per seqnum_id, and each one's generation. Holds
 * at most JOURNAL_NUMBERING_MAX seqnum_ids (the least recently used goes). */
#define JOURNAL_NUMBERING_MAX 64
struct journal_numbering;

struct journal_numbering *journal_numbering_new(void);
void journal_numbering_free(struct journal_numbering *numbering);
/* Notes that every number up to the entry of `cursor` was read (the
 * checkpoint's entry, at start). Ignores a cursor that does not parse. */
void journal_numbering_seed(struct journal_numbering *numbering, const char *cursor);
/* The origin of the entry of `cursor` sent to `tag`. False when the cursor
 * does not parse. *renumbered is true when the entry's number was not above
 * the highest read for its seqnum_id (a new generation began). */
bool journal_numbering_origin(struct journal_numbering *numbering, const char *cursor,
                              const char *tag, uint64_t *source_id, uint64_t *offset,
                              bool *renumbered);

#endif
