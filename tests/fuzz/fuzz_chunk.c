/* Fuzz target: reading chunk data (the record decoder and the JSON writer on
 * top of it), as an output does with a chunk that came back from disk. Every
 * record the reader accepts must also decode and render. */
#include "fuzz.h"

#include "chunk.h"
#include "json.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct chunk chunk;
    struct record_view view;
    struct buf json = BUF_INIT;
    size_t pos = 0;

    memset(&chunk, 0, sizeof chunk);
    chunk.data.data = (char *)data;
    chunk.data.len = size;
    while (chunk_next(&chunk, &pos, &view) == 1) {
        struct value_map fields = {0};
        if (codec_decode_fields(view.fields, view.fields_len, &fields) < 0)
            abort();
        value_map_free(&fields);
        buf_reset(&json);
        if (json_write_record(&json, &view, NULL, "@timestamp", NULL) < 0)
            abort();
    }
    buf_free(&json);
    return 0;
}
