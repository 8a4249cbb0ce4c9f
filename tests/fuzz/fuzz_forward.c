/* Fuzz target: what a forward server may send, read as the forward output
 * reads it. The bytes are framed into MessagePack values as a connection
 * frames them (fw_mp_measure, at most FW_READ_MAX bytes at a time), each
 * value is walked header by header, then read as a HELO, a PONG and an ack.
 * Every answer is accepted or refused with a message that never shows the
 * key, without reading past the data, crashing or leaking; a value measured
 * whole is skipped to the same end. */
#include "fuzz.h"

#include "plugins/out_forward/fw_msgpack.h"
#include "plugins/out_forward/fw_output.h"
#include "plugins/out_forward/fw_proto.h"

#include <stdlib.h>
#include <string.h>

static const struct fw_credentials credentials = {
    .self_hostname = "client.example",
    .shared_key = "Zq9-shared-secret",
    .username = "user",
    .password = "Pw7-user-password",
};

/* Reads every header of one whole value, in order. */
static void walk(const uint8_t *data, size_t len)
{
    size_t pos = 0;
    uint64_t left = 1;
    while (left > 0) {
        struct fw_mp_item item;
        if (fw_mp_read(data, len, &pos, &item) != FW_MP_OK)
            abort(); /* measured whole: every header is there */
        left--;
        if (item.type == FW_MP_ARRAY)
            left += item.count;
        else if (item.type == FW_MP_MAP)
            left += 2 * (uint64_t)item.count;
        if ((item.type == FW_MP_STR || item.type == FW_MP_BIN || item.type == FW_MP_EXT) &&
            item.len > len)
            abort();
    }
    if (pos > len)
        abort();
}

static void check_error(int failed, char *error)
{
    if (failed && (!error || !error[0]))
        abort();
    if (!failed && error)
        abort();
    free(error);
}

static void read_as_answers(const uint8_t *data, size_t len)
{
    char *error = NULL;
    struct fw_helo helo;
    int rc = fw_helo_parse(data, len, &helo, &error);
    check_error(rc < 0, error);
    if (rc == 0 && (helo.nonce_len > FW_NONCE_MAX || helo.auth_len > FW_NONCE_MAX))
        abort();
    if (rc == 0 && !fw_is_helo(data, len))
        abort();

    struct fw_helo fixed = {.nonce = "0123456789abcdef", .nonce_len = 16, .keepalive = true};
    error = NULL;
    enum fw_pong_result pong =
        fw_pong_check(data, len, &credentials, "00112233445566778899aabbccddeeff", &fixed, &error);
    if (error && (strstr(error, credentials.shared_key) || strstr(error, credentials.password)))
        abort(); /* no message shows a secret, even one the server sends */
    check_error(pong != FW_PONG_OK, error);

    error = NULL;
    rc = fw_ack_check(data, len, "AAECAwQFBgcICQoLDA0ODw==", &error);
    check_error(rc < 0, error);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t at = 0;
    while (at < size) {
        size_t window = size - at < FW_READ_MAX ? size - at : FW_READ_MAX;
        size_t whole = 0;
        enum fw_mp_status status = fw_mp_measure(data + at, window, &whole);
        if (status != FW_MP_OK)
            break;
        if (whole == 0 || whole > window)
            abort();
        size_t skipped = 0;
        if (fw_mp_skip(data + at, window, &skipped) != FW_MP_OK || skipped != whole)
            abort();
        /* A copy of just the value, so that a read past it is caught. */
        uint8_t *message = malloc(whole);
        memcpy(message, data + at, whole);
        walk(message, whole);
        read_as_answers(message, whole);
        free(message);
        at += whole;
    }
    return 0;
}
