/* A chunk as a forward message (fw_message.c): [tag, bin entries,
 * {chunk, size}] with each record an Entry [EventTime, {fields...,
 * attachments...}] whose bytes are spelled out here; the gzip form
 * inflates to the same entries; a chunk malformed after some records sends
 * those and counts the rest, also when the damage is inside the fields of a
 * chunk whose fields are not walked before (fields_checked). */
#include "suites.h"

#include "chunk.h"
#include "chunk_fixture.h"
#include "gzip.h"
#include "plugins/out_forward/fw_message.h"
#include "plugins/out_forward/fw_msgpack.h"

#include <libdeflate.h>
#include <string.h>

static struct buf msg, scratch, expected;
static struct chunk *chunk;

static void setup(void)
{
    msg = scratch = expected = (struct buf)BUF_INIT;
    chunk = chunk_new(1, 0, "kube.app", 1, 0);
}

static void teardown(void)
{
    buf_free(&msg);
    buf_free(&scratch);
    buf_free(&expected);
    chunk_free(chunk);
}

static void put(struct value_map *map, const char *key, struct value v)
{
    value_map_set(map, key, strlen(key), &v);
}

/* Record 0: every type; record 1: invalid UTF-8 and pod metadata attached. */
static void fill_chunk(void)
{
    struct record rec;
    record_init(&rec);
    rec.time = (struct record_time){1700000000, 123456789};
    put(&rec.fields, "msg", value_cstring("hi"));
    put(&rec.fields, "n", value_int(-33));
    put(&rec.fields, "f", value_float(1.5));
    put(&rec.fields, "ok", value_bool(true));
    put(&rec.fields, "none", value_null());
    struct value list = value_array_new();
    struct value one = value_int(1);
    value_array_push(&list.as.array, &one);
    struct value inner = value_map_new();
    put(&inner.as.map, "l", list);
    put(&rec.fields, "m", inner);
    ck_assert_uint_gt(chunk_append(chunk, &rec), 0);
    record_free(&rec);

    record_init(&rec);
    rec.time = (struct record_time){1, 2};
    put(&rec.fields, "log", value_string("a\xff", 2));
    struct value pod = value_map_new();
    put(&pod.as.map, "pod", value_cstring("p"));
    struct attachment *a = attachment_new("kubernetes", &pod);
    ck_assert_int_eq(record_attach(&rec, a), 0);
    attachment_unref(a);
    ck_assert_uint_gt(chunk_append(chunk, &rec), 0);
    record_free(&rec);
    chunk_seal(chunk);
}

/* The entries of fill_chunk, written from MessagePack's formats by hand. */
static void expected_entries(void)
{
    static const char first[] =
        "\x92"                                     /* [time, record] */
        "\xd7\x00\x65\x53\xf1\x00\x07\x5b\xcd\x15" /* EventTime 1700000000.123456789 */
        "\x86"                                     /* 6 fields */
        "\xa3msg\xa2hi"
        "\xa1n\xd0\xdf"
        "\xa1"
        "f\xcb\x3f\xf8\x00\x00\x00\x00\x00\x00"
        "\xa2ok\xc3"
        "\xa4none\xc0"
        "\xa1m\x81\xa1l\x91\x01";
    static const char second[] = "\x92"
                                 "\xd7\x00\x00\x00\x00\x01\x00\x00\x00\x02"
                                 "\x82"
                                 "\xa3log\xa4"
                                 "a\xef\xbf\xbd"
                                 "\xaakubernetes\x81\xa3pod\xa1p";
    buf_append(&expected, first, sizeof first - 1);
    buf_append(&expected, second, sizeof second - 1);
}

/* Reads [tag, bin, options] and returns the bin's bytes. */
static struct fw_mp_item read_message(size_t *pos, const char *tag)
{
    const uint8_t *data = (const uint8_t *)msg.data;
    struct fw_mp_item item;
    ck_assert_int_eq(fw_mp_read(data, msg.len, pos, &item), FW_MP_OK);
    ck_assert(item.type == FW_MP_ARRAY && item.count == 3);
    ck_assert_int_eq(fw_mp_read(data, msg.len, pos, &item), FW_MP_OK);
    ck_assert(fw_mp_item_is(&item, tag));
    ck_assert_int_eq(fw_mp_read(data, msg.len, pos, &item), FW_MP_OK);
    ck_assert_int_eq(item.type, FW_MP_BIN);
    return item;
}

static void expect_option(size_t *pos, const char *key, const char *str, uint64_t number)
{
    const uint8_t *data = (const uint8_t *)msg.data;
    struct fw_mp_item k, v;
    ck_assert_int_eq(fw_mp_read(data, msg.len, pos, &k), FW_MP_OK);
    ck_assert(fw_mp_item_is(&k, key));
    ck_assert_int_eq(fw_mp_read(data, msg.len, pos, &v), FW_MP_OK);
    if (str)
        ck_assert(fw_mp_item_is(&v, str));
    else
        ck_assert(v.type == FW_MP_UINT && v.uinteger == number);
}

START_TEST(packed_forward_with_event_time_and_options)
{
    fill_chunk();
    expected_entries();
    struct fw_message_stats stats;
    fw_message_build(&msg, &scratch, chunk, "kube.app", "AAECAwQFBgcICQoLDA0ODw==", NULL, &stats);
    ck_assert_uint_eq(stats.records, 2);
    ck_assert_uint_eq(stats.malformed, 0);
    ck_assert_uint_eq(stats.invalid_utf8, 1);
    ck_assert_uint_eq(stats.entries_bytes, expected.len);
    size_t pos = 0;
    struct fw_mp_item bin = read_message(&pos, "kube.app");
    ck_assert_uint_eq(bin.len, expected.len);
    ck_assert_mem_eq(bin.bytes, expected.data, expected.len);
    struct fw_mp_item options;
    ck_assert_int_eq(fw_mp_read((const uint8_t *)msg.data, msg.len, &pos, &options), FW_MP_OK);
    ck_assert(options.type == FW_MP_MAP && options.count == 2);
    expect_option(&pos, "chunk", "AAECAwQFBgcICQoLDA0ODw==", 0);
    expect_option(&pos, "size", NULL, 2);
    ck_assert_uint_eq(pos, msg.len);
}
END_TEST

START_TEST(compressed_packed_forward_inflates_to_the_same_entries)
{
    fill_chunk();
    expected_entries();
    struct gzip_compressor *gzip = gzip_compressor_new();
    struct fw_message_stats stats;
    fw_message_build(&msg, &scratch, chunk, "fixed", NULL, gzip, &stats);
    gzip_compressor_free(gzip);
    size_t pos = 0;
    struct fw_mp_item bin = read_message(&pos, "fixed");
    ck_assert_mem_eq(bin.bytes, "\x1f\x8b", 2); /* a gzip member */
    char inflated[1024];
    size_t got = 0;
    struct libdeflate_decompressor *d = libdeflate_alloc_decompressor();
    ck_assert_int_eq(
        libdeflate_gzip_decompress(d, bin.bytes, bin.len, inflated, sizeof inflated, &got),
        LIBDEFLATE_SUCCESS);
    libdeflate_free_decompressor(d);
    ck_assert_uint_eq(got, expected.len);
    ck_assert_mem_eq(inflated, expected.data, got);
    struct fw_mp_item options;
    ck_assert_int_eq(fw_mp_read((const uint8_t *)msg.data, msg.len, &pos, &options), FW_MP_OK);
    ck_assert(options.type == FW_MP_MAP && options.count == 2); /* no chunk id: no ack asked */
    expect_option(&pos, "size", NULL, 2);
    expect_option(&pos, "compressed", "gzip", 0);
}
END_TEST

/* fill_chunk's two records and a third, {"x":"y"}. */
static void fill_chunk_with_third_record(void)
{
    fill_chunk();
    struct record rec;
    record_init(&rec);
    put(&rec.fields, "x", value_cstring("y"));
    ck_assert_uint_gt(chunk_append(chunk, &rec), 0);
    record_free(&rec);
}

START_TEST(a_malformed_chunk_sends_what_it_can_read)
{
    fill_chunk_with_third_record();
    chunk->data.len -= 3; /* the third record's body cut short */
    struct fw_message_stats stats;
    fw_message_build(&msg, &scratch, chunk, "t", NULL, NULL, &stats);
    ck_assert_uint_eq(stats.records, 2);
    ck_assert_uint_eq(stats.malformed, 1);
    size_t size = 0;
    ck_assert_int_eq(fw_mp_measure((const uint8_t *)msg.data, msg.len, &size), FW_MP_OK);
    ck_assert_uint_eq(size, msg.len);
}
END_TEST

/* The entries hold exactly one entry, the first of fill_chunk's. */
static void expect_first_entry_only(void)
{
    expected_entries();
    size_t pos = 0;
    struct fw_mp_item bin = read_message(&pos, "t");
    size_t size = 0;
    ck_assert_int_eq(fw_mp_measure(bin.bytes, bin.len, &size), FW_MP_OK);
    ck_assert_uint_eq(size, bin.len);
    ck_assert_uint_lt(bin.len, expected.len);
    ck_assert_mem_eq(bin.bytes, expected.data, bin.len);
}

/* A chunk filled by chunk_append, its second record's fields damaged in
 * memory: chunk_next reads past them, the entry writer finds the damage and
 * the message holds what comes before it, the rest counted as malformed. */
START_TEST(corrupt_fields_in_a_checked_chunk_send_what_comes_before)
{
    fill_chunk_with_third_record();
    ck_assert(chunk->fields_checked);
    fixture_corrupt_fields(chunk, 1);
    struct fw_message_stats stats;
    fw_message_build(&msg, &scratch, chunk, "t", NULL, NULL, &stats);
    ck_assert_uint_eq(stats.records, 1);
    ck_assert_uint_eq(stats.malformed, 2);
    expect_first_entry_only();
}
END_TEST

/* The entry writer allows the nesting the decoder allows (CODEC_MAX_DEPTH
 * maps counting the record's own) and no more. */
START_TEST(nesting_past_the_decoders_limit_is_malformed)
{
    fixture_append_nested(chunk, CODEC_MAX_DEPTH);
    fixture_append_nested(chunk, CODEC_MAX_DEPTH + 1);
    struct fw_message_stats stats;
    fw_message_build(&msg, &scratch, chunk, "t", NULL, NULL, &stats);
    ck_assert_uint_eq(stats.records, 1);
    ck_assert_uint_eq(stats.malformed, 1);
    /* The entries are the first record's alone. */
    struct record_view view;
    size_t at = 0;
    ck_assert_int_eq(chunk_next(chunk, &at, &view), 1);
    uint64_t invalid = 0;
    ck_assert_int_eq(fw_entry_write(&expected, &view, chunk->attachments, &invalid), 0);
    size_t pos = 0;
    struct fw_mp_item bin = read_message(&pos, "t");
    ck_assert_uint_eq(bin.len, expected.len);
    ck_assert_mem_eq(bin.bytes, expected.data, bin.len);
}
END_TEST

Suite *forward_message_suite(void)
{
    Suite *s = suite_create("forward_message");
    TCase *tc = tcase_create("message");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, packed_forward_with_event_time_and_options);
    tcase_add_test(tc, compressed_packed_forward_inflates_to_the_same_entries);
    tcase_add_test(tc, a_malformed_chunk_sends_what_it_can_read);
    tcase_add_test(tc, corrupt_fields_in_a_checked_chunk_send_what_comes_before);
    tcase_add_test(tc, nesting_past_the_decoders_limit_is_malformed);
    suite_add_tcase(s, tc);
    return s;
}
