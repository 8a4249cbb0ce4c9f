"""Reloading the configuration (SIGHUP, POST /reload) while records flow: an
invalid config is refused with its file:line and the pipeline goes on; an
output's path changed under load delivers every line exactly once across the
old and new files, and what is read after the reload only to the new one,
with memory and with filesystem storage; a failing output fixed by a reload
hands its buffered records to the new one; a delivery under way finishes and
counts; /reload answers in JSON and only to POST; SIGHUP during shutdown is
ignored. Inputs across reloads and 100 reloads in a row are in
test_reload_inputs.py."""

import calendar
import http.client
import json
import os
import re
import signal
import time
import unittest

import harness
import tail_writer as tw
from fake_es import FakeElasticsearch
from harness import HOST, Skiff, SkiffHttp, TempDir, free_port, wait_for, write_config

RATE = 400  # records per second, for the dummy input and for the tail writer


def http_request(port, method, path, timeout=10.0):
    """(status, headers, body text) of one request without a body."""
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        conn.request(method, path, body=b"" if method == "POST" else None)
        response = conn.getresponse()
        return response.status, response.headers, response.read().decode("utf-8")
    finally:
        conn.close()


def post_reload(port):
    """POST /reload; returns (status, the JSON answer)."""
    status, headers, body = http_request(port, "POST", "/reload")
    if headers.get("Content-Type") != "application/json":
        raise AssertionError(f"/reload answered {status} {headers.get('Content-Type')}: {body}")
    return status, json.loads(body)


def rfc3339_seconds(text):
    """'2026-11-23T03:34:08.123456789Z' (or .123Z) as Unix seconds."""
    whole, _, fraction = text.rstrip("Z").partition(".")
    return calendar.timegm(time.strptime(whole, "%Y-%m-%dT%H:%M:%S")) + float(f"0.{fraction}")


def log_times(stderr, pattern):
    """The times (Unix seconds) of skiff's log lines matching `pattern`."""
    return [rfc3339_seconds(line.split(" ", 1)[0]) for line in stderr.splitlines()
            if re.search(pattern, line)]


def dummy(**options):
    return dict({"name": "dummy", "tag": "app", "rate": RATE, "record": {"msg": "hi"}},
                **options)


def file_output(path, **options):
    return dict({"name": "file", "alias": "out", "match": "*", "path": path}, **options)


class ReloadCase(unittest.TestCase):
    """skiff with /metrics on a free port, its config rewritten by the test."""

    def start(self, inputs, outputs, filters=None, storage="memory", grace="5s", **service):
        self.tmp = getattr(self, "tmp", None) or TempDir(self)
        self.port = free_port()
        self.service = dict(service, storage={"type": storage})
        self.inputs, self.outputs, self.filters, self.grace = inputs, outputs, filters, grace
        self.config_path = self.write()
        self.skiff = Skiff(self, self.tmp, self.config_path)
        self.http = SkiffHttp(self.skiff, self.port)
        self.http.wait_up()
        return self.skiff

    def write(self, text=None):
        """Writes the config from self.inputs, outputs, filters and service
        (or `text` as it is); returns its path."""
        if text is not None:
            return write_config(self.tmp, text)
        config = harness.pipeline_config(self.inputs, self.outputs, port=self.port,
                                         flush_interval="200ms", grace=self.grace,
                                         state_dir=self.tmp.join("state"))
        config["service"].update(self.service)
        if self.filters:
            config["pipeline"]["filters"] = self.filters
        if getattr(self, "parsers", None):
            config = dict({"parsers": self.parsers}, **config)
        return write_config(self.tmp, config)

    def reloads(self, result):
        return self.http.value("skiff_reloads_total", result=result)

    def sighup_and_wait(self, result="applied"):
        """SIGHUP, then waits until skiff_reloads_total{result} grew by one."""
        before = self.reloads(result)
        self.skiff.proc.send_signal(signal.SIGHUP)
        self.http.wait_value("skiff_reloads_total", lambda v: v >= before + 1, 20,
                             f"a reload {result}", result=result)

    def wait_grows(self, path, timeout=20):
        """Waits until `path` holds more lines than now."""
        count = harness.count_lines(path)
        wait_for(lambda: harness.count_lines(path) > count, timeout, f"new lines in {path}",
                 alive=self.skiff)


class Refused(ReloadCase):

    def test_invalid_config_refused_pipeline_goes_on(self):
        """A config with a misspelt option is refused on SIGHUP and on POST
        /reload with FILE:LINE:COL, counted, and the records keep flowing to
        the same file; a fixed config is then applied."""
        self.tmp = TempDir(self)
        out = self.tmp.join("out.log")
        self.start([dummy()], [file_output(out)])
        self.wait_grows(out)
        text = open(self.config_path, encoding="utf-8").read()
        bad = text.replace("path:", "pth:")
        line = bad.splitlines().index(next(l for l in bad.splitlines() if "pth:" in l)) + 1
        self.write(bad)
        self.sighup_and_wait("refused")
        pattern = rf"{re.escape(self.config_path)}:{line}:\d+: outputs\[0\] \(file\): unknown " \
                  r"option 'pth' \(did you mean 'path'\?\)"
        stderr = self.skiff.stderr_text()
        self.assertRegex(stderr, r"error \[reload\] refused, the running configuration goes on: "
                                 r".*errors in the configuration: " + pattern)
        self.assertEqual(self.http.value("skiff_config_last_reload_successful"), 0)
        self.wait_grows(out)

        status, answer = post_reload(self.port)
        self.assertEqual(status, 422)
        self.assertEqual(answer["result"], "refused")
        self.assertRegex(answer["reason"], pattern)
        self.assertEqual(self.reloads("refused"), 2)
        self.assertEqual(self.reloads("applied"), 0)
        self.wait_grows(out)

        self.write(text)
        loaded_before = self.http.value("skiff_config_last_load_timestamp_seconds")
        time.sleep(1.1)
        status, answer = post_reload(self.port)
        self.assertEqual((status, answer), (200, {"result": "applied",
                                                  "changes": "nothing changed"}))
        self.assertEqual(self.reloads("applied"), 1)
        self.assertEqual(self.http.value("skiff_config_last_reload_successful"), 1)
        self.assertGreater(self.http.value("skiff_config_last_load_timestamp_seconds"),
                           loaded_before)
        self.wait_grows(out)
        self.skiff.assert_exit(self, 0, self.skiff.stop())
        seqs = sorted(r["seq"] for r in tw.read_json_lines(out))
        self.assertEqual(seqs, list(range(len(seqs))), "every record once")

    def test_restart_only_setting_refused(self):
        """Changing state_dir is refused with the setting named."""
        self.tmp = TempDir(self)
        out = self.tmp.join("out.log")
        self.start([dummy()], [file_output(out)])
        self.service["state_dir"] = self.tmp.join("elsewhere")
        self.write()
        status, answer = post_reload(self.port)
        self.assertEqual((status, answer["result"]), (422, "refused"))
        self.assertEqual(answer["reason"], "changing service.state_dir needs a restart")
        self.wait_grows(out)
        self.skiff.assert_exit(self, 0, self.skiff.stop())


class OutputPathChanged(ReloadCase):

    def run_path_change(self, storage):
        """A dummy input at RATE and a tail input following a file written at
        RATE, both into a file output whose path changes on SIGHUP: every
        line is in the old file or the new one, once; the old file holds
        nothing read after the reload was applied."""
        self.tmp = TempDir(self)
        logs = self.tmp.join("logs")
        os.makedirs(logs)
        old, new = self.tmp.join("old.log"), self.tmp.join("new.log")
        writer = tw.SeqWriter(os.path.join(logs, "a.log"), rate=RATE)
        writer.start()
        tail = tw.tail_input(os.path.join(logs, "*.log"), read_from_head=True)
        self.start([dummy(), tail], [file_output(old)], storage=storage)
        wait_for(lambda: harness.count_lines(old) > RATE, 30, "records in the old file",
                 alive=self.skiff)
        self.outputs = [file_output(new)]
        self.write()
        self.sighup_and_wait()
        self.wait_grows(new)
        time.sleep(1.0)
        written = writer.stop()
        wait_for(lambda: sum(1 for r in tw.read_json_lines(new) if "log" in r)
                 + sum(1 for r in tw.read_json_lines(old) if "log" in r) >= written, 30,
                 f"{written} tail lines delivered", alive=self.skiff)
        self.skiff.assert_exit(self, 0, self.skiff.stop())

        stderr = self.skiff.stderr_text()
        applied = log_times(stderr, r"\[reload\] applied: outputs: out changed$")
        self.assertEqual(len(applied), 1, stderr)
        before, after = tw.read_json_lines(old), tw.read_json_lines(new)
        self.assertGreater(len(after), RATE // 2)
        latest_old = max(rfc3339_seconds(r["@timestamp"]) for r in before)
        # The log line's time is cut to the millisecond; records are stamped
        # when read. Nothing read after the reload went to the old file.
        self.assertLess(latest_old, applied[0] + 0.002, "a record read after the reload is "
                                                        "in the old file")
        everything = before + after
        tw.assert_exactly_once(self, tw.Delivered([r for r in everything if "log" in r]),
                               {"a": written}, what="tail lines in both files")
        seqs = sorted(r["seq"] for r in everything if "seq" in r)
        self.assertEqual(seqs, list(range(len(seqs))), "dummy records: each exactly once")
        self.assertGreater(len(seqs), RATE)

    def test_memory_storage(self):
        self.run_path_change("memory")

    def test_filesystem_storage(self):
        self.run_path_change("filesystem")


class FailingOutput(ReloadCase):

    def fake_es(self):
        es = FakeElasticsearch().start()
        self.addCleanup(es.stop)
        return es

    def es_output(self, es, **options):
        return dict({"name": "elasticsearch", "alias": "main", "match": "*", "hosts": [es.url],
                     "id": "field:seq", "retry_min": "200ms", "retry_max": "1s"}, **options)

    def test_503_fixed_by_a_reload_to_a_file(self):
        """Elasticsearch answers 503 to everything; 300 records wait in
        retries. A reload sends the output to a file instead: all 300 arrive
        there once, well within the grace period (deliveries waiting for a
        retry are taken back at once)."""
        es = self.fake_es()
        es.request_faults = [(503, None)] * 100000
        self.tmp = TempDir(self)
        out = self.tmp.join("out.log")
        self.start([dummy(rate=0, count=300)], [self.es_output(es)], grace="30s")
        self.http.wait_value("skiff_output_retries_total", lambda v: v >= 2, 20,
                             "retries against the 503s", instance="main")
        self.outputs = [file_output(out, alias="main")]
        self.write()
        started = time.monotonic()
        status, answer = post_reload(self.port)
        self.assertEqual((status, answer["result"]), (200, "applied"))
        self.assertEqual(answer["changes"], "outputs: main changed")
        wait_for(lambda: harness.count_lines(out) >= 300, 20, "300 records in the file",
                 alive=self.skiff)
        self.assertLess(time.monotonic() - started, 10)
        self.assertEqual(self.http.value("skiff_output_failing", instance="main",
                                         plugin="file"), 0)
        self.skiff.assert_exit(self, 0, self.skiff.stop())
        seqs = sorted(r["seq"] for r in tw.read_json_lines(out))
        self.assertEqual(seqs, list(range(300)))
        self.assertEqual(es.doc_count(), 0)

    def test_503_fixed_by_a_reload_to_another_cluster(self):
        """The same with the hosts changed to a healthy cluster, on
        filesystem storage: every document once in the new one."""
        broken, healthy = self.fake_es(), self.fake_es()
        broken.request_faults = [(503, None)] * 100000
        self.start([dummy(rate=0, count=300)], [self.es_output(broken)], storage="filesystem")
        self.http.wait_value("skiff_output_retries_total", lambda v: v >= 2, 20,
                             "retries against the 503s", instance="main")
        self.outputs = [self.es_output(healthy)]
        self.write()
        self.sighup_and_wait()
        wait_for(lambda: healthy.doc_count() >= 300, 20, "300 documents in the new cluster",
                 alive=self.skiff)
        self.skiff.assert_exit(self, 0, self.skiff.stop())
        with healthy.lock:
            writes = dict(healthy.writes)
        self.assertEqual(sorted(int(doc_id) for _, doc_id in writes), list(range(300)))
        self.assertEqual(set(writes.values()), {1})
        self.assertEqual(broken.doc_count(), 0)
        self.assertEqual(os.listdir(self.tmp.join("state", "chunks")), [])

    def test_delivery_under_way_finishes_and_counts(self):
        """A bulk request is under way (the cluster answers after 3 s) when
        the output is changed to a file: the reload waits for it, a second
        reload meanwhile is answered 409 (a SIGHUP is queued), and what the
        request delivered is not written to the file; the records after it
        are."""
        es = self.fake_es()
        es.delay = 3.0
        self.tmp = TempDir(self)
        out = self.tmp.join("out.log")
        self.start([dummy(rate=0, count=100)], [self.es_output(es)], grace="20s")
        wait_for(lambda: any(r["path"].endswith("/_bulk") for r in es.requests), 10,
                 "a bulk request", alive=self.skiff)
        self.inputs = [dummy(rate=0, count=100), dummy(alias="more", rate=0, count=50,
                                                      record={"more": True})]
        self.outputs = [file_output(out)]
        self.write()
        status, answer = post_reload(self.port)
        self.assertEqual((status, answer["result"]), (200, "applied"))
        status, answer = post_reload(self.port)
        self.assertEqual((status, answer["result"]), (409, "refused"))
        self.assertIn("a reload is under way", answer["reason"])
        self.skiff.proc.send_signal(signal.SIGHUP)  # queued: runs once this one is done
        self.http.wait_value("skiff_reloads_total", lambda v: v == 2, 20, "the queued reload",
                             result="applied")
        self.assertIn("one more reload follows it", self.skiff.stderr_text())
        wait_for(lambda: harness.count_lines(out) >= 50, 20, "the added input's records",
                 alive=self.skiff)
        self.skiff.assert_exit(self, 0, self.skiff.stop())
        self.assertEqual(es.doc_count(), 100)
        records = tw.read_json_lines(out)
        self.assertEqual(sorted(r["seq"] for r in records), list(range(50)))
        self.assertTrue(all(r.get("more") for r in records))

    def test_grace_over_abandons_the_delivery_under_way(self):
        """The bulk request under way outlasts service.grace (1 s): the
        reload abandons it, and the new output takes the chunk whole."""
        es = self.fake_es()
        es.delay = 6.0
        self.tmp = TempDir(self)
        out = self.tmp.join("out.log")
        self.start([dummy(rate=0, count=100)], [self.es_output(es)], grace="1s")
        wait_for(lambda: any(r["path"].endswith("/_bulk") for r in es.requests), 10,
                 "a bulk request", alive=self.skiff)
        self.outputs = [file_output(out, alias="main")]
        self.write()
        started = time.monotonic()
        self.assertEqual(post_reload(self.port)[0], 200)
        wait_for(lambda: harness.count_lines(out) >= 100, 10, "100 records in the file",
                 alive=self.skiff)
        self.assertLess(time.monotonic() - started, 5)
        self.assertIn("the old outputs still had 1 deliveries under way after service.grace "
                      "(1.0s)", self.skiff.stderr_text())
        self.skiff.assert_exit(self, 0, self.skiff.stop())
        self.assertEqual(sorted(r["seq"] for r in tw.read_json_lines(out)), list(range(100)))


class Endpoint(ReloadCase):

    def test_methods_and_listen_change(self):
        """GET and HEAD /reload answer 405 with Allow: POST; POST answers the
        changes in JSON; after a reload that moves service.http.listen the
        answer still arrives, the new port serves and the old one is
        closed."""
        self.tmp = TempDir(self)
        self.start([dummy()], [{"name": "null", "match": "*"}])
        for method in ("GET", "HEAD", "PUT"):
            status, headers, _ = http_request(self.port, method, "/reload")
            self.assertEqual((status, headers.get("Allow")), (405, "POST"), method)
        status, headers, _ = http_request(self.port, "POST", "/metrics")
        self.assertEqual((status, headers.get("Allow")), (405, "GET, HEAD"))
        self.assertEqual(self.reloads("applied"), 0)

        old_port = self.port
        self.port = free_port()
        self.service["log_level"] = "debug"
        self.write()
        status, answer = post_reload(old_port)
        self.assertEqual((status, answer), (200, {"result": "applied",
                                                  "changes": "service: log_level, "
                                                             "http.listen"}))
        http = SkiffHttp(self.skiff, self.port)
        http.wait_up()
        self.assertEqual(http.value("skiff_reloads_total", result="applied"), 1)
        with self.assertRaises(OSError):
            http_request(old_port, "GET", "/healthz", timeout=2.0)
        self.assertIn(f"listening on {HOST}:{self.port}", self.skiff.stderr_text())
        self.skiff.assert_exit(self, 0, self.skiff.stop())


    def test_reload_over_http_can_be_off(self):
        """service.http.reload: local (the default) takes POST /reload from
        this host; off refuses it with 403 and the reason, and SIGHUP still
        reloads. (Callers from other hosts, refused under `local`, would
        need traffic to another address than 127.0.0.1.)"""
        self.tmp = TempDir(self)
        self.start([dummy()], [{"name": "null", "match": "*"}])
        self.assertEqual(post_reload(self.port)[0], 200)
        self.service["http"] = {"listen": f"{HOST}:{self.port}", "reload": "off"}
        self.write()
        self.assertEqual(post_reload(self.port), (200, {"result": "applied",
                                                        "changes": "service: http.reload"}))
        # The answer above comes once the reload is applied; the old output
        # thread may still be finishing, and a POST meanwhile gets 409.
        deadline = time.monotonic() + 20
        status, answer = post_reload(self.port)
        while status == 409 and time.monotonic() < deadline:
            time.sleep(0.05)
            status, answer = post_reload(self.port)
        self.assertEqual(status, 403)
        self.assertEqual(answer["result"], "refused")
        self.assertIn("service.http.reload: off", answer["reason"])
        self.sighup_and_wait()
        self.assertEqual(self.reloads("applied"), 3)
        self.skiff.assert_exit(self, 0, self.skiff.stop())


class DuringShutdown(ReloadCase):

    def test_sighup_during_shutdown_is_ignored(self):
        """While shutdown waits for a stuck output (grace 3 s), SIGHUP is
        ignored: skiff ends after the grace period with exit 0, not killed
        by the signal."""
        es = FakeElasticsearch().start()
        self.addCleanup(es.stop)
        es.request_faults = [(503, None)] * 100000
        self.tmp = TempDir(self)
        self.start([dummy(rate=0, count=20)],
                   [{"name": "elasticsearch", "match": "*", "hosts": [es.url],
                     "retry_min": "200ms", "retry_max": "500ms"}], grace="3s")
        self.http.wait_value("skiff_output_retries_total", lambda v: v >= 1, 20, "a retry")
        self.skiff.proc.send_signal(signal.SIGTERM)
        wait_for(lambda: "SIGTERM received" in self.skiff.stderr_text(), 10, "shutdown begun",
                 alive=self.skiff)
        self.skiff.proc.send_signal(signal.SIGHUP)
        rc = self.skiff.wait_exit(20, "after SIGTERM and SIGHUP")
        self.skiff.assert_exit(self, 0, rc)
        self.assertIn("asked while shutting down: ignored", self.skiff.stderr_text())

    def test_sigterm_while_a_reload_waits(self):
        """SIGTERM while a reload waits for a bulk request under way (3 s):
        the request ends and counts (every record once in Elasticsearch,
        none sent again to the new file output), the input the reload adds
        does not start, and skiff exits 0."""
        es = FakeElasticsearch().start()
        self.addCleanup(es.stop)
        es.delay = 3.0
        self.tmp = TempDir(self)
        out = self.tmp.join("out.log")
        self.start([dummy(rate=0, count=100)],
                   [{"name": "elasticsearch", "match": "*", "hosts": [es.url],
                     "id": "field:seq"}], grace="20s")
        wait_for(lambda: any(r["path"].endswith("/_bulk") for r in es.requests), 10,
                 "a bulk request", alive=self.skiff)
        self.inputs = [dummy(rate=0, count=100), dummy(alias="more", rate=0, count=50)]
        self.outputs = [file_output(out)]
        self.write()
        self.assertEqual(post_reload(self.port)[0], 200)
        self.skiff.assert_exit(self, 0, self.skiff.stop())
        self.assertEqual(es.doc_count(), 100)
        self.assertEqual(tw.read_json_lines(out), [])


if __name__ == "__main__":
    unittest.main()
