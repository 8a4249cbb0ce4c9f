/* The Elasticsearch output's hosts and credentials (es_hosts.c): round-robin
 * with a failing host skipped for its backoff, bulk URLs, the Authorization
 * header from options or files, and the reading of secret files; and the
 * body buffers it keeps between requests (es_buffers.c). */
#include "suites.h"

#include "gzip.h"
#include "log.h"
#include "plugins/out_elasticsearch/es_output.h"
#include "temp_dir.h"
#include "xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct instance out;
static struct es_options opts;
static struct es_output es;
static char *hosts[3];
static char *dir;

static void setup(void)
{
    log_set_level(LOG_ERROR);
    memset(&out, 0, sizeof out);
    memset(&opts, 0, sizeof opts);
    memset(&es, 0, sizeof es);
    out.alias = "es";
    hosts[0] = "http://a:9200/";
    hosts[1] = "http://b:9200";
    hosts[2] = "http://c:9200";
    opts.hosts = (struct string_list){hosts, 3};
    opts.compress = "gzip";
    opts.headers = value_map_new();
    es.out = &out;
    es.opts = &opts;
    dir = temp_dir_make("es_hosts");
}

static void teardown(void)
{
    es_hosts_free(&es);
    es_headers_free(&es);
    value_free(&opts.headers);
    temp_dir_remove(dir);
}

static char *write_file(const char *name, const char *text)
{
    char *path = xasprintf("%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
    return path;
}

START_TEST(bulk_urls_with_filter_path_and_escaped_pipeline)
{
    opts.pipeline = "geo ip/v2";
    es_hosts_init(&es);
    ck_assert_str_eq(es.hosts[0].base_url, "http://a:9200");
    ck_assert_str_eq(es.hosts[0].bulk_url, "http://a:9200/_bulk?filter_path=errors,items.*.status,"
                                           "items.*.error&pipeline=geo%20ip%2Fv2");
    ck_assert_str_eq(es.hosts[1].bulk_url,
                     "http://b:9200/_bulk?filter_path=errors,items.*.status,items.*.error"
                     "&pipeline=geo%20ip%2Fv2");
}
END_TEST

START_TEST(round_robin_skips_a_failed_host_until_its_backoff_ends)
{
    es_hosts_init(&es);
    ck_assert_uint_eq(es_hosts_pick(&es, 0), 0);
    ck_assert_uint_eq(es_hosts_pick(&es, 0), 1);
    ck_assert_uint_eq(es_hosts_pick(&es, 0), 2);
    ck_assert_uint_eq(es_hosts_pick(&es, 0), 0);

    es_hosts_failed(&es, 1, 1000, "refused"); /* down for 500 ms */
    ck_assert(es_hosts_any_up(&es, 1000));
    ck_assert_uint_eq(es_hosts_pick(&es, 1000), 2);
    ck_assert_uint_eq(es_hosts_pick(&es, 1000), 0);
    ck_assert_uint_eq(es_hosts_pick(&es, 1000), 2);
    ck_assert_uint_eq(es_hosts_pick(&es, 1500), 0);
    ck_assert_uint_eq(es_hosts_pick(&es, 1500), 1); /* back after its backoff */

    /* Failures in a row double the backoff. */
    es_hosts_failed(&es, 1, 2000, "refused");
    ck_assert_int_eq(es.hosts[1].down_until_ms, 3000);
    es_hosts_ok(&es, 1);
    ck_assert_int_eq(es.hosts[1].down_until_ms, 0);
    ck_assert_uint_eq(es.hosts[1].failures, 0);
}
END_TEST

START_TEST(all_hosts_down_picks_the_first_to_recover)
{
    es_hosts_init(&es);
    es_hosts_failed(&es, 0, 0, "refused");
    es_hosts_failed(&es, 0, 0, "refused");   /* until 1000 */
    es_hosts_failed(&es, 1, 100, "refused"); /* until 600 */
    es_hosts_failed(&es, 2, 200, "refused"); /* until 700 */
    ck_assert(!es_hosts_any_up(&es, 300));
    ck_assert_uint_eq(es_hosts_pick(&es, 300), 1);
}
END_TEST

START_TEST(basic_auth_from_a_password_file)
{
    char *path = write_file("password", "s3cret  \nsecond line\n");
    opts.user = "elastic";
    opts.password_file = path;
    char *error = NULL;
    ck_assert_int_eq(es_headers_init(&es, &error), 0);
    ck_assert_uint_eq(es.header_count, 3);
    ck_assert_str_eq(es.headers[0], "Content-Type: application/x-ndjson");
    ck_assert_str_eq(es.headers[1], "Content-Encoding: gzip");
    /* base64("elastic:s3cret") */
    ck_assert_str_eq(es.headers[es.auth_header], "Authorization: Basic ZWxhc3RpYzpzM2NyZXQ=");

    free(write_file("password", "n3w\n"));
    es_headers_reload(&es);
    ck_assert_str_eq(es.headers[es.auth_header], "Authorization: Basic ZWxhc3RpYzpuM3c=");
    free(path);
}
END_TEST

/* headers_file: read at start, again by es_headers_reload (after a 401),
 * keeping the old value when the file cannot be read; an Authorization of
 * headers_file gives way to the credentials. */
START_TEST(headers_from_files_read_again)
{
    char *key = write_file("gateway-key", "k-1\n");
    struct value path = value_cstring(key);
    struct value files = value_map_new();
    value_map_set(&files.as.map, "X-Gateway-Key", 13, &path);
    path = value_cstring(key);
    value_map_set(&files.as.map, "Authorization", 13, &path);
    opts.headers_file = files;
    opts.password = "pw";
    opts.user = "elastic";
    char *error = NULL;
    ck_assert_int_eq(es_headers_init(&es, &error), 0);
    ck_assert_str_eq(es.headers[es.file_headers[0]], "X-Gateway-Key: k-1");
    ck_assert_uint_eq(es.file_headers[1], SIZE_MAX);
    ck_assert_str_eq(es.headers[es.auth_header], "Authorization: Basic ZWxhc3RpYzpwdw==");

    free(write_file("gateway-key", "k-2\n"));
    es_headers_reload(&es);
    ck_assert_str_eq(es.headers[es.file_headers[0]], "X-Gateway-Key: k-2");
    ck_assert_str_eq(es.headers[es.auth_header], "Authorization: Basic ZWxhc3RpYzpwdw==");

    ck_assert_int_eq(remove(key), 0);
    es_headers_reload(&es);
    ck_assert_str_eq(es.headers[es.file_headers[0]], "X-Gateway-Key: k-2");
    char *masked = secret_mask("echo: k-1 k-2");
    ck_assert_str_eq(masked, "echo: *** ***");
    free(masked);
    value_free(&opts.headers_file);
    free(key);
}
END_TEST

START_TEST(api_key_and_user_headers)
{
    struct value v = value_cstring("tenant-1");
    value_map_set(&opts.headers.as.map, "X-Scope", 7, &v);
    opts.api_key = "a2V5aWQ6a2V5";
    opts.compress = "none";
    char *error = NULL;
    ck_assert_int_eq(es_headers_init(&es, &error), 0);
    ck_assert_uint_eq(es.header_count, 3);
    ck_assert_str_eq(es.headers[1], "X-Scope: tenant-1");
    ck_assert_str_eq(es.headers[2], "Authorization: ApiKey a2V5aWQ6a2V5");
}
END_TEST

static size_t headers_named(const char *name)
{
    size_t n = 0;
    for (size_t i = 0; i < es.header_count; i++)
        n += es_header_named(es.headers[i], name, strlen(name));
    return n;
}

static const char *header_value(const char *name)
{
    for (size_t i = 0; i < es.header_count; i++)
        if (es_header_named(es.headers[i], name, strlen(name)))
            return es.headers[i] + strlen(name) + 2;
    return NULL;
}

/* Elasticsearch refuses two Content-Types ("only one Content-Type header
 * should be provided"): the user's replaces skiff's, in any case. */
START_TEST(user_headers_replace_defaults_of_the_same_name)
{
    struct value v = value_cstring("application/json");
    value_map_set(&opts.headers.as.map, "content-TYPE", 12, &v);
    v = value_cstring("identity");
    value_map_set(&opts.headers.as.map, "Content-Encoding", 16, &v);
    char *error = NULL;
    ck_assert_int_eq(es_headers_init(&es, &error), 0);
    ck_assert_uint_eq(headers_named("Content-Type"), 1);
    ck_assert_uint_eq(headers_named("Content-Encoding"), 1);
    ck_assert_str_eq(header_value("content-type"), "application/json");
    ck_assert_str_eq(header_value("content-encoding"), "identity");
    ck_assert_uint_eq(es.header_count, 2);
}
END_TEST

START_TEST(compatible_with_sets_accept_and_content_type_together)
{
    opts.compatible_with = "8";
    char *error = NULL;
    ck_assert_int_eq(es_headers_init(&es, &error), 0);
    ck_assert_uint_eq(headers_named("Content-Type"), 1);
    ck_assert_uint_eq(headers_named("Accept"), 1);
    ck_assert_str_eq(header_value("Content-Type"),
                     "application/vnd.elasticsearch+x-ndjson; compatible-with=8");
    ck_assert_str_eq(header_value("Accept"),
                     "application/vnd.elasticsearch+json; compatible-with=8");
}
END_TEST

/* user:password@ in a URL is basic auth, percent-decoded, and gone from the
 * URLs that are logged. */
START_TEST(url_credentials_become_basic_auth)
{
    hosts[0] = "https://us%20er:p%40ss@a:9200/";
    hosts[1] = "http://us%20er:p%40ss@b:9200";
    es_hosts_init(&es);
    ck_assert_str_eq(es.hosts[0].base_url, "https://a:9200");
    ck_assert_str_eq(es.hosts[1].bulk_url,
                     "http://b:9200/_bulk?filter_path=errors,items.*.status,items.*.error");
    ck_assert_str_eq(es.hosts[2].base_url, "http://c:9200");
    char *error = NULL;
    ck_assert_int_eq(es_headers_init(&es, &error), 0);
    /* base64("us er:p@ss") */
    ck_assert_str_eq(es.headers[es.auth_header], "Authorization: Basic dXMgZXI6cEBzcw==");

    size_t at = 0;
    ck_assert_uint_eq(es_url_userinfo("http://u:p@ss@h:1/x@y", &at), 6);
    ck_assert_uint_eq(at, 7);
    ck_assert_uint_eq(es_url_userinfo("http://h:1/x@y", &at), 0);
}
END_TEST

START_TEST(secret_file_errors_name_the_file)
{
    char *error = NULL;
    char *missing = xasprintf("%s/none", dir);
    opts.api_key_file = missing;
    ck_assert_int_eq(es_headers_init(&es, &error), -1);
    ck_assert_ptr_nonnull(strstr(error, missing));
    free(error);
    free(missing);
}
END_TEST

/* Without compression bodies are streamed: no body buffer is kept. */
START_TEST(no_body_buffers_are_kept_without_compression)
{
    opts.max_in_flight = 2;
    opts.batch_max_bytes = 1 << 20;
    es_buffers_init(&es);
    ck_assert_uint_eq(es.spare_gzipped.max, 0);
    struct buf gzipped;
    es_buffer_take(&es.spare_gzipped, &gzipped);
    buf_append_str(&gzipped, "body");
    es_buffer_give(&es.spare_gzipped, &gzipped);
    ck_assert_uint_eq(es.spare_gzipped.count, 0);
    ck_assert_ptr_null(es.scratch_body.data);
    es_buffers_free(&es);
}
END_TEST

/* With gzip only compressed bodies are kept per delivery in flight (at most
 * max_in_flight, within the gzip bound of a batch); the uncompressed body is
 * the output's one scratch buffer, which keeps a batch's room and frees
 * more. */
START_TEST(gzip_keeps_one_uncompressed_body_per_output)
{
    opts.max_in_flight = 2;
    opts.batch_max_bytes = 1 << 20;
    es.gzip = gzip_compressor_new();
    es_buffers_init(&es);
    struct buf gzipped[3];
    for (int i = 0; i < 3; i++) {
        es_buffer_take(&es.spare_gzipped, &gzipped[i]);
        buf_reserve(&gzipped[i], gzip_compress_bound((1 << 20) + ES_BULK_SLACK));
    }
    struct buf big;
    es_buffer_take(&es.spare_gzipped, &big);
    buf_reserve(&big, 8 << 20); /* one record larger than the batch */
    es_buffer_give(&es.spare_gzipped, &big);
    ck_assert_uint_eq(es.spare_gzipped.count, 0);
    for (int i = 0; i < 3; i++)
        es_buffer_give(&es.spare_gzipped, &gzipped[i]);
    ck_assert_uint_eq(es.spare_gzipped.count, 2);
    struct buf again;
    es_buffer_take(&es.spare_gzipped, &again);
    ck_assert_ptr_nonnull(again.data);
    ck_assert_uint_eq(again.len, 0);
    buf_free(&again);

    buf_reserve(&es.scratch_body, (1 << 20) + ES_BULK_SLACK);
    buf_append_str(&es.scratch_body, "batch");
    char *kept = es.scratch_body.data;
    es_scratch_body_done(&es);
    ck_assert_ptr_eq(es.scratch_body.data, kept);
    ck_assert_uint_eq(es.scratch_body.len, 0);
    buf_reserve(&es.scratch_body, 4 << 20); /* one record larger than the batch */
    es_scratch_body_done(&es);
    ck_assert_ptr_null(es.scratch_body.data);
    ck_assert_uint_eq(es.scratch_body.cap, 0);
    es_buffers_free(&es);
    gzip_compressor_free(es.gzip);
    es.gzip = NULL;
}
END_TEST

Suite *es_hosts_suite(void)
{
    Suite *s = suite_create("es_hosts");
    TCase *tc = tcase_create("hosts");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, bulk_urls_with_filter_path_and_escaped_pipeline);
    tcase_add_test(tc, round_robin_skips_a_failed_host_until_its_backoff_ends);
    tcase_add_test(tc, all_hosts_down_picks_the_first_to_recover);
    tcase_add_test(tc, basic_auth_from_a_password_file);
    tcase_add_test(tc, api_key_and_user_headers);
    tcase_add_test(tc, headers_from_files_read_again);
    tcase_add_test(tc, secret_file_errors_name_the_file);
    tcase_add_test(tc, user_headers_replace_defaults_of_the_same_name);
    tcase_add_test(tc, compatible_with_sets_accept_and_content_type_together);
    tcase_add_test(tc, url_credentials_become_basic_auth);
    tcase_add_test(tc, no_body_buffers_are_kept_without_compression);
    tcase_add_test(tc, gzip_keeps_one_uncompressed_body_per_output);
    suite_add_tcase(s, tc);
    return s;
}
