/* MessagePack writer and bounded reader (fw_msgpack.h). Formats and their
 * first bytes are those of the MessagePack specification's "Formats"
 * section; the reader checks every length against the data it has. */
#include "fw_msgpack.h"

#include "utf8.h"

#include <string.h>

static void put_be(struct buf *out, uint64_t v, unsigned bytes)
{
    char b[8];
    for (unsigned i = 0; i < bytes; i++)
        b[i] = (char)(v >> (8 * (bytes - 1 - i)));
    buf_append(out, b, bytes);
}

static void put_tagged(struct buf *out, uint8_t tag, uint64_t v, unsigned bytes)
{
    buf_append_byte(out, (char)tag);
    put_be(out, v, bytes);
}

void fw_mp_write_nil(struct buf *out)
{
    buf_append_byte(out, (char)0xc0);
}

void fw_mp_write_bool(struct buf *out, bool b)
{
    buf_append_byte(out, (char)(b ? 0xc3 : 0xc2));
}

void fw_mp_write_uint(struct buf *out, uint64_t u)
{
    if (u < 0x80)
        buf_append_byte(out, (char)u);
    else if (u <= UINT8_MAX)
        put_tagged(out, 0xcc, u, 1);
    else if (u <= UINT16_MAX)
        put_tagged(out, 0xcd, u, 2);
    else if (u <= UINT32_MAX)
        put_tagged(out, 0xce, u, 4);
    else
        put_tagged(out, 0xcf, u, 8);
}

void fw_mp_write_int(struct buf *out, int64_t i)
{
    if (i >= 0)
        fw_mp_write_uint(out, (uint64_t)i);
    else if (i >= -32)
        buf_append_byte(out, (char)(uint8_t)i); /* negative fixint 0xe0..0xff */
    else if (i >= INT8_MIN)
        put_tagged(out, 0xd0, (uint64_t)i, 1);
    else if (i >= INT16_MIN)
        put_tagged(out, 0xd1, (uint64_t)i, 2);
    else if (i >= INT32_MIN)
        put_tagged(out, 0xd2, (uint64_t)i, 4);
    else
        put_tagged(out, 0xd3, (uint64_t)i, 8);
}

void fw_mp_write_double(struct buf *out, double d)
{
    uint64_t bits;
    memcpy(&bits, &d, sizeof bits);
    put_tagged(out, 0xcb, bits, 8);
}

void fw_mp_write_str_header(struct buf *out, uint32_t len)
{
    if (len < 32)
        buf_append_byte(out, (char)(0xa0 | len));
    else if (len <= UINT8_MAX)
        put_tagged(out, 0xd9, len, 1);
    else if (len <= UINT16_MAX)
        put_tagged(out, 0xda, len, 2);
    else
        put_tagged(out, 0xdb, len, 4);
}

void fw_mp_write_str(struct buf *out, const char *s, size_t len)
{
    fw_mp_write_str_header(out, (uint32_t)len);
    buf_append(out, s, len);
}

/* The length of the valid prefix of s (all of it when it is valid). */
static size_t utf8_valid_prefix(const unsigned char *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        if (s[i] < 0x80) {
            i++;
            continue;
        }
        bool valid;
        size_t n = utf8_sequence(s + i, len - i, &valid);
        if (!valid)
            return i;
        i += n;
    }
    return len;
}

/* Appends s with each maximal ill-formed subpart replaced by U+FFFD, or
 * only measures what that would take when out is NULL. */
static size_t append_replaced(struct buf *out, const unsigned char *s, size_t len,
                              uint64_t *invalid)
{
    size_t written = 0;
    size_t i = 0;
    while (i < len) {
        bool valid = true;
        size_t n = s[i] < 0x80 ? 1 : utf8_sequence(s + i, len - i, &valid);
        if (out && valid)
            buf_append(out, s + i, n);
        else if (out)
            buf_append(out, "\xef\xbf\xbd", 3);
        if (out && !valid)
            (*invalid)++;
        written += valid ? n : 3;
        i += n;
    }
    return written;
}

void fw_mp_write_text(struct buf *out, const char *s, size_t len, uint64_t *invalid)
{
    const unsigned char *u = (const unsigned char *)s;
    if (utf8_valid_prefix(u, len) == len) {
        fw_mp_write_str(out, s, len);
        return;
    }
    fw_mp_write_str_header(out, (uint32_t)append_replaced(NULL, u, len, invalid));
    append_replaced(out, u, len, invalid);
}

void fw_mp_write_bin_header(struct buf *out, uint32_t len)
{
    if (len <= UINT8_MAX)
        put_tagged(out, 0xc4, len, 1);
    else if (len <= UINT16_MAX)
        put_tagged(out, 0xc5, len, 2);
    else
        put_tagged(out, 0xc6, len, 4);
}

size_t fw_mp_write_bin32_placeholder(struct buf *out)
{
    size_t at = out->len;
    put_tagged(out, 0xc6, 0, 4);
    return at;
}

void fw_mp_patch_bin32(struct buf *out, size_t at, uint32_t len)
{
    for (unsigned k = 0; k < 4; k++)
        out->data[at + 1 + k] = (char)(len >> (8 * (3 - k)));
}

void fw_mp_write_array_header(struct buf *out, uint32_t count)
{
    if (count < 16)
        buf_append_byte(out, (char)(0x90 | count));
    else if (count <= UINT16_MAX)
        put_tagged(out, 0xdc, count, 2);
    else
        put_tagged(out, 0xdd, count, 4);
}

void fw_mp_write_map_header(struct buf *out, uint32_t count)
{
    if (count < 16)
        buf_append_byte(out, (char)(0x80 | count));
    else if (count <= UINT16_MAX)
        put_tagged(out, 0xde, count, 2);
    else
        put_tagged(out, 0xdf, count, 4);
}

void fw_mp_write_event_time(struct buf *out, int64_t sec, uint32_t nsec)
{
    if (sec < 0)
        sec = 0;
    if (sec > (int64_t)UINT32_MAX)
        sec = UINT32_MAX;
    buf_append(out, "\xd7\x00", 2);
    put_be(out, (uint64_t)sec, 4);
    put_be(out, nsec, 4);
}

/* ---- reading ---- */

static uint64_t get_be(const uint8_t *p, unsigned bytes)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < bytes; i++)
        v = v << 8 | p[i];
    return v;
}

static int64_t sign_extend(uint64_t v, unsigned bytes)
{
    unsigned shift = 64 - 8 * bytes;
    return (int64_t)(v << shift) >> shift;
}

/* Reads a length of `bytes` bytes, then that many payload bytes. */
static enum fw_mp_status read_sized(const uint8_t *p, size_t avail, unsigned bytes,
                                    struct fw_mp_item *item, size_t *used)
{
    if (avail < 1 + (size_t)bytes)
        return FW_MP_INCOMPLETE;
    uint64_t n = get_be(p + 1, bytes);
    if (n > avail - 1 - bytes)
        return FW_MP_INCOMPLETE;
    item->len = (uint32_t)n;
    item->bytes = p + 1 + bytes;
    *used = 1 + bytes + (size_t)n;
    return FW_MP_OK;
}

static enum fw_mp_status read_fixed_ext(const uint8_t *p, size_t avail, uint32_t n,
                                        struct fw_mp_item *item, size_t *used)
{
    if (avail < 2 + (size_t)n)
        return FW_MP_INCOMPLETE;
    item->type = FW_MP_EXT;
    item->ext_type = (int8_t)p[1];
    item->bytes = p + 2;
    item->len = n;
    *used = 2 + n;
    return FW_MP_OK;
}

static enum fw_mp_status read_ext(const uint8_t *p, size_t avail, unsigned bytes,
                                  struct fw_mp_item *item, size_t *used)
{
    if (avail < 2 + (size_t)bytes)
        return FW_MP_INCOMPLETE;
    uint64_t n = get_be(p + 1, bytes);
    if (n > avail - 2 - bytes)
        return FW_MP_INCOMPLETE;
    item->type = FW_MP_EXT;
    item->ext_type = (int8_t)p[1 + bytes];
    item->bytes = p + 2 + bytes;
    item->len = (uint32_t)n;
    *used = 2 + bytes + (size_t)n;
    return FW_MP_OK;
}

/* Fixed-width numbers (0xca..0xd3): `bytes` after the tag. */
static enum fw_mp_status read_number(const uint8_t *p, size_t avail, struct fw_mp_item *item,
                                     size_t *used)
{
    static const unsigned widths[] = {4, 8, 1, 2, 4, 8, 1, 2, 4, 8};
    uint8_t tag = p[0];
    unsigned bytes = widths[tag - 0xca];
    if (avail < 1 + (size_t)bytes)
        return FW_MP_INCOMPLETE;
    uint64_t v = get_be(p + 1, bytes);
    *used = 1 + bytes;
    if (tag == 0xca) {
        float f;
        uint32_t bits = (uint32_t)v;
        memcpy(&f, &bits, sizeof f);
        item->type = FW_MP_FLOAT;
        item->real = f;
    } else if (tag == 0xcb) {
        item->type = FW_MP_FLOAT;
        memcpy(&item->real, &v, sizeof item->real);
    } else if (tag <= 0xcf) {
        item->type = FW_MP_UINT;
        item->uinteger = v;
    } else {
        int64_t i = sign_extend(v, bytes);
        item->type = i < 0 ? FW_MP_INT : FW_MP_UINT;
        item->integer = i;
        item->uinteger = (uint64_t)i;
    }
    return FW_MP_OK;
}

static enum fw_mp_status read_container(const uint8_t *p, size_t avail, unsigned bytes,
                                        enum fw_mp_type type, struct fw_mp_item *item, size_t *used)
{
    if (avail < 1 + (size_t)bytes)
        return FW_MP_INCOMPLETE;
    item->type = type;
    item->count = (uint32_t)get_be(p + 1, bytes);
    *used = 1 + bytes;
    return FW_MP_OK;
}

static enum fw_mp_status read_tagged(const uint8_t *p, size_t avail, struct fw_mp_item *item,
                                     size_t *used)
{
    uint8_t tag = p[0];
    switch (tag) {
    case 0xc0:
        item->type = FW_MP_NIL;
        *used = 1;
        return FW_MP_OK;
    case 0xc2:
    case 0xc3:
        item->type = FW_MP_BOOL;
        item->boolean = tag == 0xc3;
        *used = 1;
        return FW_MP_OK;
    case 0xc4:
    case 0xc5:
    case 0xc6:
        item->type = FW_MP_BIN;
        return read_sized(p, avail, 1u << (tag - 0xc4), item, used);
    case 0xc7:
    case 0xc8:
    case 0xc9:
        return read_ext(p, avail, 1u << (tag - 0xc7), item, used);
    case 0xd4:
    case 0xd5:
    case 0xd6:
    case 0xd7:
    case 0xd8:
        return read_fixed_ext(p, avail, 1u << (tag - 0xd4), item, used);
    case 0xd9:
    case 0xda:
    case 0xdb:
        item->type = FW_MP_STR;
        return read_sized(p, avail, 1u << (tag - 0xd9), item, used);
    case 0xdc:
    case 0xdd:
        return read_container(p, avail, tag == 0xdc ? 2 : 4, FW_MP_ARRAY, item, used);
    case 0xde:
    case 0xdf:
        return read_container(p, avail, tag == 0xde ? 2 : 4, FW_MP_MAP, item, used);
    default:
        if (tag >= 0xca && tag <= 0xd3)
            return read_number(p, avail, item, used);
        return FW_MP_MALFORMED; /* 0xc1, never used */
    }
}

enum fw_mp_status fw_mp_read(const uint8_t *data, size_t len, size_t *pos, struct fw_mp_item *item)
{
    if (*pos >= len)
        return FW_MP_INCOMPLETE;
    const uint8_t *p = data + *pos;
    size_t avail = len - *pos;
    uint8_t tag = p[0];
    size_t used = 1;
    enum fw_mp_status status = FW_MP_OK;
    memset(item, 0, sizeof *item);
    if (tag <= 0x7f) {
        item->type = FW_MP_UINT;
        item->uinteger = tag;
        item->integer = tag;
    } else if (tag >= 0xe0) {
        item->type = FW_MP_INT;
        item->integer = (int8_t)tag;
        item->uinteger = (uint64_t)item->integer;
    } else if (tag <= 0x8f) {
        item->type = FW_MP_MAP;
        item->count = tag & 0x0f;
    } else if (tag <= 0x9f) {
        item->type = FW_MP_ARRAY;
        item->count = tag & 0x0f;
    } else if (tag <= 0xbf) {
        item->type = FW_MP_STR;
        item->len = tag & 0x1f;
        if (avail < 1 + (size_t)item->len)
            return FW_MP_INCOMPLETE;
        item->bytes = p + 1;
        used = 1 + item->len;
    } else {
        status = read_tagged(p, avail, item, &used);
    }
    if (status == FW_MP_OK)
        *pos += used;
    return status;
}

/* Skips one value iteratively: `pending[d]` counts the values still to
 * skip at depth d, so a hostile nesting costs no stack. */
enum fw_mp_status fw_mp_skip(const uint8_t *data, size_t len, size_t *pos)
{
    uint64_t pending[FW_MP_MAX_DEPTH + 1];
    int depth = 0;
    size_t at = *pos;
    pending[0] = 1;
    while (depth >= 0) {
        if (pending[depth] == 0) {
            depth--;
            continue;
        }
        pending[depth]--;
        struct fw_mp_item item;
        enum fw_mp_status status = fw_mp_read(data, len, &at, &item);
        if (status != FW_MP_OK)
            return status;
        if (item.type != FW_MP_ARRAY && item.type != FW_MP_MAP)
            continue;
        uint64_t children = item.type == FW_MP_MAP ? 2 * (uint64_t)item.count : item.count;
        if (children == 0)
            continue;
        /* Every element takes at least a byte: a count beyond the data
         * means the value is not all here yet. */
        if (children > len - at)
            return FW_MP_INCOMPLETE;
        if (depth == FW_MP_MAX_DEPTH)
            return FW_MP_MALFORMED;
        pending[++depth] = children;
    }
    *pos = at;
    return FW_MP_OK;
}

enum fw_mp_status fw_mp_measure(const uint8_t *data, size_t len, size_t *size)
{
    size_t pos = 0;
    enum fw_mp_status status = fw_mp_skip(data, len, &pos);
    if (status == FW_MP_OK)
        *size = pos;
    return status;
}

bool fw_mp_item_is(const struct fw_mp_item *item, const char *s)
{
    size_t n = strlen(s);
    return (item->type == FW_MP_STR || item->type == FW_MP_BIN) && item->len == n &&
           memcmp(item->bytes, s, n) == 0;
}
