/* Origins of journal entries (systemd_origin.h): the cursor's seqnum fields,
 * the source id hash, and the numbering that keeps origins apart when
 * journald handed out a number twice. */
#include "systemd_origin.h"

#include "buf.h"
#include "hmap.h"
#include "xalloc.h"

#include <stdlib.h>
#include <string.h>

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* "i=<hex>" up to the next ';' or the end: 1 to 16 hex digits. */
static bool parse_seqnum(const char *p, uint64_t *seqnum)
{
    uint64_t v = 0;
    int digits = 0;
    for (; *p && *p != ';'; p++, digits++) {
        int h = hex_value(*p);
        if (h < 0 || digits == 16)
            return false;
        v = v << 4 | (uint64_t)h;
    }
    if (digits == 0)
        return false;
    *seqnum = v;
    return true;
}

bool journal_cursor_seqnum(const char *cursor, char seqnum_id[JOURNAL_SEQNUM_ID_LEN + 1],
                           uint64_t *seqnum)
{
    if (strncmp(cursor, "s=", 2) != 0)
        return false;
    const char *id = cursor + 2;
    for (int i = 0; i < JOURNAL_SEQNUM_ID_LEN; i++)
        if (hex_value(id[i]) < 0)
            return false;
    if (strncmp(id + JOURNAL_SEQNUM_ID_LEN, ";i=", 3) != 0)
        return false;
    if (!parse_seqnum(id + JOURNAL_SEQNUM_ID_LEN + 3, seqnum))
        return false;
    memcpy(seqnum_id, id, JOURNAL_SEQNUM_ID_LEN);
    seqnum_id[JOURNAL_SEQNUM_ID_LEN] = '\0';
    return true;
}

uint64_t journal_source_id(const char *seqnum_id, const char *tag, uint32_t generation)
{
    struct buf key = BUF_INIT;
    /* NUL-separated, so that no two (id, tag, generation) share a key. */
    buf_append(&key, seqnum_id, strlen(seqnum_id) + 1);
    buf_append(&key, tag, strlen(tag) + 1);
    buf_append(&key, &generation, sizeof generation);
    uint64_t h = hash_bytes(key.data, key.len);
    buf_free(&key);
    return h | 1; /* 0 means "no source" */
}

struct numbering_slot {
    char seqnum_id[JOURNAL_SEQNUM_ID_LEN + 1]; /* "" for a free slot */
    uint64_t highest;
    uint32_t generation;
    uint64_t used; /* the tick it was last used, for replacing the oldest */
};

struct journal_numbering {
    struct numbering_slot slots[JOURNAL_NUMBERING_MAX];
    uint64_t tick;
};

struct journal_numbering *journal_numbering_new(void)
{
    return xcalloc(1, sizeof(struct journal_numbering));
}

void journal_numbering_free(struct journal_numbering *numbering)
{
    free(numbering);
}

/* The slot of `seqnum_id`; *fresh when it was just taken (the least
 * recently used one, if all are in use). */
static struct numbering_slot *numbering_slot(struct journal_numbering *n, const char *seqnum_id,
                                             bool *fresh)
{
    struct numbering_slot *oldest = &n->slots[0];
    n->tick++;
    for (size_t i = 0; i < JOURNAL_NUMBERING_MAX; i++) {
        struct numbering_slot *slot = &n->slots[i];
        if (strcmp(slot->seqnum_id, seqnum_id) == 0) {
            slot->used = n->tick;
            *fresh = false;
            return slot;
        }
        if (slot->used < oldest->used)
            oldest = slot;
    }
    memcpy(oldest->seqnum_id, seqnum_id, sizeof oldest->seqnum_id);
    oldest->highest = 0;
    oldest->generation = 0;
    oldest->used = n->tick;
    *fresh = true;
    return oldest;
}

void journal_numbering_seed(struct journal_numbering *numbering, const char *cursor)
{
    char id[JOURNAL_SEQNUM_ID_LEN + 1];
    uint64_t seqnum;
    bool fresh;
    if (!journal_cursor_seqnum(cursor, id, &seqnum))
        return;
    struct numbering_slot *slot = numbering_slot(numbering, id, &fresh);
    if (fresh || seqnum > slot->highest)
        slot->highest = seqnum;
}

bool journal_numbering_origin(struct journal_numbering *numbering, const char *cursor,
                              const char *tag, uint64_t *source_id, uint64_t *offset,
                              bool *renumbered)
{
    char id[JOURNAL_SEQNUM_ID_LEN + 1];
    uint64_t seqnum;
    bool fresh;
    if (!journal_cursor_seqnum(cursor, id, &seqnum))
        return false;
    struct numbering_slot *slot = numbering_slot(numbering, id, &fresh);
    *renumbered = !fresh && seqnum <= slot->highest;
    if (*renumbered)
        slot->generation++;
    slot->highest = seqnum;
    *source_id = journal_source_id(id, tag, slot->generation);
    *offset = seqnum;
    return true;
}
