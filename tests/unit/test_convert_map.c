/* Unit tests for `skiff --convert`'s mapping of Fluent Bit's inputs and
 * filters (convert_map_input.c, convert_map_filter.c, convert_map_grep.c):
 * each option into skiff's, the defaults written out, the comments and the
 * notes for what has no equivalent, and that skiff loads the result. */
#include "suites.h"

#include "convert_helpers.h"

#include <string.h>

START_TEST(test_tail)
{
    struct convert_result r;
    convert_ok(&r,
               "[INPUT]\n"
               "    Name              tail\n"
               "    Path              /var/log/containers/*.log, /var/log/x.log\n"
               "    Exclude_Path      *.gz\n"
               "    Tag               kube.*\n"
               "    Mem_Buf_Limit     5MB\n"
               "    Skip_Long_Lines   On\n"
               "    DB                /var/log/flb_kube.db\n"
               "    Refresh_Interval  10\n"
               "    Rotate_Wait       30\n"
               "    Read_from_Head    true\n"
               "    Buffer_Chunk_Size 64k\n"
               "    Inotify_Watcher   false\n"
               "    multiline.parser  docker, cri\n"
               "[OUTPUT]\n"
               "    Name stdout\n"
               "    Match *\n",
               false);
    assert_yaml_has(&r, "    - name: tail\n"
                        "      tag: kube.*\n"
                        "      path:\n"
                        "        - /var/log/containers/*.log\n"
                        "        - /var/log/x.log\n"
                        "      exclude:\n"
                        "        - '*.gz'\n"
                        "      buffer_limit: 5MB\n"
                        "      skip_long_lines: true\n");
    assert_yaml_has(&r, "      # Fluent Bit DB /var/log/flb_kube.db: no equivalent in skiff "
                        "(checkpoints live in service.state_dir");
    assert_yaml_has(&r, "      refresh_interval: 10s\n"
                        "      rotate_wait: 30s\n"
                        "      read_from_head: true\n"
                        "      buffer_chunk_size: 64KB\n"
                        "      watcher: poll\n");
    assert_yaml_has(&r, "      parser: cri  # Fluent Bit's docker, cri: skiff reads one format, "
                        "cri");
    /* Fluent Bit's defaults that change what is read: no path field
     * without Path_Key; lines over Buffer_Max_Size (32k) skipped. */
    assert_yaml_has(&r, "      path_key: ''  # Fluent Bit adds no path field without Path_Key\n");
    assert_yaml_has(&r, "      max_line_size: 32KiB  # Fluent Bit's Buffer_Max_Size");
    assert_note(&r, "fb.conf:8: [INPUT] tail DB: no equivalent in skiff");
    assert_note(&r, "fb.conf:14: [INPUT] tail multiline.parser: docker not carried");
    assert_loads(&r);
    convert_result_free(&r);
}
END_TEST

START_TEST(test_tail_multiline_and_parser)
{
    struct convert_result r;
    convert_ok(&r,
               "[INPUT]\n"
               "    Name tail\n"
               "    Path /var/log/app.log\n"
               "    multiline.parser java, python\n"
               "[INPUT]\n"
               "    Name tail\n"
               "    Tag json.app\n"
               "    Path /var/log/j.log\n"
               "    Parser json\n"
               "    Path_Key file\n"
               "    Buffer_Max_Size 64k\n"
               "    Skip_Long_Lines On\n"
               "[FILTER]\n"
               "    Name grep\n"
               "    Match *\n"
               "    Regex log .\n"
               "[OUTPUT]\n"
               "    Name null\n"
               "    Match *\n",
               false);
    /* An input without Tag is named as Fluent Bit names it; its multiline
     * parser becomes the first filter, for its tag. */
    assert_yaml_has(&r, "    - name: tail\n"
                        "      tag: tail.0  # Fluent Bit's tag for an input without Tag\n");
    assert_yaml_has(&r, "  filters:\n"
                        "    - name: multiline\n"
                        "      match: tail.0\n"
                        "      parser: java  # from [INPUT] tail multiline.parser (fb.conf:4)\n"
                        "    - name: grep\n");
    assert_note(&r, "fb.conf:4: [INPUT] tail multiline.parser: python not carried");
    assert_yaml_has(&r, "      parser: json\n"
                        "      path_key: file\n"
                        "      max_line_size: 64KB\n");
    assert_loads(&r);
    convert_result_free(&r);
}
END_TEST

START_TEST(test_dummy)
{
    struct convert_result r;
    convert_ok(&r,
               "[INPUT]\n"
               "    Name dummy\n"
               "    Tag t\n"
               "    Dummy {\"log\":\"a b\",\"n\":3,\"ok\":true,\"x\":{\"y\":[1,\"on\"]}}\n"
               "    Rate 5\n"
               "    Samples 10\n"
               "    Copies 2\n"
               "[OUTPUT]\n"
               "    Name null\n"
               "    Match t\n",
               false);
    assert_yaml_has(&r, "      record:  # skiff's dummy adds a seq field\n"
                        "        log: a b\n"
                        "        'n': 3\n"
                        "        ok: true\n"
                        "        x:\n"
                        "          'y':\n"
                        "            - 1\n"
                        "            - 'on'\n"
                        "      rate: 5\n"
                        "      count: 10\n"
                        "      # Fluent Bit Copies 2: no equivalent in skiff\n");
    assert_loads(&r);
    convert_result_free(&r);

    convert_ok(&r, "[INPUT]\n    Name dummy\n    Dummy [1]\n    Rate fast\n", false);
    assert_error_has(&r, "fb.conf:3: [INPUT] dummy Dummy '[1]': expected a JSON object");
    assert_error_has(&r, "fb.conf:4: [INPUT] dummy Rate 'fast': expected an integer");
    assert_yaml_has(&r, "# Fluent Bit Rate fast: not converted: expected an integer");
    convert_result_free(&r);
}
END_TEST

START_TEST(test_kubernetes)
{
    struct convert_result r;
    convert_ok(&r,
               "[INPUT]\n    Name dummy\n    Tag kube.app\n"
               "[FILTER]\n"
               "    Name                kubernetes\n"
               "    Match               kube.*\n"
               "    Kube_URL            https://api:6443\n"
               "    Merge_Log           On\n"
               "    Merge_Log_Key       app\n"
               "    Merge_Log_Trim      Off\n"
               "    Keep_Log            Off\n"
               "    Labels              Off\n"
               "    K8S-Logging.Parser  On\n"
               "    K8S-Logging.Exclude Off\n"
               "    Kube_Tag_Prefix     kube.var.log.containers.\n"
               "    tls.verify          Off\n"
               "    Use_Kubelet         On\n"
               "    Kubelet_Port        10255\n"
               "    Buffer_Size         0\n",
               false);
    assert_yaml_has(&r, "    - name: kubernetes\n"
                        "      match: kube.*\n"
                        "      api_url: https://api:6443\n"
                        "      merge_log: true\n"
                        "      merge_log_key: app\n"
                        "      merge_log_trim: false\n"
                        "      keep_log: false\n"
                        "      labels: false\n");
    assert_yaml_has(&r, "# Fluent Bit Kube_Tag_Prefix kube.var.log.containers.: no equivalent in "
                        "skiff (skiff reads the pod from the record's path, not the tag)");
    assert_yaml_has(&r, "      tls_verify: false\n      use_kubelet: true\n");
    assert_yaml_has(&r, "      annotations: true  # Fluent Bit's default Annotations On");
    assert_yaml_has(&r, "      use_pod_annotations: true  # skiff obeys the parser and exclude "
                        "annotations together\n");
    assert_note(&r, "fb.conf:14: [FILTER] kubernetes K8S-Logging.Exclude Off: not carried");
    assert_yaml_has(&r, "      kubelet_url: https://127.0.0.1:10255\n");
    assert_yaml_has(&r, "      ca_file: /var/run/secrets/kubernetes.io/serviceaccount/ca.crt  # "
                        "Fluent Bit's default Kube_CA_File\n");
    assert_yaml_has(&r, "      token_file: /var/run/secrets/kubernetes.io/serviceaccount/token");
    convert_result_free(&r);

    /* Fluent Bit's defaults: annotations on, pod annotations not obeyed. */
    convert_ok(&r,
               "[INPUT]\n    Name tail\n    Path /x\n    Path_Key file\n"
               "[FILTER]\n    Name kubernetes\n    Match *\n    Annotations Off\n",
               false);
    assert_yaml_has(&r, "      annotations: false\n"
                        "      path_key: file  # the tail input's Path_Key (fb.conf:4)\n"
                        "      use_pod_annotations: false  # Fluent Bit obeys no fluentbit.io/");
    assert_yaml_lacks(&r, "ca_file");
    convert_result_free(&r);
}
END_TEST

START_TEST(test_modify)
{
    struct convert_result r;
    convert_ok(&r,
               "@SET env=prod\n"
               "[INPUT]\n    Name dummy\n    Tag a\n"
               "[FILTER]\n"
               "    Name      modify\n"
               "    Match     a\n"
               "    Set       cluster ${env}\n"
               "    Condition Key_Value_Equals stream stderr\n"
               "    Rename    log message\n"
               "    Add       note \"two words\"\n"
               "    Hard_copy log.level level\n"
               "    Remove_wildcard tmp_*\n"
               "    Remove_regex ^debug$\n"
               "    Condition Key_exists $kubernetes['pod_name']\n"
               "    Move_To_End level\n"
               "[OUTPUT]\n    Name null\n    Match *\n",
               false);
    assert_yaml_has(&r, "    - name: modify\n"
                        "      match: a\n"
                        "      rules:\n"
                        "        - set cluster prod\n"
                        "        - rename log message\n"
                        "        - add note \"two words\"\n"
                        "        - hard_copy [\"log.level\"] level\n"
                        "        - remove_wildcard tmp_*\n"
                        "        - remove_regex ^debug$\n"
                        "      condition:\n"
                        "        - key_value_equals stream stderr\n"
                        "        - key_exists kubernetes.pod_name\n");
    assert_note(&r, "fb.conf:16: [FILTER] modify Move_To_End: no equivalent in skiff");
    assert_loads(&r);
    convert_result_free(&r);

    convert_ok(&r,
               "[FILTER]\n    Name modify\n    Match *\n    Condition Bogus a\n"
               "    Set \"open value\n",
               false);
    assert_error_has(&r, "fb.conf:4: [FILTER] modify Condition 'Bogus a': unknown action");
    assert_error_has(&r, "fb.conf:5: [FILTER] modify Set '\"open value': unterminated quote");
    convert_result_free(&r);
}
END_TEST

START_TEST(test_nest_and_record_modifier)
{
    struct convert_result r;
    convert_ok(&r,
               "[INPUT]\n    Name dummy\n    Tag a\n"
               "[FILTER]\n"
               "    Name nest\n    Match *\n    Operation Lift\n"
               "    Nested_under kubernetes\n    Add_prefix k8s_\n"
               "[FILTER]\n"
               "    Name nest\n    Match *\n    Operation nest\n"
               "    Wildcard k8s_*\n    Wildcard pod\n    Nest_under kubernetes\n"
               "    Remove_prefix k8s_\n"
               "[FILTER]\n"
               "    Name record_modifier\n    Match *\n"
               "    Record count 5\n    Record greeting hello world\n"
               "    Record host ${HOSTNAME}\n"
               "    Remove_key tmp\n    Remove_key debug_*\n    Uuid_key id\n"
               "[OUTPUT]\n    Name null\n    Match *\n",
               false);
    assert_yaml_has(&r, "    - name: nest\n"
                        "      match: '*'\n"
                        "      operation: lift\n"
                        "      nested_under: kubernetes\n"
                        "      add_prefix: k8s_\n"
                        "    - name: nest\n"
                        "      match: '*'\n"
                        "      operation: nest\n"
                        "      wildcard:\n"
                        "        - k8s_*\n"
                        "        - pod\n"
                        "      nest_under: kubernetes\n"
                        "      remove_prefix: k8s_\n");
    /* Fluent Bit's record values are strings: `5` stays one. */
    assert_yaml_has(&r, "      record:\n"
                        "        count: '5'\n"
                        "        greeting: hello world\n"
                        "        host: ${HOSTNAME}\n"
                        "      remove_key:\n"
                        "        - tmp\n"
                        "        - debug_*\n"
                        "      # Fluent Bit Uuid_key id: no equivalent in skiff\n");
    assert_note(&r, "[FILTER] record_modifier Uuid_key: no equivalent in skiff");
    convert_result_free(&r);
}
END_TEST

START_TEST(test_grep)
{
    struct convert_result r;
    convert_ok(&r,
               "[INPUT]\n    Name dummy\n    Tag a\n"
               "[FILTER]\n"
               "    Name grep\n    Match *\n    Alias g\n"
               "    Regex log ^hel\n"
               "    Exclude $kubernetes['labels']['app'] ^db$\n"
               "[FILTER]\n"
               "    Name grep\n    Match *\n    Logical_Op or\n"
               "    Regex level ^warn$\n    Regex level ^error$\n"
               "[FILTER]\n"
               "    Name grep\n    Match *\n    Logical_Op AND\n"
               "    Exclude log a\n    Exclude log b\n"
               "[OUTPUT]\n    Name null\n    Match *\n",
               false);
    /* Each rule of the default (legacy) form is a grep of its own. */
    assert_yaml_has(&r, "    - name: grep\n"
                        "      match: '*'\n"
                        "      alias: g\n"
                        "      key: log\n"
                        "      regex: ^hel\n"
                        "    - name: grep\n"
                        "      alias: g.1\n"
                        "      match: '*'\n"
                        "      key: kubernetes.labels.app\n"
                        "      exclude: ^db$\n");
    assert_yaml_has(&r, "      key: level\n"
                        "      regex: (?:^warn$)|(?:^error$)  # Fluent Bit's 2 rules with "
                        "Logical_Op OR\n");
    assert_yaml_has(&r, "      key: log\n"
                        "      exclude: ^(?=[\\s\\S]*?(?:a))(?=[\\s\\S]*?(?:b))  # Fluent Bit's 2 "
                        "rules with Logical_Op AND\n");
    assert_loads(&r);
    convert_result_free(&r);

    convert_ok(&r,
               "[FILTER]\n    Name grep\n    Match *\n    Logical_Op or\n"
               "    Regex a x\n    Regex b y\n",
               false);
    assert_yaml_has(&r, "# Fluent Bit [FILTER] grep (fb.conf:1): no equivalent in skiff: its "
                        "grep filters keep a record only if it passes each");
    assert_yaml_lacks(&r, "name: grep");
    assert_note(&r, "fb.conf:1: [FILTER] grep: no equivalent in skiff");
    convert_result_free(&r);

    convert_ok(&r, "[FILTER]\n    Name grep\n    Match *\n    Regex $a[0] x\n", false);
    assert_error_has(&r, "fb.conf:4: [FILTER] grep Regex '$a[0] x': '$a[0]': skiff's field "
                         "paths have no array index");
    convert_result_free(&r);
}
END_TEST

START_TEST(test_parser_and_multiline)
{
    struct convert_result r;
    convert_ok(&r,
               "[INPUT]\n    Name dummy\n    Tag a\n"
               "[FILTER]\n"
               "    Name parser\n    Match *\n    Key_Name log\n"
               "    Parser json\n    Parser logfmt\n"
               "    Reserve_Data On\n    Preserve_Key true\n"
               "[FILTER]\n"
               "    Name multiline\n    Match *\n"
               "    multiline.key_content message\n"
               "    multiline.parser go, java\n    flush_ms 1500\n"
               "[FILTER]\n"
               "    Name multiline\n    Match *\n    multiline.parser cri\n"
               "[OUTPUT]\n    Name null\n    Match *\n",
               false);
    assert_yaml_has(&r, "    - name: parser\n"
                        "      match: '*'\n"
                        "      key_name: log\n"
                        "      parser: json\n"
                        "      # Fluent Bit Parser logfmt: no equivalent in skiff (skiff's parser "
                        "filter takes one parser: the first is used)\n"
                        "      reserve_data: true\n"
                        "      preserve_key: true\n");
    assert_yaml_has(&r, "    - name: multiline\n"
                        "      match: '*'\n"
                        "      key: message\n"
                        "      parser: go\n");
    assert_yaml_has(&r, "      flush_timeout: 1500ms\n");
    assert_note(&r, "[FILTER] multiline multiline.parser: java not carried");
    assert_yaml_has(&r, "# Fluent Bit [FILTER] multiline (fb.conf:18): nothing left to do in "
                        "skiff");
    assert_loads(&r);
    convert_result_free(&r);
}
END_TEST

/* rewrite_tag and throttle are other helpers' plugins: the text only. */
START_TEST(test_rewrite_tag_and_throttle)
{
    struct convert_result r;
    convert_ok(&r,
               "[INPUT]\n    Name dummy\n    Tag kube.app\n"
               "[FILTER]\n"
               "    Name rewrite_tag\n    Match kube.*\n"
               "    Rule $kubernetes['namespace_name'] ^(shop)$ shop.$TAG false\n"
               "    Rule $log ^ERROR errors true\n"
               "    Emitter_Name re_emitted\n"
               "    Emitter_Mem_Buf_Limit 10M\n"
               "[FILTER]\n"
               "    Name throttle\n    Match *\n"
               "    Rate 800\n    Window 300\n    Interval 1m\n    Print_Status true\n"
               "[FILTER]\n"
               "    Name throttle\n    Match *\n    Rate 0.5\n    Interval 2.5s\n",
               false);
    assert_yaml_has(&r, "    - name: rewrite_tag\n"
                        "      match: kube.*\n"
                        "      rules:\n"
                        "        - $kubernetes['namespace_name'] ^(shop)$ shop.$TAG false\n"
                        "        - $log ^ERROR errors true\n"
                        "      # Fluent Bit Emitter_Name re_emitted: no equivalent in skiff");
    assert_note(&r, "fb.conf:10: [FILTER] rewrite_tag Emitter_Mem_Buf_Limit: no equivalent");
    assert_yaml_has(&r, "    - name: throttle\n"
                        "      match: '*'\n"
                        "      rate: 800\n"
                        "      window: 300\n"
                        "      interval: 1m\n"
                        "      print_status: true\n");
    assert_yaml_has(&r, "      rate: 0.5\n      interval: 2500ms\n");
    convert_result_free(&r);
}
END_TEST

Suite *convert_map_suite(void)
{
    Suite *s = suite_create("convert_map");
    TCase *inputs = tcase_create("inputs");
    tcase_add_test(inputs, test_tail);
    tcase_add_test(inputs, test_tail_multiline_and_parser);
    tcase_add_test(inputs, test_dummy);
    suite_add_tcase(s, inputs);
    TCase *filters = tcase_create("filters");
    tcase_add_test(filters, test_kubernetes);
    tcase_add_test(filters, test_modify);
    tcase_add_test(filters, test_nest_and_record_modifier);
    tcase_add_test(filters, test_grep);
    tcase_add_test(filters, test_parser_and_multiline);
    tcase_add_test(filters, test_rewrite_tag_and_throttle);
    suite_add_tcase(s, filters);
    return s;
}
