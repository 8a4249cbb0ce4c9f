/* The systemd input's pure logic: `matches` checked as sd-journal takes them
 * (and compared with sd_journal_add_match itself) and described the way
 * journalctl combines them; origins read from cursors, and kept apart when
 * journald reused sequence numbers; the checkpoint file's
 * format, its strict decoder (every truncation and byte flip) and its load
 * and save. The ring of entries in flight is in test_systemd_ring.c. */
#include "suites.h"
#include "error_slot.h"
#include "temp_dir.h"

#include "plugins/in_systemd/systemd_checkpoint.h"
#include "plugins/in_systemd/systemd_match.h"
#include "plugins/in_systemd/systemd_origin.h"
#include "xalloc.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <systemd/sd-journal.h>
#include <unistd.h>

#define CURSOR                                                                                     \
    "s=ade8877725524296ae8f67c52569595f;i=1a;b=0123456789abcdef0123456789abcdef;m=3e8;"            \
    "t=60a24181e4000;x=9bf6ea8c4faabacf"

/* ---- matches ---- */

START_TEST(test_match_check)
{
    char *error = NULL;
    ck_assert_int_eq(journal_match_check("_SYSTEMD_UNIT=kubelet.service", FRESH(error)), 0);
    ck_assert_int_eq(journal_match_check("PRIORITY=", FRESH(error)), 0);
    ck_assert_int_eq(journal_match_check("A=b=c", FRESH(error)), 0);
    ck_assert_int_eq(journal_match_check("9X=1", FRESH(error)), 0);

    ck_assert_int_eq(journal_match_check("kubelet", FRESH(error)), -1);
    ck_assert_str_eq(error, "'kubelet' is not FIELD=value");
    ck_assert_int_eq(journal_match_check("=x", FRESH(error)), -1);
    ck_assert_ptr_nonnull(strstr(error, "no field name"));
    ck_assert_int_eq(journal_match_check("__CURSOR=x", FRESH(error)), -1);
    ck_assert_ptr_nonnull(strstr(error, "\"__\""));
    ck_assert_int_eq(journal_match_check("_systemd_unit=x", FRESH(error)), -1);
    ck_assert_ptr_nonnull(strstr(error, "did you mean '_SYSTEMD_UNIT'?"));
    ck_assert_int_eq(journal_match_check("SYSTEMD-UNIT=x", FRESH(error)), -1);
    ck_assert_ptr_nonnull(strstr(error, "only A-Z, 0-9 and '_'"));
    free(error);
}
END_TEST

/* What journal_match_check accepts is what sd_journal_add_match accepts. */
START_TEST(test_match_check_agrees_with_sd_journal)
{
    static const char *const cases[] = {
        "_SYSTEMD_UNIT=kubelet.service",
        "A=",
        "A==",
        "=",
        "=x",
        "__A=1",
        "_=1",
        "_A_=1",
        "a=1",
        "A b=1",
        "A.B=1",
        "9=1",
        "A",
        "",
        "ÄB=1",
        "A=\xff\x01",
        "_\x7f=1",
    };
    char *dir = temp_dir_make("systemd-match");
    sd_journal *j = NULL;
    ck_assert_int_eq(sd_journal_open_directory(&j, dir, 0), 0);
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char *error = NULL;
        int ours = journal_match_check(cases[i], &error);
        int theirs = sd_journal_add_match(j, cases[i], strlen(cases[i]));
        ck_assert_msg((ours == 0) == (theirs == 0), "'%s': ours %d, sd_journal_add_match %d",
                      cases[i], ours, theirs);
        ck_assert_msg(theirs == 0 || theirs == -EINVAL, "'%s': %d", cases[i], theirs);
        free(error);
    }
    sd_journal_close(j);
    temp_dir_remove(dir);
}
END_TEST

static void assert_described(const char *expected, bool any, size_t count, ...)
{
    char *matches[8];
    va_list ap;
    va_start(ap, count);
    for (size_t i = 0; i < count; i++)
        matches[i] = va_arg(ap, char *);
    va_end(ap);
    char *text = journal_matches_describe(matches, count, any);
    ck_assert_str_eq(text, expected);
    free(text);
}

START_TEST(test_matches_describe)
{
    assert_described("everything", false, 0);
    assert_described("U=a", false, 1, "U=a");
    /* One field: its values ORed, no parentheses. */
    assert_described("U=a OR U=b", false, 2, "U=a", "U=b");
    /* Values of a field ORed, fields ANDed, fields in order of first use. */
    assert_described("(U=a OR U=b) AND P=3", false, 3, "U=a", "P=3", "U=b");
    assert_described("P=3 AND (U=a OR U=b) AND X=", false, 4, "P=3", "U=a", "X=", "U=b");
    /* match_any: everything ORed, as written. */
    assert_described("U=a OR P=3 OR U=b", true, 3, "U=a", "P=3", "U=b");
    /* A field whose name is the start of another's is another field. */
    assert_described("U=a AND UNIT=b", false, 2, "U=a", "UNIT=b");
}
END_TEST

/* ---- origins ---- */

START_TEST(test_cursor_seqnum)
{
    char id[JOURNAL_SEQNUM_ID_LEN + 1];
    uint64_t seqnum = 0;
    ck_assert(journal_cursor_seqnum(CURSOR, id, &seqnum));
    ck_assert_str_eq(id, "ade8877725524296ae8f67c52569595f");
    ck_assert_uint_eq(seqnum, 0x1a);
    ck_assert(journal_cursor_seqnum("s=ADE8877725524296AE8F67C52569595F;i=ffffffffffffffff", id,
                                    &seqnum));
    ck_assert_uint_eq(seqnum, UINT64_MAX);

    /* Anything else is no cursor of the known shape. */
    static const char *const bad[] = {
        "",
        "i=1;s=ade8877725524296ae8f67c52569595f",
        "s=ade8877725524296ae8f67c52569595;i=1",   /* 31 digits */
        "s=ade8877725524296ae8f67c52569595fa;i=1", /* 33 */
        "s=ade8877725524296ae8f67c52569595g;i=1",
        "s=ade8877725524296ae8f67c52569595f;i=;b=x",
        "s=ade8877725524296ae8f67c52569595f;i=1g",
        "s=ade8877725524296ae8f67c52569595f;i=10000000000000000", /* 17 digits */
        "s=ade8877725524296ae8f67c52569595f",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        ck_assert_msg(!journal_cursor_seqnum(bad[i], id, &seqnum), "'%s' parsed", bad[i]);
}
END_TEST

START_TEST(test_source_id)
{
    const char *id = "ade8877725524296ae8f67c52569595f";
    uint64_t a = journal_source_id(id, "host.kubelet.service", 0);
    /* The same for the same inputs (across runs: no seed), never 0. */
    ck_assert_uint_eq(a, journal_source_id(id, "host.kubelet.service", 0));
    ck_assert_uint_ne(a, 0);
    ck_assert_uint_ne(a, journal_source_id(id, "host.containerd.service", 0));
    ck_assert_uint_ne(a, journal_source_id(id, "host.kubelet.service", 1));
    ck_assert_uint_ne(
        a, journal_source_id("bde8877725524296ae8f67c52569595f", "host.kubelet.service", 0));
    /* The parts are kept apart: ("ab", "c") is not ("a", "bc"). */
    ck_assert_uint_ne(journal_source_id("ab", "c", 0), journal_source_id("a", "bc", 0));
}
END_TEST

static char *cursor_of(const char *seqnum_id, uint64_t seqnum)
{
    return xasprintf("s=%s;i=%llx;b=0123456789abcdef0123456789abcdef;m=1;t=2;x=3", seqnum_id,
                     (unsigned long long)seqnum);
}

/* The origin of entry (seqnum_id, seqnum) for tag "t". */
static void origin_of(struct journal_numbering *n, const char *id, uint64_t seqnum,
                      uint64_t *source, uint64_t *offset, bool *renumbered)
{
    char *cursor = cursor_of(id, seqnum);
    ck_assert(journal_numbering_origin(n, cursor, "t", source, offset, renumbered));
    free(cursor);
}

#define ID_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define ID_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

START_TEST(test_numbering_same_entry_same_origin)
{
    /* A first run reads 1..10; a restart from the checkpoint at 4 reads
     * 5..10 again: each gets the origin it had. */
    struct journal_numbering *first = journal_numbering_new();
    uint64_t sources[11], offsets[11], source, offset;
    bool renumbered;
    for (uint64_t i = 1; i <= 10; i++) {
        origin_of(first, ID_A, i, &sources[i], &offsets[i], &renumbered);
        ck_assert(!renumbered);
        ck_assert_uint_eq(offsets[i], i);
        ck_assert_uint_eq(sources[i], journal_source_id(ID_A, "t", 0));
    }
    journal_numbering_free(first);

    struct journal_numbering *again = journal_numbering_new();
    char *checkpoint = cursor_of(ID_A, 4);
    journal_numbering_seed(again, checkpoint);
    free(checkpoint);
    for (uint64_t i = 5; i <= 10; i++) {
        origin_of(again, ID_A, i, &source, &offset, &renumbered);
        ck_assert(!renumbered);
        ck_assert_uint_eq(source, sources[i]);
        ck_assert_uint_eq(offset, offsets[i]);
    }
    /* Another seqnum_id is numbered on its own. */
    origin_of(again, ID_B, 1, &source, &offset, &renumbered);
    ck_assert(!renumbered);
    ck_assert_uint_eq(source, journal_source_id(ID_B, "t", 0));
    journal_numbering_free(again);
}
END_TEST

/* journald before 254, restarted, hands out 5 and 6 again (systemd's
 * test-journal.c "sequence_numbers"): the second 5 and what follows get
 * origins no entry had, and the origins of one source still grow. */
START_TEST(test_numbering_reused_numbers_get_new_origins)
{
    struct journal_numbering *n = journal_numbering_new();
    uint64_t seen_sources[8], seen_offsets[8], source, offset;
    size_t count = 0;
    bool renumbered;
    static const uint64_t numbers[] = {1, 2, 5, 6, 5, 6, 7};
    static const bool expect_renumbered[] = {false, false, false, false, true, false, false};
    for (size_t i = 0; i < sizeof numbers / sizeof *numbers; i++) {
        origin_of(n, ID_A, numbers[i], &source, &offset, &renumbered);
        ck_assert_msg(renumbered == expect_renumbered[i], "entry %zu", i);
        for (size_t k = 0; k < count; k++)
            ck_assert_msg(seen_sources[k] != source || seen_offsets[k] != offset,
                          "entry %zu has the origin of entry %zu", i, k);
        if (count > 0 && seen_sources[count - 1] == source)
            ck_assert_uint_gt(offset, seen_offsets[count - 1]);
        seen_sources[count] = source;
        seen_offsets[count++] = offset;
    }
    /* A number at or below the checkpoint's, after a restart, too. */
    struct journal_numbering *again = journal_numbering_new();
    char *checkpoint = cursor_of(ID_A, 6);
    journal_numbering_seed(again, checkpoint);
    free(checkpoint);
    origin_of(again, ID_A, 6, &source, &offset, &renumbered);
    ck_assert(renumbered);
    ck_assert_uint_ne(source, journal_source_id(ID_A, "t", 0));
    journal_numbering_free(again);
    journal_numbering_free(n);
}
END_TEST

START_TEST(test_numbering_bounded)
{
    struct journal_numbering *n = journal_numbering_new();
    uint64_t source, offset;
    bool renumbered;
    char id[JOURNAL_SEQNUM_ID_LEN + 1];
    for (int i = 0; i <= JOURNAL_NUMBERING_MAX; i++) {
        snprintf(id, sizeof id, "%032x", i);
        origin_of(n, id, 10, &source, &offset, &renumbered);
        ck_assert(!renumbered);
    }
    /* The first seqnum_id was the least recently used: forgotten, so 10 is
     * new again; the latest one still remembers. */
    snprintf(id, sizeof id, "%032x", 0);
    origin_of(n, id, 10, &source, &offset, &renumbered);
    ck_assert(!renumbered);
    snprintf(id, sizeof id, "%032x", JOURNAL_NUMBERING_MAX);
    origin_of(n, id, 10, &source, &offset, &renumbered);
    ck_assert(renumbered);
    ck_assert(!journal_numbering_origin(n, "not a cursor", "t", &source, &offset, &renumbered));
    journal_numbering_free(n);
}
END_TEST

/* ---- the checkpoint file ---- */

static char *encoded(const char *cursor, size_t *len)
{
    struct buf out = BUF_INIT;
    journal_checkpoint_encode(cursor, &out);
    *len = out.len;
    buf_cstr(&out);
    return out.data;
}

START_TEST(test_checkpoint_round_trip)
{
    size_t len;
    char *error = NULL, *cursor = NULL;
    char *text = encoded(CURSOR, &len);
    ck_assert_ptr_nonnull(strstr(text, "skiff-systemd-checkpoint 1\ncursor " CURSOR "\nend "));
    ck_assert_int_eq(journal_checkpoint_decode(text, len, &cursor, FRESH(error)), 0);
    ck_assert_str_eq(cursor, CURSOR);
    free(cursor);
    free(text);

    text = encoded(NULL, &len);
    ck_assert_ptr_nonnull(strstr(text, "\nhead\nend "));
    ck_assert_int_eq(journal_checkpoint_decode(text, len, &cursor, FRESH(error)), 0);
    ck_assert_ptr_null(cursor);
    free(text);
    free(error);
}
END_TEST

/* Every proper prefix of a valid file, and every byte of it changed, is
 * refused: a torn or damaged file never yields a position. */
START_TEST(test_checkpoint_decode_is_strict)
{
    size_t len;
    char *text = encoded(CURSOR, &len);
    char *error = NULL, *cursor = NULL;
    for (size_t cut = 0; cut < len; cut++) {
        ck_assert_int_eq(journal_checkpoint_decode(text, cut, &cursor, FRESH(error)), -1);
        ck_assert_ptr_null(cursor);
        ck_assert_ptr_nonnull(error);
    }
    for (size_t i = 0; i < len; i++) {
        char *copy = xstrndup(text, len);
        copy[i] ^= 0x01;
        ck_assert_msg(journal_checkpoint_decode(copy, len, &cursor, FRESH(error)) == -1,
                      "byte %zu flipped: accepted", i);
        free(copy);
    }
    char *longer = xasprintf("%sx", text);
    ck_assert_int_eq(journal_checkpoint_decode(longer, len + 1, &cursor, FRESH(error)), -1);
    ck_assert_str_eq(error, "line 4: unexpected data after the end line");
    free(longer);
    free(text);
    free(error);
}
END_TEST

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

START_TEST(test_checkpoint_load_and_save)
{
    char *dir = temp_dir_make("systemd-checkpoint");
    char *path = xasprintf("%s/systemd/in.checkpoint", dir);
    char *error = NULL, *cursor = NULL;

    /* No file (the folder is made): none. */
    ck_assert_int_eq(journal_checkpoint_load(path, "test", &cursor, FRESH(error)), 0);
    ck_assert_ptr_null(cursor);
    ck_assert_int_eq(journal_checkpoint_save(path, CURSOR, FRESH(error)), 0);
    ck_assert_int_eq(journal_checkpoint_load(path, "test", &cursor, FRESH(error)), 1);
    ck_assert_str_eq(cursor, CURSOR);
    free(cursor);
    ck_assert_int_eq(journal_checkpoint_save(path, NULL, FRESH(error)), 0);
    ck_assert_int_eq(journal_checkpoint_load(path, "test", &cursor, FRESH(error)), 1);
    ck_assert_ptr_null(cursor);

    /* A damaged file is moved aside: the next load finds none, the next
     * save does not overwrite what can be looked at. */
    write_text(path, "skiff-systemd-checkpoint 1\ncursor x\nend 00000000\n");
    ck_assert_int_eq(journal_checkpoint_load(path, "test", &cursor, FRESH(error)), 0);
    char *corrupt = xasprintf("%s.corrupt", path);
    ck_assert_int_eq(access(corrupt, F_OK), 0);
    ck_assert_int_ne(access(path, F_OK), 0);
    free(corrupt);

    /* A folder that cannot be made is an error naming it. */
    char *blocked = xasprintf("%s/file", dir);
    write_text(blocked, "");
    char *under = xasprintf("%s/sub/in.checkpoint", blocked);
    ck_assert_int_eq(journal_checkpoint_load(under, "test", &cursor, FRESH(error)), -1);
    ck_assert_ptr_nonnull(strstr(error, "cannot create folder"));
    free(under);
    free(blocked);
    free(error);
    free(path);
    temp_dir_remove(dir);
}
END_TEST

Suite *systemd_suite(void)
{
    Suite *s = suite_create("systemd");
    TCase *tc = tcase_create("matches");
    tcase_add_test(tc, test_match_check);
    tcase_add_test(tc, test_match_check_agrees_with_sd_journal);
    tcase_add_test(tc, test_matches_describe);
    suite_add_tcase(s, tc);
    tc = tcase_create("origin");
    tcase_add_test(tc, test_cursor_seqnum);
    tcase_add_test(tc, test_source_id);
    tcase_add_test(tc, test_numbering_same_entry_same_origin);
    tcase_add_test(tc, test_numbering_reused_numbers_get_new_origins);
    tcase_add_test(tc, test_numbering_bounded);
    suite_add_tcase(s, tc);
    tc = tcase_create("checkpoint");
    tcase_add_test(tc, test_checkpoint_round_trip);
    tcase_add_test(tc, test_checkpoint_decode_is_strict);
    tcase_add_test(tc, test_checkpoint_load_and_save);
    suite_add_tcase(s, tc);
    return s;
}
