/* The forward protocol's handshake and acks (fw_proto.c): SHA-512 against
 * FIPS 180-4's examples, the PING's and PONG's digests against values
 * Python's hashlib computed (forward_fixture.h, generated at build time by
 * make_forward_fixture.py), HELO, PONG and ack read strictly, a refusal and
 * a wrong digest told apart without the key in any message, chunk ids,
 * salts, and host:port parsing. */
#include "suites.h"

#include "error_slot.h"
#include "forward_fixture.h"
#include "plugins/out_forward/fw_msgpack.h"
#include "plugins/out_forward/fw_output.h"
#include "plugins/out_forward/fw_proto.h"

#include <string.h>

static struct buf msg;
static char *error;
static const struct fw_credentials cred = {
    .self_hostname = FX_CLIENT,
    .shared_key = FX_KEY,
    .username = FX_USER,
    .password = FX_PASSWORD,
};

static void setup(void)
{
    msg = (struct buf)BUF_INIT;
    error = NULL;
}

static void teardown(void)
{
    buf_free(&msg);
    free(error);
}

static struct fw_helo fixture_helo(bool with_auth)
{
    struct fw_helo helo = {.keepalive = true};
    memcpy(helo.nonce, FX_NONCE, FX_NONCE_LEN);
    helo.nonce_len = FX_NONCE_LEN;
    if (with_auth) {
        memcpy(helo.auth, FX_AUTH, FX_AUTH_LEN);
        helo.auth_len = FX_AUTH_LEN;
    }
    return helo;
}

static const uint8_t *data(void)
{
    return (const uint8_t *)msg.data;
}

static void expect_str(size_t *pos, const char *expected)
{
    struct fw_mp_item item;
    ck_assert_int_eq(fw_mp_read(data(), msg.len, pos, &item), FW_MP_OK);
    ck_assert_int_eq(item.type, FW_MP_STR);
    ck_assert_uint_eq(item.len, strlen(expected));
    ck_assert_mem_eq(item.bytes, expected, item.len);
}

START_TEST(sha512_matches_fips_180_4_examples)
{
    char hex[FW_HEX_DIGEST_SIZE];
    struct fw_bytes abc = {"abc", 3};
    fw_sha512_hex(&abc, 1, hex);
    ck_assert_str_eq(hex, "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
                          "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f");
    ck_assert_str_eq(hex, FX_SHA512_ABC);
    /* The two-block example, given as two parts. */
    const char *text = "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmn"
                       "hijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu";
    struct fw_bytes parts[] = {{text, 50}, {text + 50, strlen(text) - 50}};
    fw_sha512_hex(parts, 2, hex);
    ck_assert_str_eq(hex, "8e959b75dae313da8cf4f72814fc143f8f7779c6eb9f7fa17299aeadb6889018"
                          "501d289e4900f7e4331b99dec4b5433ac7d329eeb6dd26545e96e55b874be909");
}
END_TEST

START_TEST(ping_carries_the_key_and_password_digests)
{
    struct fw_helo helo = fixture_helo(true);
    fw_ping_write(&msg, &cred, FX_SALT, &helo);
    size_t pos = 0;
    struct fw_mp_item item;
    ck_assert_int_eq(fw_mp_read(data(), msg.len, &pos, &item), FW_MP_OK);
    ck_assert(item.type == FW_MP_ARRAY && item.count == 6);
    expect_str(&pos, "PING");
    expect_str(&pos, FX_CLIENT);
    expect_str(&pos, FX_SALT);
    expect_str(&pos, FX_PING_KEY_DIGEST);
    expect_str(&pos, FX_USER);
    expect_str(&pos, FX_PASSWORD_DIGEST);
    ck_assert_uint_eq(pos, msg.len);
    ck_assert_ptr_null(memmem(msg.data, msg.len, FX_KEY, strlen(FX_KEY)));
    ck_assert_ptr_null(memmem(msg.data, msg.len, FX_PASSWORD, strlen(FX_PASSWORD)));
}
END_TEST

START_TEST(ping_without_auth_sends_empty_user_and_password)
{
    struct fw_helo helo = fixture_helo(false);
    fw_ping_write(&msg, &cred, FX_SALT, &helo);
    size_t pos = 1;
    expect_str(&pos, "PING");
    expect_str(&pos, FX_CLIENT);
    expect_str(&pos, FX_SALT);
    expect_str(&pos, FX_PING_KEY_DIGEST);
    expect_str(&pos, "");
    expect_str(&pos, "");
}
END_TEST

static void write_helo(bool nonce, bool keepalive_false, size_t nonce_len)
{
    buf_reset(&msg);
    fw_mp_write_array_header(&msg, 2);
    fw_mp_write_str(&msg, "HELO", 4);
    fw_mp_write_map_header(&msg, 3u + nonce);
    fw_mp_write_str(&msg, "future", 6); /* an option this client does not know */
    fw_mp_write_map_header(&msg, 1);
    fw_mp_write_str(&msg, "x", 1);
    fw_mp_write_array_header(&msg, 1);
    fw_mp_write_nil(&msg);
    if (nonce) {
        fw_mp_write_str(&msg, "nonce", 5);
        fw_mp_write_bin_header(&msg, (uint32_t)nonce_len);
        char bytes[512];
        memset(bytes, 0xab, sizeof bytes);
        memcpy(bytes, FX_NONCE, FX_NONCE_LEN);
        buf_append(&msg, bytes, nonce_len);
    }
    fw_mp_write_str(&msg, "auth", 4);
    fw_mp_write_str(&msg, FX_AUTH, FX_AUTH_LEN);
    fw_mp_write_str(&msg, "keepalive", 9);
    fw_mp_write_bool(&msg, !keepalive_false);
}

START_TEST(helo_gives_nonce_auth_and_keepalive)
{
    struct fw_helo helo;
    write_helo(true, true, FX_NONCE_LEN);
    ck_assert(fw_is_helo(data(), msg.len));
    ck_assert_int_eq(fw_helo_parse(data(), msg.len, &helo, FRESH(error)), 0);
    ck_assert_uint_eq(helo.nonce_len, FX_NONCE_LEN);
    ck_assert_mem_eq(helo.nonce, FX_NONCE, FX_NONCE_LEN);
    ck_assert_uint_eq(helo.auth_len, FX_AUTH_LEN);
    ck_assert_mem_eq(helo.auth, FX_AUTH, FX_AUTH_LEN);
    ck_assert(!helo.keepalive);

    write_helo(false, false, 0);
    ck_assert_int_eq(fw_helo_parse(data(), msg.len, &helo, FRESH(error)), -1);
    ck_assert_str_eq(error, "the HELO message has no nonce");

    write_helo(true, false, FW_NONCE_MAX + 1);
    ck_assert_int_eq(fw_helo_parse(data(), msg.len, &helo, FRESH(error)), -1);
    ck_assert_ptr_nonnull(strstr(error, "nonce"));

    /* the specification's default keepalive is true */
    buf_reset(&msg);
    fw_mp_write_array_header(&msg, 2);
    fw_mp_write_str(&msg, "HELO", 4);
    fw_mp_write_map_header(&msg, 1);
    fw_mp_write_str(&msg, "nonce", 5);
    fw_mp_write_str(&msg, "n", 1);
    ck_assert_int_eq(fw_helo_parse(data(), msg.len, &helo, FRESH(error)), 0);
    ck_assert(helo.keepalive);
    ck_assert_uint_eq(helo.auth_len, 0);

    buf_reset(&msg);
    fw_mp_write_array_header(&msg, 2);
    fw_mp_write_str(&msg, "PONG", 4);
    fw_mp_write_map_header(&msg, 0);
    ck_assert(!fw_is_helo(data(), msg.len));
    ck_assert_int_eq(fw_helo_parse(data(), msg.len, &helo, FRESH(error)), -1);
}
END_TEST

static void write_pong(bool result, const char *reason, const char *host, const char *digest)
{
    buf_reset(&msg);
    fw_mp_write_array_header(&msg, 5);
    fw_mp_write_str(&msg, "PONG", 4);
    fw_mp_write_bool(&msg, result);
    fw_mp_write_str(&msg, reason, strlen(reason));
    fw_mp_write_str(&msg, host, strlen(host));
    fw_mp_write_str(&msg, digest, strlen(digest));
}

START_TEST(pong_digest_is_checked)
{
    struct fw_helo helo = fixture_helo(true);
    write_pong(true, "", FX_SERVER, FX_PONG_KEY_DIGEST);
    ck_assert_int_eq(fw_pong_check(data(), msg.len, &cred, FX_SALT, &helo, FRESH(error)),
                     FW_PONG_OK);

    /* The client's own digest echoed back proves nothing. */
    write_pong(true, "", FX_SERVER, FX_PING_KEY_DIGEST);
    ck_assert_int_eq(fw_pong_check(data(), msg.len, &cred, FX_SALT, &helo, FRESH(error)),
                     FW_PONG_MISMATCH);
    ck_assert_ptr_nonnull(strstr(error, "server.example"));
    ck_assert_ptr_null(strstr(error, FX_KEY));

    /* Another host name changes the digest. */
    write_pong(true, "", "other.example", FX_PONG_KEY_DIGEST);
    ck_assert_int_eq(fw_pong_check(data(), msg.len, &cred, FX_SALT, &helo, FRESH(error)),
                     FW_PONG_MISMATCH);

    write_pong(true, "", FX_SERVER, "short");
    ck_assert_int_eq(fw_pong_check(data(), msg.len, &cred, FX_SALT, &helo, FRESH(error)),
                     FW_PONG_MISMATCH);
}
END_TEST

START_TEST(pong_refusal_and_malformed_pongs)
{
    struct fw_helo helo = fixture_helo(true);
    write_pong(false, "shared_key mismatch\n\x1b[31m", "", "");
    ck_assert_int_eq(fw_pong_check(data(), msg.len, &cred, FX_SALT, &helo, FRESH(error)),
                     FW_PONG_REFUSED);
    ck_assert_str_eq(error, "the server refused the handshake: 'shared_key mismatch??[31m'");

    /* A server that echoes a secret does not get it into the log. */
    write_pong(false, "not " FX_KEY " nor " FX_PASSWORD, "", "");
    ck_assert_int_eq(fw_pong_check(data(), msg.len, &cred, FX_SALT, &helo, FRESH(error)),
                     FW_PONG_REFUSED);
    ck_assert_str_eq(error, "the server refused the handshake: 'not ********** nor *****'");

    buf_reset(&msg);
    fw_mp_write_array_header(&msg, 4);
    fw_mp_write_str(&msg, "PONG", 4);
    fw_mp_write_bool(&msg, true);
    fw_mp_write_str(&msg, "", 0);
    fw_mp_write_str(&msg, FX_SERVER, strlen(FX_SERVER));
    ck_assert_int_eq(fw_pong_check(data(), msg.len, &cred, FX_SALT, &helo, FRESH(error)),
                     FW_PONG_MALFORMED);

    buf_reset(&msg);
    fw_mp_write_array_header(&msg, 5);
    fw_mp_write_str(&msg, "PONG", 4);
    fw_mp_write_str(&msg, "true", 4); /* not a boolean */
    ck_assert_int_eq(fw_pong_check(data(), msg.len, &cred, FX_SALT, &helo, FRESH(error)),
                     FW_PONG_MALFORMED);
}
END_TEST

static void write_ack_map(const char *key, const char *value, bool extra)
{
    buf_reset(&msg);
    fw_mp_write_map_header(&msg, 1u + extra);
    if (extra) {
        fw_mp_write_str(&msg, "note", 4);
        fw_mp_write_array_header(&msg, 2);
        fw_mp_write_int(&msg, -1);
        fw_mp_write_nil(&msg);
    }
    fw_mp_write_str(&msg, key, strlen(key));
    fw_mp_write_str(&msg, value, strlen(value));
}

START_TEST(ack_must_name_the_chunk)
{
    const char *id = "p8n9gmxTQVC8/nh2wlKKeQ==";
    write_ack_map("ack", id, true);
    ck_assert_int_eq(fw_ack_check(data(), msg.len, id, FRESH(error)), 0);
    write_ack_map("ack", "AAAAAAAAAAAAAAAAAAAAAA==", false);
    ck_assert_int_eq(fw_ack_check(data(), msg.len, id, FRESH(error)), -1);
    ck_assert_ptr_nonnull(strstr(error, "another chunk"));
    write_ack_map("acks", id, false);
    ck_assert_int_eq(fw_ack_check(data(), msg.len, id, FRESH(error)), -1);
    ck_assert_str_eq(error, "the answer has no ack");
    write_helo(true, false, FX_NONCE_LEN);
    ck_assert_int_eq(fw_ack_check(data(), msg.len, id, FRESH(error)), -1);
    ck_assert_ptr_nonnull(strstr(error, "shared_key"));
}
END_TEST

START_TEST(chunk_ids_and_salts)
{
    uint8_t bytes[16];
    for (unsigned i = 0; i < 16; i++)
        bytes[i] = (uint8_t)i;
    char id[FW_CHUNK_ID_SIZE];
    fw_chunk_id(bytes, id);
    ck_assert_str_eq(id, "AAECAwQFBgcICQoLDA0ODw==");
    memset(bytes, 0xff, sizeof bytes);
    fw_chunk_id(bytes, id);
    ck_assert_str_eq(id, "/////////////////////w==");
    char salt[FW_SALT_SIZE];
    fw_salt(bytes, salt);
    ck_assert_str_eq(salt, "ffffffffffffffffffffffffffffffff");
    uint8_t a[16], b[16];
    ck_assert_int_eq(fw_random(a, sizeof a), 0);
    ck_assert_int_eq(fw_random(b, sizeof b), 0);
    ck_assert(memcmp(a, b, sizeof a) != 0);
}
END_TEST

START_TEST(host_port_parsing)
{
    char *name = NULL, *port = NULL;
    ck_assert_int_eq(fw_host_parse("fluentd.logging:24225", 24224, &name, &port, FRESH(error)), 0);
    ck_assert_str_eq(name, "fluentd.logging");
    ck_assert_str_eq(port, "24225");
    free(name);
    free(port);
    ck_assert_int_eq(fw_host_parse("agg", 9999, &name, &port, FRESH(error)), 0);
    ck_assert_str_eq(port, "9999");
    free(name);
    free(port);
    ck_assert_int_eq(fw_host_parse("[::1]:24224", 1, &name, &port, FRESH(error)), 0);
    ck_assert_str_eq(name, "::1");
    free(name);
    free(port);
    static const char *const bad[] = {"a:0",  "a:65536", "a:x",   ":1", "::1",
                                      "[::1", "[]:1",    "a b:1", "a:", "[::1]x"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_msg(fw_host_parse(bad[i], 24224, &name, &port, FRESH(error)) == -1, "%s", bad[i]);
    char *text = fw_host_text("fe80::1");
    ck_assert_str_eq(text, "[fe80::1]");
    free(text);
}
END_TEST

Suite *forward_proto_suite(void)
{
    Suite *s = suite_create("forward_proto");
    TCase *tc = tcase_create("proto");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, sha512_matches_fips_180_4_examples);
    tcase_add_test(tc, ping_carries_the_key_and_password_digests);
    tcase_add_test(tc, ping_without_auth_sends_empty_user_and_password);
    tcase_add_test(tc, helo_gives_nonce_auth_and_keepalive);
    tcase_add_test(tc, pong_digest_is_checked);
    tcase_add_test(tc, pong_refusal_and_malformed_pongs);
    tcase_add_test(tc, ack_must_name_the_chunk);
    tcase_add_test(tc, chunk_ids_and_salts);
    tcase_add_test(tc, host_port_parsing);
    suite_add_tcase(s, tc);
    return s;
}
