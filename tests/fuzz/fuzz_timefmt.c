/* Fuzz target: timestamp parsing. The first line is a time format, the rest
 * the text to parse with it; the whole input also goes through the RFC 3339
 * fast path, and a time that path accepts must survive a round trip through
 * json_write_time. */
#include "fuzz.h"

#include "buf.h"
#include "json.h"
#include "timefmt.h"
#include "xalloc.h"

#include <stdlib.h>
#include <string.h>

#define NOW 1714521600 /* 2024-05-01T00:00:00Z */
#define TIME_MIN (-62167219200LL)
#define TIME_MAX 253402300799LL

static void check_time(struct record_time t)
{
    if (t.nsec >= 1000000000u)
        abort();
}

static void fuzz_format(const char *data, size_t size)
{
    const char *newline = memchr(data, '\n', size);
    if (!newline)
        return;
    char *format = xstrndup(data, (size_t)(newline - data));
    char *error = NULL;
    struct time_format *fmt = timefmt_compile(format, &error);
    free(format);
    if (!fmt) {
        if (!error)
            abort(); /* a rejected format must say why */
        free(error);
        return;
    }
    const char *text = newline + 1;
    size_t len = size - (size_t)(text - data);
    int64_t offset = (int64_t)(size % 57) * 1800 - 14 * 3600;
    struct record_time t;
    if (timefmt_parse_at(fmt, text, len, &t, offset, NOW) == 0)
        check_time(t);
    timefmt_free(fmt);
}

static void fuzz_rfc3339(const char *data, size_t size)
{
    struct record_time t;
    if (timefmt_parse_rfc3339(data, size, &t) < 0)
        return;
    check_time(t);
    if (t.sec < TIME_MIN || t.sec > TIME_MAX)
        return;
    struct buf out = BUF_INIT;
    json_write_time(&out, t);
    struct record_time back;
    if (timefmt_parse_rfc3339(out.data + 1, out.len - 2, &back) < 0 || back.sec != t.sec ||
        back.nsec != t.nsec)
        abort();
    buf_free(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_format((const char *)data, size);
    fuzz_rfc3339((const char *)data, size);
    return 0;
}
