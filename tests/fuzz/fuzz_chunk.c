/* Fuzz target: reading chunk data (the record decoder and the JSON writer on
 * top of it), as an output does with a chunk that came back from disk. Every
 * record the reader accepts must also decode and render. The same bytes are
 * then read as a chunk whose fields are known well formed (fields_checked),
 * where chunk_next reads only lengths and headers and the walkers are the
 * only check of the fields: the decoder, the JSON writer and the forward
 * entry writer must each accept or refuse every record alike, without
 * reading past it, and accept each record the full check accepted. Where
 * the JSON writer says it left out a member (the Elasticsearch output's
 * time_key), the output's own lookup finds that one. */
#include "fuzz.h"

#include "chunk.h"
#include "json.h"
#include "plugins/out_elasticsearch/es_field.h"
#include "plugins/out_forward/fw_message.h"

#include <stdlib.h>
#include <string.h>

/* The member json_write_record_own_time says it left out is the one the
 * Elasticsearch output's field lookup finds, and decodes. */
static void check_own_time(const struct record_view *view, struct buf *out)
{
    size_t own, found_pos = 0;
    buf_reset(out);
    if (json_write_record_own_time(out, view, NULL, "log", NULL, &own) < 0)
        return;
    int found = es_field_member(view, "log", &found_pos);
    if (found != (own != SIZE_MAX) || (found == 1 && found_pos != own))
        abort();
    struct value v;
    if (found == 1) {
        if (codec_decode_value(view->fields, view->fields_len, &found_pos, &v) < 0)
            abort();
        value_free(&v);
    }
}

/* Returns whether the walkers accept the record (abort if they disagree). */
static bool walkers_accept(const struct record_view *view, struct buf *out)
{
    struct value_map fields = {0};
    bool decoded = codec_decode_fields(view->fields, view->fields_len, &fields) == 0;
    value_map_free(&fields);
    buf_reset(out);
    bool rendered = json_write_record(out, view, NULL, "@timestamp", NULL) == 0;
    buf_reset(out);
    uint64_t invalid = 0;
    bool entry = fw_entry_write(out, view, NULL, &invalid) == 0;
    if (decoded != rendered || decoded != entry)
        abort();
    check_own_time(view, out);
    return decoded;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct chunk chunk;
    struct record_view view;
    struct buf out = BUF_INIT;
    size_t pos = 0;
    size_t accepted = 0;

    memset(&chunk, 0, sizeof chunk);
    chunk.data.data = (char *)data;
    chunk.data.len = size;
    while (chunk_next(&chunk, &pos, &view) == 1) {
        if (!walkers_accept(&view, &out))
            abort();
        accepted++;
    }

    chunk.fields_checked = true;
    pos = 0;
    for (size_t i = 0; chunk_next(&chunk, &pos, &view) == 1; i++) {
        if (!walkers_accept(&view, &out) && i < accepted)
            abort();
    }
    buf_free(&out);
    return 0;
}
