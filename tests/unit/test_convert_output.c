/* Unit tests for `skiff --convert`'s mapping of Fluent Bit's outputs, the
 * [SERVICE], [PARSER] and [MULTILINE_PARSER] sections
 * (convert_map_output.c, convert_map_service.c), and of the whole document
 * (convert.c): plugins and sections without an equivalent, outputs whose
 * Match reaches no input, Fluent Bit's YAML format, source lines. */
#include "suites.h"

#include "convert_helpers.h"

#include <string.h>

#define INPUT "[INPUT]\n    Name dummy\n    Tag app.web\n"

START_TEST(test_es_logstash)
{
    struct convert_result r;
    convert_ok(&r,
               INPUT "[OUTPUT]\n"
                     "    Name es\n"
                     "    Match app.*\n"
                     "    Host elasticsearch-master\n"
                     "    Logstash_Format On\n"
                     "    Retry_Limit False\n"
                     "[OUTPUT]\n"
                     "    Name es\n"
                     "    Match *\n"
                     "    Logstash_Format On\n"
                     "    Logstash_Prefix node\n"
                     "    Logstash_Prefix_Separator _\n"
                     "    Logstash_DateFormat %Y.%m\n"
                     "    Index ignored\n"
                     "    Retry_Limit no_retries\n"
                     "[OUTPUT]\n"
                     "    Name es\n"
                     "    Match *\n"
                     "    Logstash_Format true\n"
                     "    Logstash_Prefix_Key $kubernetes['namespace_name']\n"
                     "[OUTPUT]\n"
                     "    Name es\n"
                     "    Match *\n"
                     "    Logstash_Format yes\n"
                     "    Logstash_Prefix_Key team\n",
               false);
    assert_yaml_has(&r, "    - name: elasticsearch\n"
                        "      match: app.*\n"
                        "      hosts:\n"
                        "        - http://elasticsearch-master:9200\n"
                        "      index: logstash-%Y.%m.%d  # Fluent Bit's Logstash_Format names");
    assert_yaml_has(&r, "      retry_limit: -1\n"
                        "      suppress_type_name: false  # Fluent Bit's default "
                        "Suppress_Type_Name Off sends _type");
    assert_yaml_has(&r, "        - http://127.0.0.1:9200  # Fluent Bit's default Host and Port\n"
                        "      index: node_%Y.%m\n"
                        "      # Fluent Bit Index ignored: Fluent Bit does not use Index with "
                        "Logstash_Format On\n"
                        "      retry_limit: 0\n");
    assert_yaml_has(&r, "      index: ${kubernetes.namespace_name}-%Y.%m.%d  # a record without "
                        "$kubernetes['namespace_name'] gets `unknown` here; Fluent Bit writes "
                        "logstash\n");
    /* A top-level field is $${...} in skiff: ${team} is the environment. */
    assert_yaml_has(&r, "      index: $${team}-%Y.%m.%d");
    assert_yaml_has(&r, "      retry_limit: 1  # Fluent Bit's default Retry_Limit; skiff's own is "
                        "-1, retry forever\n");
    assert_loads(&r);
    convert_result_free(&r);
}
END_TEST

START_TEST(test_es_options)
{
    struct convert_result r;
    convert_ok(&r,
               INPUT "[OUTPUT]\n"
                     "    Name es\n"
                     "    Match *\n"
                     "    Host es.example\n"
                     "    Port 9243\n"
                     "    Path /logs/\n"
                     "    tls On\n"
                     "    tls.verify Off\n"
                     "    tls.ca_file /ca.pem\n"
                     "    tls.crt_file /c.pem\n"
                     "    tls.key_file /k.pem\n"
                     "    tls.vhost es.internal\n"
                     "    tls.key_passwd s3cret\n"
                     "    HTTP_User elastic\n"
                     "    HTTP_Passwd ${ES_PASSWORD}\n"
                     "    Index app-%Y.%m.%d\n"
                     "    Suppress_Type_Name On\n"
                     "    Replace_Dots On\n"
                     "    Id_Key $request['id']\n"
                     "    Generate_ID On\n"
                     "    Write_Operation upsert\n"
                     "    Include_Tag_Key On\n"
                     "    Time_Key ts\n"
                     "    Pipeline geoip\n"
                     "    Compress gzip\n"
                     "    Workers 2\n"
                     "    Trace_Error On\n"
                     "    Retry_Limit 5\n"
                     "    Retry_Limit often\n",
               false);
    assert_yaml_has(&r, "      hosts:\n"
                        "        - https://es.example:9243/logs\n"
                        "      index: app-%Y.%m.%d  # dates of the record's time; Fluent Bit takes "
                        "the current time\n"
                        "      tls:\n"
                        "        verify: false\n"
                        "        ca_file: /ca.pem\n"
                        "        cert_file: /c.pem\n"
                        "        key_file: /k.pem\n"
                        "        server_name: es.internal\n");
    /* A secret's value is never shown in a comment or a note. */
    assert_yaml_has(&r, "      # Fluent Bit tls.key_passwd (value not shown): no equivalent in "
                        "skiff");
    assert_yaml_lacks(&r, "s3cret");
    assert_yaml_has(&r, "      user: elastic\n"
                        "      password: ${ES_PASSWORD}\n"
                        "      suppress_type_name: true\n"
                        "      dedot_keys: true\n"
                        "      id: field:request.id\n");
    assert_yaml_has(&r, "# Fluent Bit Write_Operation upsert: no equivalent in skiff");
    assert_yaml_has(&r, "      time_key: ts\n"
                        "      pipeline: geoip\n"
                        "      compress: gzip\n"
                        "      max_in_flight: 2\n");
    assert_note(&r, "[OUTPUT] es Include_Tag_Key: no equivalent in skiff");
    assert_note(&r, "[OUTPUT] es Trace_Error: no equivalent in skiff");
    assert_error_has(&r, "fb.conf:32: [OUTPUT] es Retry_Limit 'often': expected a number");
    convert_result_free(&r);
}
END_TEST

START_TEST(test_other_outputs)
{
    struct convert_result r;
    convert_ok(&r,
               INPUT "[OUTPUT]\n    Name stdout\n    Match *\n    Format json_lines\n"
                     "[OUTPUT]\n    Name file\n    Match *\n    Path /tmp/out\n"
                     "    File app.log\n"
                     "[OUTPUT]\n    Name null\n    Match *\n    Retry_Limit 2\n"
                     "[OUTPUT]\n    Name file\n    Match *\n    Path /tmp/out\n",
               false);
    assert_yaml_has(&r, "    - name: stdout\n"
                        "      match: '*'\n"
                        "      # Fluent Bit Format json_lines: skiff writes JSON lines\n");
    assert_yaml_has(&r, "    - name: file\n"
                        "      match: '*'\n"
                        "      retry_limit: 1  # Fluent Bit's default Retry_Limit");
    assert_yaml_has(&r, "      path: /tmp/out/app.log\n");
    assert_yaml_has(&r, "    - name: 'null'\n      match: '*'\n      retry_limit: 2\n");
    assert_note(&r, "fb.conf:20: [OUTPUT] file Path: Fluent Bit names the file after the tag");
    convert_result_free(&r);
}
END_TEST

START_TEST(test_service)
{
    struct convert_result r;
    convert_ok(&r,
               "[SERVICE]\n"
               "    Flush        0.5\n"
               "    Grace        30\n"
               "    Daemon       Off\n"
               "    Log_Level    trace\n"
               "    Log_File     /var/log/fb.log\n"
               "    HTTP_Server  On\n"
               "    HTTP_Port    2021\n"
               "    storage.path /var/lib/fb\n"
               "    storage.sync Full\n"
               "    scheduler.base 3\n"
               "[SERVICE]\n"
               "    HTTP_Listen  ::\n" INPUT "[OUTPUT]\n    Name null\n    Match *\n",
               false);
    assert_yaml_has(&r, "service:\n"
                        "  flush_interval: 500ms\n"
                        "  grace: 30s\n"
                        "  # Fluent Bit Daemon Off: skiff runs in the foreground\n"
                        "  log_level: debug  # Fluent Bit's trace: skiff's most detailed level is "
                        "debug\n"
                        "  # Fluent Bit Log_File /var/log/fb.log: no equivalent in skiff (skiff "
                        "logs to stderr)\n"
                        "  state_dir: /var/lib/fb\n"
                        "  storage:\n"
                        "    sync: full\n");
    assert_yaml_has(&r, "  http:\n    listen: '[::]:2021'\n");
    assert_note(&r, "fb.conf:11: [SERVICE] scheduler.base: no equivalent in skiff (retry_min of "
                    "each output)");
    convert_result_free(&r);

    convert_ok(&r, "[SERVICE]\n    HTTP_Server Off\n    HTTP_Port 2021\n", false);
    assert_yaml_has(&r, "# Fluent Bit HTTP_Port 2021: the HTTP server is off");
    assert_yaml_lacks(&r, "http:");
    convert_result_free(&r);
}
END_TEST

START_TEST(test_parsers)
{
    struct convert_result r;
    convert_ok(&r,
               "[PARSER]\n"
               "    Name        nginx\n"
               "    Format      Regex\n"
               "    Regex       ^(?<remote>\\S+) (?<code>\\d+) (?<took>[.\\d]+)$\n"
               "    Time_Key    time\n"
               "    Time_Format %d/%b/%Y:%H:%M:%S %z\n"
               "    Time_Keep   On\n"
               "    Time_Offset +0200\n"
               "    Types       code:integer took:float ok:bool id:hex\n"
               "[PARSER]\n    Name json\n    Format json\n"
               "[PARSER]\n    Name l\n    Format ltsv\n"
               "[PARSER]\n    Name odd\n    Format json\n    Time_Offset +0530\n"
               "[MULTILINE_PARSER]\n"
               "    name          trace\n"
               "    type          regex\n"
               "    flush_timeout 1000\n"
               "    rule \"start_state\" \"/^\\d{4}-/\" \"cont\"\n"
               "    rule \"cont\" \"/^\\s+at /\" \"cont\"\n"
               "[MULTILINE_PARSER]\n    name java\n    type regex\n"
               "[MULTILINE_PARSER]\n    name e\n    type endswith\n" INPUT
               "[OUTPUT]\n    Name null\n    Match *\n",
               false);
    assert_yaml_has(&r, "parsers:\n"
                        "  - name: nginx\n"
                        "    format: regex\n"
                        "    regex: ^(?<remote>\\S+) (?<code>\\d+) (?<took>[.\\d]+)$\n"
                        "    time_key: time\n"
                        "    time_format: '%d/%b/%Y:%H:%M:%S %z'\n"
                        "    time_keep: true\n"
                        "    time_zone: Etc/GMT-2  # Fluent Bit's Time_Offset +0200: a fixed "
                        "offset, no summer time\n");
    assert_yaml_has(&r, "    types:\n"
                        "      code: int\n"
                        "      took: float\n"
                        "      ok: bool\n"
                        "    # Fluent Bit Types code:integer took:float ok:bool id:hex: type of "
                        "'id:hex' not carried");
    assert_yaml_has(&r, "  # Fluent Bit [PARSER] json (fb.conf:10): skiff's built-in parser of "
                        "this name is used instead\n");
    assert_note(&r, "fb.conf:13: [PARSER] l: no equivalent in skiff for this Format");
    assert_note(&r, "[PARSER] odd Time_Offset: no equivalent in skiff");
    assert_yaml_has(&r, "multiline_parsers:\n"
                        "  - name: trace\n"
                        "    # Fluent Bit flush_timeout 1000: no equivalent in skiff "
                        "(flush_timeout of the multiline filter that uses it)\n"
                        "    rules:\n"
                        "      - state: start_state\n"
                        "        regex: ^\\d{4}-\n"
                        "        next_state: cont\n"
                        "      - state: cont\n"
                        "        regex: '^\\s+at '\n"
                        "        next_state: cont\n");
    assert_note(&r, "[MULTILINE_PARSER] java: skiff's built-in rule set of this name is used");
    assert_note(&r, "[MULTILINE_PARSER] e: no equivalent in skiff");
    assert_loads(&r);
    convert_result_free(&r);
}
END_TEST

START_TEST(test_document)
{
    struct convert_result r;
    convert_ok(&r,
               "[INPUT]\n    Name systemd\n    Tag host.*\n" INPUT
               "[FILTER]\n    Name lua\n    Match *\n    script a.lua\n"
               "[OUTPUT]\n    Name es\n    Match host.*\n"
               "[OUTPUT]\n    Name stdout\n"
               "[OUTPUT]\n    Name stdout\n    Match app.*\n"
               "[CUSTOM]\n    Name calyptia\n",
               false);
    assert_yaml_has(&r, "    # Fluent Bit [INPUT] systemd (fb.conf:1): no equivalent in skiff\n");
    assert_note(&r, "fb.conf:1: [INPUT] systemd: no equivalent in skiff");
    assert_note(&r, "fb.conf:7: [FILTER] lua: no equivalent in skiff");
    /* An output whose match reaches only inputs skiff lacks stays, as
     * comments, and so does one without Match. */
    assert_yaml_has(&r, "    # Fluent Bit [OUTPUT] elasticsearch (fb.conf:11): not carried: its "
                        "Match host.* reaches none of the inputs skiff has; kept below as "
                        "comments\n"
                        "    # - name: elasticsearch\n"
                        "    #   match: host.*\n");
    assert_note(&r, "fb.conf:11: [OUTPUT] elasticsearch: not carried: its Match host.*");
    assert_note(&r, "fb.conf:14: [OUTPUT] stdout: not carried: no Match");
    assert_yaml_has(&r, "    - name: stdout\n      match: app.*\n");
    assert_yaml_has(&r, "# Fluent Bit [CUSTOM] (fb.conf:19): no equivalent in skiff\n");
    assert_loads(&r);
    /* Each line of the YAML knows its Fluent Bit line. */
    const char *match = strstr(r.yaml, "      match: app.*");
    size_t line = 1;
    for (const char *p = r.yaml; p < match; p++)
        line += *p == '\n';
    ck_assert_str_eq(r.lines.files[line - 1], "fb.conf");
    ck_assert_int_eq(r.lines.lines[line - 1], 18);
    convert_result_free(&r);

    ck_assert_int_eq(convert_text("fb.conf", "[OUTPUT]\n    Match *\n", false, &r), 0);
    assert_error_has(&r, "fb.conf:1: [OUTPUT] without Name");
    convert_result_free(&r);
    ck_assert_int_eq(convert_text("fb.conf", "[INPUT]\nName x\n", false, &r), -1);
    ck_assert_ptr_null(r.yaml);
    assert_error_has(&r, "fb.conf:2: invalid indentation");
    convert_result_free(&r);
}
END_TEST

START_TEST(test_yaml_config)
{
    struct convert_result r;
    convert_ok(&r,
               "env:\n"
               "  index_prefix: app\n"
               "service:\n"
               "  flush: 2\n"
               "  log_level: warn\n"
               "pipeline:\n"
               "  inputs:\n"
               "    - name: dummy\n"
               "      tag: app.web\n"
               "      dummy: '{\"log\":\"x\"}'\n"
               "  filters:\n"
               "    - name: modify\n"
               "      match: '*'\n"
               "      add:\n"
               "        - a 1\n"
               "        - b 2\n"
               "      processors:\n"
               "        logs:\n"
               "          - name: content_modifier\n"
               "  outputs:\n"
               "    - name: es\n"
               "      match: '*'\n"
               "      logstash_format: on\n"
               "      logstash_prefix: ${index_prefix}\n"
               "      suppress_type_name: on\n",
               true);
    assert_yaml_has(&r, "service:\n  flush_interval: 2s\n  log_level: warn\n");
    assert_yaml_has(&r, "      rules:\n        - add a 1\n        - add b 2\n");
    assert_note(&r, "fb.yaml:17: [FILTER] modify processors: no equivalent in skiff");
    assert_yaml_has(&r, "      index: app-%Y.%m.%d\n");
    assert_loads(&r);
    convert_result_free(&r);
}
END_TEST

Suite *convert_output_suite(void)
{
    Suite *s = suite_create("convert_output");
    TCase *outputs = tcase_create("outputs");
    tcase_add_test(outputs, test_es_logstash);
    tcase_add_test(outputs, test_es_options);
    tcase_add_test(outputs, test_other_outputs);
    suite_add_tcase(s, outputs);
    TCase *sections = tcase_create("sections");
    tcase_add_test(sections, test_service);
    tcase_add_test(sections, test_parsers);
    tcase_add_test(sections, test_document);
    tcase_add_test(sections, test_yaml_config);
    suite_add_tcase(s, sections);
    return s;
}
