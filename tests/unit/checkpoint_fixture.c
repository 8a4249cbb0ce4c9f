/* Checkpoint entries shared by the tail checkpoint tests
 * (checkpoint_fixture.h). */
#include "checkpoint_fixture.h"

#include "suites.h"

#include <stdint.h>
#include <stdlib.h>

const struct checkpoint_entry sample[] = {
    {{2049, 131, 64, 0xdeadbeef}, 4096, "/var/log/pods/ns_web-1_0/app/0.log"},
    {{2049, 7, 12, 0x00000001}, 0, "/logs/with space/100%/x.log"},
    {{1, UINT64_MAX, 0, 0}, UINT64_MAX, "new\nline\ttab\r\x7f\x01 caf\xc3\xa9 \xff"},
    {{UINT64_MAX, 0, 64, 0xffffffff}, 1, ""},
};
const size_t sample_count = sizeof sample / sizeof sample[0];

void free_entries(struct checkpoint_entry *entries, size_t count)
{
    for (size_t i = 0; i < count; i++)
        free(entries[i].path);
    free(entries);
}

void assert_entries_equal(const struct checkpoint_entry *a, const struct checkpoint_entry *b)
{
    ck_assert_uint_eq(a->id.dev, b->id.dev);
    ck_assert_uint_eq(a->id.ino, b->id.ino);
    ck_assert_uint_eq(a->id.fp_len, b->id.fp_len);
    ck_assert_uint_eq(a->id.fp_crc, b->id.fp_crc);
    ck_assert_uint_eq(a->offset, b->offset);
    ck_assert_str_eq(a->path, b->path);
}
