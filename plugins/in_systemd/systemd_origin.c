/* Origins of journal entries (systemd_origin.h): the cursor's seqnum fields
 * and the source id hash. */
#include "systemd_origin.h"

#include "buf.h"
#include "hmap.h"

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
