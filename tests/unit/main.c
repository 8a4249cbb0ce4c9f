/* Runs every unit suite; exits non-zero if any test failed. */
#include "suites.h"

#include <stdlib.h>

int main(void)
{
    SRunner *runner = srunner_create(buf_suite());
    srunner_add_suite(runner, codec_suite());
    srunner_add_suite(runner, config_suite());
    srunner_add_suite(runner, config_env_suite());
    srunner_add_suite(runner, config_compare_suite());
    srunner_add_suite(runner, convert_classic_suite());
    srunner_add_suite(runner, convert_map_suite());
    srunner_add_suite(runner, convert_output_suite());
    srunner_add_suite(runner, convert_value_suite());
    srunner_add_suite(runner, es_bulk_suite());
    srunner_add_suite(runner, es_id_suite());
    srunner_add_suite(runner, es_response_suite());
    srunner_add_suite(runner, es_response_scan_suite());
    srunner_add_suite(runner, es_fidelity_suite());
    srunner_add_suite(runner, es_hosts_suite());
    srunner_add_suite(runner, es_stream_suite());
    srunner_add_suite(runner, es_index_cache_suite());
    srunner_add_suite(runner, filter_modify_suite());
    srunner_add_suite(runner, filter_rewrite_tag_suite());
    srunner_add_suite(runner, filter_nest_suite());
    srunner_add_suite(runner, filter_record_modifier_suite());
    srunner_add_suite(runner, filter_throttle_suite());
    srunner_add_suite(runner, forward_message_suite());
    srunner_add_suite(runner, forward_msgpack_suite());
    srunner_add_suite(runner, forward_proto_suite());
    srunner_add_suite(runner, filter_redact_suite());
    srunner_add_suite(runner, redact_detect_suite());
    srunner_add_suite(runner, redact_anchor_suite());
    srunner_add_suite(runner, secret_suite());
    srunner_add_suite(runner, json_suite());
    srunner_add_suite(runner, json_escape_suite());
    srunner_add_suite(runner, json_parse_suite());
    srunner_add_suite(runner, json_parse_large_suite());
    srunner_add_suite(runner, hmap_suite());
    srunner_add_suite(runner, gzip_suite());
    srunner_add_suite(runner, k8s_suite());
    srunner_add_suite(runner, k8s_cache_suite());
    srunner_add_suite(runner, k8s_logging_suite());
    srunner_add_suite(runner, k8s_watch_decode_suite());
    srunner_add_suite(runner, http_suite());
    srunner_add_suite(runner, http_client_suite());
    srunner_add_suite(runner, logfmt_suite());
    srunner_add_suite(runner, loop_suite());
    srunner_add_suite(runner, metrics_suite());
    srunner_add_suite(runner, multiline_suite());
    srunner_add_suite(runner, options_suite());
    srunner_add_suite(runner, options_units_suite());
    srunner_add_suite(runner, options_describe_suite());
    srunner_add_suite(runner, parsers_suite());
    srunner_add_suite(runner, record_suite());
    srunner_add_suite(runner, record_attachment_suite());
    srunner_add_suite(runner, record_text_suite());
    srunner_add_suite(runner, router_suite());
    srunner_add_suite(runner, chunk_suite());
    srunner_add_suite(runner, chunk_group_suite());
    srunner_add_suite(runner, delivery_chunks_suite());
    srunner_add_suite(runner, lane_suite());
    srunner_add_suite(runner, chunk_file_suite());
    srunner_add_suite(runner, chunk_pack_suite());
    srunner_add_suite(runner, line_splitter_suite());
    srunner_add_suite(runner, tail_checkpoint_suite());
    srunner_add_suite(runner, tail_checkpoint_store_suite());
    srunner_add_suite(runner, tail_scan_suite());
    srunner_add_suite(runner, timefmt_suite());
    srunner_add_suite(runner, timefmt_cache_suite());
    srunner_add_suite(runner, timefmt_zone_suite());
    srunner_add_suite(runner, storage_suite());
    srunner_add_suite(runner, storage_pack_suite());
    srunner_add_suite(runner, systemd_suite());
    srunner_add_suite(runner, systemd_ring_suite());
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
