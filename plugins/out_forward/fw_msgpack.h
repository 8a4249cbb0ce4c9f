/* MessagePack (https://github.com/msgpack/msgpack/blob/master/spec.md) for
 * the forward output: a writer of the values skiff sends, and a bounded
 * reader of what a server answers. The reader never allocates and never
 * reads past the bytes it is given; containers nest at most
 * FW_MP_MAX_DEPTH deep. Internal to the plugin (and its tests). */
#ifndef SKIFF_FW_MSGPACK_H
#define SKIFF_FW_MSGPACK_H

#include "buf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FW_MP_MAX_DEPTH 32

/* ---- writing ---- */

void fw_mp_write_nil(struct buf *out);
void fw_mp_write_bool(struct buf *out, bool b);
/* The shortest form: positive/negative fixint, uint 8..64, int 8..64. */
void fw_mp_write_int(struct buf *out, int64_t i);
void fw_mp_write_uint(struct buf *out, uint64_t u);
void fw_mp_write_double(struct buf *out, double d);
void fw_mp_write_str_header(struct buf *out, uint32_t len);
/* A str of `len` bytes, as they are (the caller checked them). */
void fw_mp_write_str(struct buf *out, const char *s, size_t len);
/* A str with invalid UTF-8 replaced by U+FFFD, each maximal ill-formed
 * subpart once (as the JSON writer does); `*invalid` counts them. */
void fw_mp_write_text(struct buf *out, const char *s, size_t len, uint64_t *invalid);
void fw_mp_write_bin_header(struct buf *out, uint32_t len);
void fw_mp_write_array_header(struct buf *out, uint32_t count);
void fw_mp_write_map_header(struct buf *out, uint32_t count);
/* Fluentd's EventTime: ext type 0 as fixext 8, seconds and nanoseconds as
 * two unsigned 32-bit big-endian integers (forward protocol v1, "EventTime
 * Ext Format"). Seconds outside 0..2^32-1 are clamped. */
void fw_mp_write_event_time(struct buf *out, int64_t sec, uint32_t nsec);
/* A bin 32 header whose length is filled in later (fw_mp_patch_bin32):
 * returns where it starts. */
size_t fw_mp_write_bin32_placeholder(struct buf *out);
void fw_mp_patch_bin32(struct buf *out, size_t at, uint32_t len);

/* ---- reading ---- */

enum fw_mp_type {
    FW_MP_NIL,
    FW_MP_BOOL,
    FW_MP_INT,   /* negative, in `integer` */
    FW_MP_UINT,  /* non-negative, in `uinteger` */
    FW_MP_FLOAT, /* float 32 or 64, in `real` */
    FW_MP_STR,
    FW_MP_BIN,
    FW_MP_ARRAY, /* `count` elements follow */
    FW_MP_MAP,   /* `count` key-value pairs follow */
    FW_MP_EXT,
};

/* One value's header: scalars whole, str/bin/ext as a pointer into the
 * data, arrays and maps as their count (their elements follow). */
struct fw_mp_item {
    enum fw_mp_type type;
    bool boolean;
    int64_t integer;
    uint64_t uinteger;
    double real;
    uint32_t count;
    int8_t ext_type;
    const uint8_t *bytes; /* str, bin, ext payload */
    uint32_t len;
};

enum fw_mp_status {
    FW_MP_OK = 0,
    FW_MP_INCOMPLETE = 1, /* the data ends inside the value: more may come */
    FW_MP_MALFORMED = -1, /* 0xc1, or nested deeper than FW_MP_MAX_DEPTH */
};

/* Reads the header at *pos into *item and moves *pos past it (past the
 * payload for str, bin and ext; to the first element for containers). On
 * anything but FW_MP_OK, *pos is unchanged. */
enum fw_mp_status fw_mp_read(const uint8_t *data, size_t len, size_t *pos, struct fw_mp_item *item);
/* Moves *pos past one whole value, containers included. */
enum fw_mp_status fw_mp_skip(const uint8_t *data, size_t len, size_t *pos);
/* Whether data[0..len) starts with one whole value; its size in *size. */
enum fw_mp_status fw_mp_measure(const uint8_t *data, size_t len, size_t *size);
/* Whether a str or bin item holds exactly the text `s`. */
bool fw_mp_item_is(const struct fw_mp_item *item, const char *s);

#endif
