"""skiff --convert: Fluent Bit configurations converted, checked with
--dry-run, and run against the fakes, producing the documents Fluent Bit
would. The first is shaped like the default configuration of the Fluent Bit
Helm chart (fluent/helm-charts, charts/fluent-bit/values.yaml, `config:`:
[SERVICE] with two Parsers_File and the HTTP server, a tail input of
/var/log/containers/*.log with `multiline.parser docker, cri`, a systemd
input, the kubernetes filter with Merge_Log and Keep_Log Off, and two es
outputs with Logstash_Format and Retry_Limit False); the fixture here is our
own text of that shape, pointed at the fake API server and Elasticsearch.
The second has modify, nest (lift) and Logstash_Prefix; the third is in
Fluent Bit's YAML format. Then a plugin skiff lacks, and the errors."""

import os
import re
import unittest

from fake_es import FakeElasticsearch
from fake_k8s import make_pod
from harness import Skiff, SkiffHttp, TempDir, free_port, run_cli, wait_for
from test_kubernetes import NODE, K8sRun
from test_pipeline import read_records

HELM_SHAPED = """\
[SERVICE]
    Daemon Off
    Flush 1
    Log_Level info
    Parsers_File parsers.conf
    Parsers_File custom_parsers.conf
    HTTP_Server On
    HTTP_Listen 127.0.0.1
    HTTP_Port {http_port}
    Health_Check On
    storage.path {state}

[INPUT]
    Name tail
    Path {containers}/*.log
    multiline.parser docker, cri
    Tag kube.*
    Mem_Buf_Limit 5MB
    Skip_Long_Lines On

[INPUT]
    Name systemd
    Tag host.*
    Systemd_Filter _SYSTEMD_UNIT=kubelet.service
    Read_From_Tail On

[FILTER]
    Name kubernetes
    Match kube.*
    Kube_URL {kube_url}
    Kube_CA_File {ca_file}
    Kube_Token_File {token_file}
    Merge_Log On
    Keep_Log Off
    K8S-Logging.Parser On
    K8S-Logging.Exclude On

[OUTPUT]
    Name es
    Match kube.*
    Host 127.0.0.1
    Port {es_port}
    Logstash_Format On
    Retry_Limit False

[OUTPUT]
    Name es
    Match host.*
    Host 127.0.0.1
    Port {es_port}
    Logstash_Format On
    Logstash_Prefix node
    Retry_Limit False
"""

PARSERS = """\
[PARSER]
    Name   docker
    Format json
    Time_Key time
    Time_Format %Y-%m-%dT%H:%M:%S.%L
    Time_Keep   On
"""

CUSTOM_PARSERS = """\
[PARSER]
    Name docker_no_time
    Format json
    Time_Keep Off
    Time_Key time
    Time_Format %Y-%m-%dT%H:%M:%S.%L
"""

MODIFY_NEST = """\
@SET env=prod
[SERVICE]
    Flush        0.2
    HTTP_Server  On
    HTTP_Listen  127.0.0.1
    HTTP_Port    {http_port}
    storage.path {state}

[INPUT]
    Name    dummy
    Tag     app.web
    Dummy   {{"log":"hello","level":"warn","kubernetes":{{"pod_name":"web-1","namespace_name":"shop"}},"tmp_debug":1}}
    Samples 3

[FILTER]
    Name            modify
    Match           app.*
    Condition       Key_value_equals level warn
    Set             severity WARNING
    Rename          log message
    Add             env ${{env}}
    Remove_wildcard tmp_*

[FILTER]
    Name         nest
    Match        app.*
    Operation    lift
    Nested_under kubernetes
    Add_prefix   k8s_

[OUTPUT]
    Name               es
    Match              app.*
    Host               127.0.0.1
    Port               {es_port}
    Logstash_Format    On
    Logstash_Prefix    app
    Suppress_Type_Name On
    Retry_Limit        False
"""

YAML_FORMAT = """\
env:
  flush_interval: 0.2
service:
  flush: ${{flush_interval}}
  http_server: on
  http_listen: 127.0.0.1
  http_port: {http_port}
  storage.path: {state}
includes:
  - outputs.yaml
pipeline:
  inputs:
    - name: dummy
      tag: app.web
      dummy: '{{"msg":"hi","tmp":1}}'
      samples: 2
  filters:
    - name: record_modifier
      match: '*'
      record:
        - cluster eu-1
        - count 5
      remove_key: tmp
    - name: modify
      match: '*'
      add:
        - stage parsed
        - team sre
"""

YAML_OUTPUTS = """\
pipeline:
  outputs:
    - name: file
      match: app.*
      path: {folder}
      file: out.jsonl
"""


def write(path, text):
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    return path


def convert(test, path, env=None):
    """skiff --convert PATH; returns (exit code, YAML, stderr)."""
    proc = run_cli(["--convert", path], env=env)
    return proc.returncode, proc.stdout, proc.stderr


def converted_config(test, tmp, fb_path, env=None):
    """Converts, checks exit 0 and --dry-run; returns the YAML's path."""
    rc, yaml, err = convert(test, fb_path, env)
    test.assertEqual(rc, 0, f"--convert\n--- stderr ---\n{err}\n--- YAML ---\n{yaml}")
    path = write(tmp.join("skiff.yaml"), yaml)
    dry = run_cli(["--dry-run", "-c", path], env=env)
    test.assertEqual(dry.returncode, 0, dry.stderr)
    return path, yaml, err


class HelmChart(unittest.TestCase):
    def test_default_chart_config_runs_as_fluent_bit(self):
        run = K8sRun(self, start=False,
                     pods=[make_pod("web-1", namespace="shop", labels={"app": "web"})])
        # Fluent Bit's default Suppress_Type_Name Off sends _type, which only
        # Elasticsearch 7 takes: the chart's default config needs one.
        es = FakeElasticsearch(mode="es7").start()
        self.addCleanup(es.stop)
        http_port = free_port()
        fb = write(run.tmp.join("fluent-bit.conf"), HELM_SHAPED.format(
            http_port=http_port, state=run.tmp.join("state"), containers=run.containers,
            kube_url=run.fake.url, ca_file=run.fake.ca_file, token_file=run.token_file,
            es_port=es.port))
        write(run.tmp.join("parsers.conf"), PARSERS)
        write(run.tmp.join("custom_parsers.conf"), CUSTOM_PARSERS)
        env = {"NODE_NAME": NODE}
        # From another folder: the Parsers_File are found beside the file.
        path, yaml, err = converted_config(self, run.tmp, fb, env)
        self.assertIn("fluent-bit.conf:21: [INPUT] systemd: no equivalent in skiff", err)
        self.assertIn("fluent-bit.conf:16: [INPUT] tail multiline.parser: docker not carried",
                      err)
        self.assertIn("fluent-bit.conf:46: [OUTPUT] elasticsearch: not carried: its Match "
                      "host.* reaches none of the inputs skiff has", err)
        self.assertIn("    # Fluent Bit [INPUT] systemd (", yaml)
        self.assertIn("      index: logstash-%Y.%m.%d", yaml)
        self.assertIn("  - name: docker_no_time\n", yaml)

        skiff = Skiff(self, run.tmp, path, env=env)
        SkiffHttp(skiff, http_port).wait_up()
        run.write_cri("web-1", ['{"level":"info","msg":"hello","user":{"id":7}}', "plain text"],
                      namespace="shop")
        wait_for(lambda: es.doc_count() >= 2, 30, "two documents", alive=skiff)
        with es.lock:
            docs = dict(es.docs)
        self.assertEqual({index for index, _ in docs}, {"logstash-2026.11.23"})
        by_text = {doc.get("msg", doc.get("log")): doc for doc in docs.values()}
        merged = by_text["hello"]
        # Merge_Log: the JSON's members at the root; Keep_Log Off: no log.
        self.assertEqual(merged["level"], "info")
        self.assertEqual(merged["user"], {"id": 7})
        self.assertNotIn("log", merged)
        self.assertEqual(by_text["plain text"]["log"], "plain text")
        for doc in docs.values():
            k8s = doc["kubernetes"]
            self.assertEqual(k8s["pod_name"], "web-1")
            self.assertEqual(k8s["namespace_name"], "shop")
            self.assertEqual(k8s["container_name"], "app")
            self.assertEqual(k8s["labels"], {"app": "web"})
            self.assertEqual(doc["stream"], "stdout")
            self.assertTrue(doc["@timestamp"].startswith("2026-11-23T05:00:00.000000001"))
        self.assertEqual(skiff.stop(), 0)


class ModifyNestLogstashPrefix(unittest.TestCase):
    def test_documents_as_fluent_bit_writes_them(self):
        tmp = TempDir(self)
        es = FakeElasticsearch().start()
        self.addCleanup(es.stop)
        http_port = free_port()
        fb = write(tmp.join("fluent-bit.conf"), MODIFY_NEST.format(
            http_port=http_port, state=tmp.join("state"), es_port=es.port))
        path, yaml, err = converted_config(self, tmp, fb)
        self.assertIn("        - add env prod\n", yaml)
        skiff = Skiff(self, tmp, path)
        wait_for(lambda: es.doc_count() >= 3, 30, "three documents", alive=skiff)
        with es.lock:
            docs = dict(es.docs)
        for (index, _), doc in docs.items():
            date = doc["@timestamp"][:10].replace("-", ".")
            self.assertEqual(index, f"app-{date}")
            # What Fluent Bit writes, and skiff's dummy's seq.
            seq = doc.pop("seq")
            self.assertIn(seq, (0, 1, 2))
            doc.pop("@timestamp")
            self.assertEqual(doc, {"message": "hello", "level": "warn", "severity": "WARNING",
                                   "env": "prod", "k8s_pod_name": "web-1",
                                   "k8s_namespace_name": "shop"})
        self.assertEqual(skiff.stop(), 0)


class YamlFormat(unittest.TestCase):
    def test_fluent_bit_yaml_with_env_and_includes(self):
        tmp = TempDir(self)
        folder = tmp.join("out")
        os.makedirs(folder)
        http_port = free_port()
        fb = write(tmp.join("fluent-bit.yaml"), YAML_FORMAT.format(
            http_port=http_port, state=tmp.join("state")))
        write(tmp.join("outputs.yaml"), YAML_OUTPUTS.format(folder=folder))
        path, yaml, err = converted_config(self, tmp, fb)
        self.assertIn("  flush_interval: 200ms\n", yaml)
        skiff = Skiff(self, tmp, path)
        out = os.path.join(folder, "out.jsonl")
        records = wait_for(lambda: os.path.exists(out) and len(read_records(out)) >= 2 and
                           read_records(out), 20, "two records", alive=skiff)
        for record in records:
            self.assertEqual({k: v for k, v in record.items() if k not in ("@timestamp", "seq")},
                             {"msg": "hi", "cluster": "eu-1", "count": "5", "stage": "parsed",
                              "team": "sre"})
        self.assertEqual(skiff.stop(), 0)


class NotCarried(unittest.TestCase):
    def test_unknown_plugin_is_a_comment_and_a_line(self):
        tmp = TempDir(self)
        fb = write(tmp.join("fb.conf"), "[INPUT]\n    Name dummy\n    Tag a\n"
                                        "[FILTER]\n    Name lua\n    Match *\n"
                                        "    script /etc/a.lua\n    call cb\n"
                                        "[OUTPUT]\n    Name stdout\n    Match *\n"
                                        "    Json_Date_Key ts\n")
        path, yaml, err = converted_config(self, tmp, fb)
        self.assertIn("# Fluent Bit [FILTER] lua (", yaml)
        lines = [line for line in err.splitlines() if not line.startswith("skiff:")]
        self.assertEqual(lines, [f"{fb}:4: [FILTER] lua: no equivalent in skiff",
                                 f"{fb}:12: [OUTPUT] stdout Json_Date_Key: no equivalent in "
                                 "skiff (skiff writes the time as @timestamp, RFC 3339)"])
        self.assertIn("2 settings not carried over", err)


class RewriteTagAndThrottle(unittest.TestCase):
    def test_rules_and_rates_carry_over_and_run(self):
        """rewrite_tag's Rule lines and throttle's Rate/Window/Interval
        convert, pass --dry-run and run: the re-tagged records reach the
        output that matches only their new tag, at most Rate x Window of
        them in the first window."""
        tmp = TempDir(self)
        out = tmp.join("alerts.jsonl")
        fb = write(tmp.join("fb.conf"),
                   "[INPUT]\n    Name dummy\n    Tag app\n    Rate 200\n"
                   "[FILTER]\n    Name rewrite_tag\n    Match app\n"
                   "    Rule $message ^(dummy)$ alerts.$TAG false\n"
                   "    Emitter_Name re_emitted\n"
                   "[FILTER]\n    Name throttle\n    Match alerts.*\n"
                   "    Rate 10\n    Window 2\n    Interval 1s\n"
                   f"[OUTPUT]\n    Name file\n    Match alerts.*\n    Path {tmp.path}\n"
                   "    File alerts.jsonl\n")
        path, yaml, err = converted_config(self, tmp, fb)
        self.assertIn("$message ^(dummy)$ alerts.$TAG false", yaml)
        self.assertIn(f"{fb}:9: [FILTER] rewrite_tag Emitter_Name", err)
        skiff = Skiff(self, tmp, path)
        wait_for(lambda: os.path.exists(out) and read_records(out), 20,
                 "re-tagged records in the output", alive=skiff)
        skiff.assert_exit(self, 0, skiff.stop())
        records = read_records(out)
        self.assertGreater(len(records), 0)
        self.assertLessEqual(len(records), 10 * 2 + 10 * 4, "throttle let too many through")
        self.assertTrue(all(r["message"] == "dummy" for r in records))


README = os.path.join(os.path.dirname(__file__), "..", "..", "README.md")


class ReadmeExample(unittest.TestCase):
    def test_readme_example_is_what_convert_prints(self):
        """The README's example: its YAML and stderr lines are the output."""
        with open(README, encoding="utf-8") as f:
            text = f.read()
        start = text.index("For example, a configuration of the shape of the Fluent Bit Helm")
        blocks = re.findall(r"```(\w+)\n(.*?)```", text[start:], re.S)[:3]
        self.assertEqual([kind for kind, _ in blocks], ["text", "yaml", "text"])
        tmp = TempDir(self)
        fb = write(tmp.join("fluent-bit.conf"), blocks[0][1])
        rc, yaml, err = convert(self, fb)
        self.assertEqual(yaml.replace(fb, "fluent-bit.conf"), blocks[1][1])
        notes = [line.replace(fb, "fluent-bit.conf") for line in err.splitlines()
                 if line.startswith(fb)]
        self.assertEqual(notes, blocks[2][1].splitlines()[:-1])


class Errors(unittest.TestCase):
    def test_malformed_and_unreadable_input(self):
        tmp = TempDir(self)
        fb = write(tmp.join("fb.conf"), "[INPUT]\n    Name dummy\n  Tag a\n")
        rc, yaml, err = convert(self, fb)
        self.assertEqual(rc, 2)
        self.assertEqual(yaml, "")
        self.assertIn(f"{fb}:3: invalid indentation", err)
        rc, yaml, err = convert(self, tmp.join("missing.conf"))
        self.assertEqual(rc, 2)
        self.assertIn("missing.conf: cannot open: No such file or directory", err)
        inc = write(tmp.join("inc.conf"), "[SERVICE]\n    Parsers_File nowhere.conf\n")
        rc, yaml, err = convert(self, inc)
        self.assertEqual(rc, 2)
        self.assertIn(f"{inc}:2: Parsers_File ", err)
        self.assertIn("nowhere.conf: cannot open", err)

    def test_usage(self):
        self.assertIn("skiff --convert FILE", run_cli(["--help"]).stdout)
        proc = run_cli(["--convert"])
        self.assertEqual(proc.returncode, 2)
        self.assertIn("option '--convert' needs a value", proc.stderr)

    def test_result_skiff_refuses_is_printed_with_exit_2(self):
        tmp = TempDir(self)
        fb = write(tmp.join("fb.conf"), "[INPUT]\n    Name dummy\n    Tag a\n"
                                        "[OUTPUT]\n    Name es\n    Match a\n"
                                        "    Logstash_Format On\n"
                                        "    Logstash_DateFormat %Y-week%U\n"
                                        "    Retry_Limit soon\n")
        rc, yaml, err = convert(self, fb)
        self.assertEqual(rc, 2)
        self.assertIn("      index: logstash-%Y-week%U\n", yaml)
        self.assertIn(f"{fb}:9: [OUTPUT] es Retry_Limit 'soon': expected a number", err)
        line = yaml.splitlines().index("      index: logstash-%Y-week%U") + 1
        self.assertIn(f"converted:{line}:", err)
        self.assertIn(f"(Fluent Bit: {fb}:7)", err)
        self.assertIn("problems", err.splitlines()[-1])


if __name__ == "__main__":
    unittest.main()
