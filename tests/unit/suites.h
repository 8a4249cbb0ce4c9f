/* Every unit test file contributes one Check suite; main.c runs them all. */
#ifndef SKIFF_TEST_SUITES_H
#define SKIFF_TEST_SUITES_H

#include <check.h>

Suite *codec_suite(void);
Suite *config_suite(void);
Suite *config_env_suite(void);
Suite *es_bulk_suite(void);
Suite *es_id_suite(void);
Suite *es_response_suite(void);
Suite *es_fidelity_suite(void);
Suite *es_hosts_suite(void);
Suite *filter_modify_suite(void);
Suite *filter_nest_suite(void);
Suite *filter_record_modifier_suite(void);
Suite *filter_redact_suite(void);
Suite *redact_detect_suite(void);
Suite *json_suite(void);
Suite *json_parse_suite(void);
Suite *json_parse_large_suite(void);
Suite *hmap_suite(void);
Suite *k8s_suite(void);
Suite *k8s_cache_suite(void);
Suite *k8s_logging_suite(void);
Suite *k8s_watch_decode_suite(void);
Suite *http_suite(void);
Suite *http_client_suite(void);
Suite *logfmt_suite(void);
Suite *loop_suite(void);
Suite *metrics_suite(void);
Suite *multiline_suite(void);
Suite *options_suite(void);
Suite *options_units_suite(void);
Suite *options_describe_suite(void);
Suite *parsers_suite(void);
Suite *record_suite(void);
Suite *record_attachment_suite(void);
Suite *router_suite(void);
Suite *chunk_suite(void);
Suite *chunk_file_suite(void);
Suite *line_splitter_suite(void);
Suite *tail_checkpoint_suite(void);
Suite *tail_checkpoint_store_suite(void);
Suite *tail_scan_suite(void);
Suite *timefmt_suite(void);
Suite *timefmt_zone_suite(void);
Suite *storage_suite(void);

#endif
