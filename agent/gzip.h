/* gzip compression of whole request bodies (the Elasticsearch output's
 * `_bulk` bodies, the forward output's CompressedPackedForward entries),
 * with ISA-L's igzip at level 1: on skiff's bodies it is about 2.8 times as
 * fast as libdeflate's level 1 for the same ratio (tests/bench/README.md,
 * "gzip"), and with gzip on, compression is the largest cost of the output.
 * One compressor per thread; it holds no data between calls. */
#ifndef SKIFF_GZIP_H
#define SKIFF_GZIP_H

#include "buf.h"

#include <stddef.h>

struct gzip_compressor;

struct gzip_compressor *gzip_compressor_new(void);
void gzip_compressor_free(struct gzip_compressor *gz);

/* The most bytes gzip_compress_append can add for `len` bytes of input:
 * incompressible input is stored, at 5 bytes per stored block. */
size_t gzip_compress_bound(size_t len);

/* Appends the gzip member (header, deflate data, CRC-32 and size) of
 * `data` to `out`. Returns the bytes appended, never 0: with room for
 * gzip_compress_bound reserved, the compressor cannot run out of space, so
 * a failure is a bug and aborts rather than sending a corrupt body. */
size_t gzip_compress_append(struct gzip_compressor *gz, const void *data, size_t len,
                            struct buf *out);

#endif
