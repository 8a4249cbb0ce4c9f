/* The libFuzzer entry point every target defines; replay.c calls it for each
 * file of a corpus so that the corpora run as regression tests with gcc. */
#ifndef SKIFF_FUZZ_H
#define SKIFF_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
