/* gzip compression with ISA-L (see gzip.h). */
#include "gzip.h"

#include "log.h"
#include "xalloc.h"

#include <isa-l/igzip_lib.h>
#include <stdint.h>
#include <stdlib.h>

/* Level 1 without a level buffer: in one-shot mode ISA-L allows it, and on
 * the benchmark's bodies the 86-282 KiB level buffers bought neither speed
 * nor ratio (7.67 either way; tests/bench/README.md). Level 2 is 1.4 %
 * smaller for a 332 KiB buffer per compressor. */
enum { GZIP_LEVEL = 1 };

struct gzip_compressor {
    struct isal_zstream stream; /* about 80 KiB: the level 1 hash table */
};

struct gzip_compressor *gzip_compressor_new(void)
{
    return xcalloc(1, sizeof(struct gzip_compressor));
}

void gzip_compressor_free(struct gzip_compressor *gz)
{
    free(gz);
}

/* gzip's header and trailer are 18 bytes; the stored-block fallback adds 5
 * bytes per 65,535 bytes of input. The rest is room for the deflate header
 * ISA-L may write before it falls back to stored blocks. */
size_t gzip_compress_bound(size_t len)
{
    return len + (len / 65535 + 1) * 5 + 18 + ISAL_DEF_MAX_HDR_SIZE + 64;
}

size_t gzip_compress_append(struct gzip_compressor *gz, const void *data, size_t len,
                            struct buf *out)
{
    /* isal_zstream counts in 32 bits; bodies are bounded far below (the
     * largest is batch_max_bytes plus a record). */
    if (len > UINT32_MAX / 2) {
        log_error("gzip", "cannot compress %zu bytes at once", len);
        abort();
    }
    size_t bound = gzip_compress_bound(len);
    buf_reserve(out, bound);
    struct isal_zstream *s = &gz->stream;
    isal_deflate_stateless_init(s);
    s->level = GZIP_LEVEL;
    s->gzip_flag = IGZIP_GZIP;
    s->end_of_stream = 1;
    s->flush = NO_FLUSH;
    s->next_in = (uint8_t *)data;
    s->avail_in = (uint32_t)len;
    s->next_out = (uint8_t *)out->data + out->len;
    s->avail_out = (uint32_t)bound;
    int rc = isal_deflate_stateless(s);
    if (rc != COMP_OK || s->avail_in != 0) {
        log_error("gzip", "ISA-L failed to compress %zu bytes (error %d)", len, rc);
        abort();
    }
    out->len += s->total_out;
    return s->total_out;
}
