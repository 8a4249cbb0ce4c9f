/* The implementations of json_write_string's scan (json_escape.c), for the
 * tests and fuzz targets that compare them. Each finds the bytes that need a
 * look a block at a time and gives the same output and counts: AVX2 (32
 * bytes, x86-64 with the instructions, chosen at run time), SSE2 (16 bytes,
 * every x86-64), and the portable one (GCC vector extensions, 16 bytes:
 * NEON on arm64, plain words elsewhere). The best this machine runs is
 * chosen on first use. */
#ifndef SKIFF_JSON_ESCAPE_H
#define SKIFF_JSON_ESCAPE_H

#include <stdbool.h>

enum json_escape_impl {
    JSON_ESCAPE_PORTABLE,
    JSON_ESCAPE_SSE2,
    JSON_ESCAPE_AVX2,
    JSON_ESCAPE_IMPL_COUNT
};

const char *json_escape_impl_name(enum json_escape_impl impl);
/* Built into this binary and supported by this CPU. */
bool json_escape_impl_available(enum json_escape_impl impl);
/* Makes json_write_string use `impl` from now on, on every thread (tests and
 * fuzz targets, before or between writes, never during one). Returns 0, or
 * -1 if it is not available (nothing changes). */
int json_escape_impl_force(enum json_escape_impl impl);
enum json_escape_impl json_escape_impl_current(void);

#endif
