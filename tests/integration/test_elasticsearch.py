"""The elasticsearch output against a fake Elasticsearch (fake_es.py) with the
real `_bulk` semantics: every document arrives exactly once under each
injected fault, rejected documents are dead-lettered with Elasticsearch's
reason, TLS (mTLS, a wrong CA, verify off, server_name) and authentication
(basic, ApiKey, files) work, and the metrics account for what happened."""

import json
import os
import time
import unittest

import harness
from fake_es import FakeElasticsearch, make_certs
from harness import Skiff, SkiffHttp, TempDir, free_port, run_cli, wait_for, write_config

OUT = "elasticsearch.0"


class ElasticsearchCase(unittest.TestCase):
    def fake(self, **kwargs):
        es = FakeElasticsearch(**kwargs).start()
        self.addCleanup(es.stop)
        return es

    def start(self, tmp, es_options, count=200, record=None, inputs=None, env=None,
              grace="5s"):
        """skiff with dummy records (field `seq` as the id) into elasticsearch."""
        port = free_port()
        if inputs is None:
            inputs = [{"name": "dummy", "tag": "app", "rate": 0, "count": count,
                       "record": record or {"msg": "hello"}}]
        output = {"name": "elasticsearch", "match": "*", "id": "field:seq",
                  "retry_min": "100ms", "retry_max": "500ms"}
        output.update(es_options)
        config = harness.pipeline_config(inputs, [output], port=port, flush_interval="100ms",
                                         state_dir=tmp.join("state"), grace=grace)
        skiff = Skiff(self, tmp, write_config(tmp, config), env=env)
        http = SkiffHttp(skiff, port)
        http.wait_up()
        return skiff, http

    def wait_docs(self, es, skiff, n, timeout=30):
        wait_for(lambda: es.doc_count() >= n, timeout, f"{n} documents in the fake",
                 alive=skiff)

    def assert_exactly_once(self, es, n, index_prefix="skiff-"):
        with es.lock:
            docs = dict(es.docs)
            writes = dict(es.writes)
        self.assertEqual(len(docs), n)
        ids = sorted(int(doc_id) for _, doc_id in docs)
        self.assertEqual(ids, list(range(ids[0], ids[0] + n)))
        self.assertEqual(set(writes.values()), {1}, "a document was written twice")
        for (index, doc_id), source in docs.items():
            self.assertTrue(index.startswith(index_prefix), index)
            self.assertEqual(str(source["seq"]), doc_id)
            self.assertIn("@timestamp", source)

    def wait_metric(self, http, name, predicate, timeout, what, **labels):
        """Polls the sum of the matching series (0 while none exists yet)."""
        def check():
            value = sum(harness.find_series(http.metrics(), name, **labels).values())
            return (True, value) if predicate(value) else None
        return wait_for(check, timeout, what, interval=0.1, alive=http.skiff)[1]

    def stop(self, skiff):
        skiff.assert_exit(self, 0, skiff.stop())


class Delivery(ElasticsearchCase):
    def test_every_document_once_with_gzip_and_metrics(self):
        """200 records in batches of 25: each document indexed once, in the
        dated default index, gzip bodies; the metrics add up."""
        tmp = TempDir(self)
        es = self.fake()
        skiff, http = self.start(tmp, {"hosts": [es.url], "batch_max_records": 25})
        self.wait_docs(es, skiff, 200)
        self.wait_metric(http, "skiff_es_documents_total", lambda v: v == 200, 10, "200 documents",
                        instance=OUT)
        samples = http.metrics()
        self.stop(skiff)
        self.assert_exactly_once(es, 200)
        index = time.strftime("skiff-%Y.%m.%d", time.gmtime())
        self.assertTrue(all(i == index for i, _ in es.docs), set(i for i, _ in es.docs))
        self.assertTrue(all(r["gzip"] for r in es.requests))
        self.assertTrue(all(r["query"]["filter_path"] == "errors,items.*.status,items.*.error"
                            for r in es.requests))
        self.assertTrue(all(r["items"] <= 25 for r in es.requests))
        requests = harness.metric(samples, "skiff_es_bulk_requests_total", instance=OUT,
                                  status="200")
        self.assertEqual(requests, len(es.requests))
        body = harness.metric(samples, "skiff_es_body_bytes_total", instance=OUT)
        sent = harness.metric(samples, "skiff_es_sent_bytes_total", instance=OUT)
        self.assertEqual(sent, sum(r["bytes"] for r in es.requests))
        self.assertLess(sent, body)
        self.assertEqual(harness.metric(samples, "skiff_es_request_duration_seconds_count",
                                        instance=OUT), len(es.requests))
        self.assertEqual(harness.metric(samples, "skiff_output_records_total", instance=OUT),
                         200)

    def test_without_compression(self):
        tmp = TempDir(self)
        es = self.fake()
        skiff, http = self.start(tmp, {"hosts": [es.url], "compress": "none"}, count=50)
        self.wait_docs(es, skiff, 50)
        samples = http.metrics()
        self.stop(skiff)
        self.assert_exactly_once(es, 50)
        self.assertFalse(any(r["gzip"] for r in es.requests))
        self.assertEqual(harness.metric(samples, "skiff_es_body_bytes_total", instance=OUT),
                         harness.metric(samples, "skiff_es_sent_bytes_total", instance=OUT))

    def test_index_pattern_data_stream_and_pipeline(self):
        """${field} and strftime in index names (logs-payments-prod-<year>
        matches Elasticsearch 8's built-in logs-*-* data-stream template, so
        it takes create only); data_stream writes with create (a second
        create of the same id is 409, counted as delivered); the pipeline
        parameter names a pipeline that exists on the server, which runs it
        on every document (a missing one would fail each item, as
        bulk/90_pipeline.yml shows)."""
        tmp = TempDir(self)
        es = self.fake()
        skiff, _ = self.start(tmp, {"hosts": [es.url],
                                    "index": "logs-${app.team}-$${env}-%Y"},
                              count=20, record={"app": {"team": "Payments"}, "env": "prod"})
        self.wait_docs(es, skiff, 20)
        self.stop(skiff)
        year = time.strftime("%Y", time.gmtime())
        self.assertEqual({i for i, _ in es.docs}, {f"logs-payments-prod-{year}"})

        tmp2 = TempDir(self)
        es2 = self.fake()
        es2.pipelines = {"add geo"}
        es2.item_429_once = {str(i) for i in range(1, 6)}
        skiff, http = self.start(tmp2, {"hosts": [es2.url], "data_stream": "logs-app-default",
                                        "pipeline": "add geo"}, count=20)
        self.wait_docs(es2, skiff, 20)
        self.wait_metric(http, "skiff_es_documents_total", lambda v: v == 20, 10, "20 documents",
                        instance=OUT)
        self.stop(skiff)
        self.assertEqual({i for i, _ in es2.docs}, {"logs-app-default"})
        self.assertTrue(all(r["query"].get("pipeline") == "add geo" for r in es2.requests))
        self.assertEqual(set(es2.pipelined.values()), {"add geo"})
        self.assertEqual(set(es2.pipelined), set(es2.docs))


class Faults(ElasticsearchCase):
    def test_items_answered_429_are_the_only_ones_sent_again(self):
        tmp = TempDir(self)
        es = self.fake()
        es.item_429_once = {str(i) for i in range(1, 200, 7)}
        skiff, http = self.start(tmp, {"hosts": [es.url]})
        self.wait_docs(es, skiff, 200)
        samples = http.metrics()
        self.stop(skiff)
        self.assert_exactly_once(es, 200)
        self.assertEqual(harness.metric(samples, "skiff_es_items_retried_total", instance=OUT),
                         len(range(1, 200, 7)))
        self.assertEqual(harness.metric(samples, "skiff_es_item_errors_total", instance=OUT,
                                        type="es_rejected_execution_exception"),
                         len(range(1, 200, 7)))

    def test_mapping_errors_go_to_the_dead_letter_file(self):
        """Documents answered 400 are dead-lettered with Elasticsearch's
        error type and reason; the others are indexed once."""
        tmp = TempDir(self)
        es = self.fake()
        es.reject_field = "bad"
        inputs = [{"name": "dummy", "tag": "good", "rate": 0, "count": 40,
                   "record": {"kind": "good"}},
                  {"name": "dummy", "tag": "bad", "rate": 0, "count": 10,
                   "record": {"kind": "bad", "bad": "not a number"}}]
        skiff, http = self.start(tmp, {"hosts": [es.url], "index": "logs-$${kind}"},
                                 inputs=inputs)
        self.wait_metric(http, "skiff_dead_letter_records_total", lambda v: v == 10, 20,
                        "10 dead letters", instance=OUT)
        self.wait_docs(es, skiff, 40)
        samples = http.metrics()
        self.stop(skiff)
        self.assertEqual({i for i, _ in es.docs}, {"logs-good"})
        # Elasticsearch 8.8+ names it document_parsing_exception.
        self.assertEqual(harness.metric(samples, "skiff_es_item_errors_total", instance=OUT,
                                        type="document_parsing_exception"), 10)
        self.assertEqual(skiff.stderr_text().count("documents rejected, e.g."), 1)
        lines = harness.read_lines(tmp.join("state", "dead-letter", OUT + ".ndjson"))
        self.assertEqual(len(lines), 10)
        for line in lines:
            entry = json.loads(line)
            self.assertEqual(entry["record"]["kind"], "bad")
            self.assertIn("document_parsing_exception", entry["reason"])
            self.assertIn("failed to parse field [bad]", entry["reason"])
            self.assertIn("400", entry["reason"])

    def test_whole_request_429_honours_retry_after(self):
        """Retry-After (up to retry_max) sets the delay, not retry_min."""
        tmp = TempDir(self)
        es = self.fake()
        es.request_faults = [(429, 1), (429, 1)]
        skiff, http = self.start(tmp, {"hosts": [es.url], "retry_max": "5s"}, count=50)
        self.wait_docs(es, skiff, 50)
        samples = http.metrics()
        self.stop(skiff)
        self.assert_exactly_once(es, 50)
        self.assertEqual(harness.metric(samples, "skiff_es_bulk_requests_total", instance=OUT,
                                        status="429"), 2)
        times = [r["at"] for r in es.requests]
        # Two 429s in a row halve the batch (a request alone over the
        # cluster's indexing pressure would never pass): 50 records go as 25+25.
        self.assertEqual([r["status"] for r in es.requests], [429, 429, 200, 200])
        for before, after in zip(times[:2], times[1:3]):
            self.assertGreaterEqual(after - before, 0.95)
        self.assertIn("HTTP 429", skiff.stderr_text())

    def test_503_then_recovery(self):
        tmp = TempDir(self)
        es = self.fake()
        es.request_faults = [(503, None)] * 3
        skiff, http = self.start(tmp, {"hosts": [es.url]}, count=50)
        self.wait_docs(es, skiff, 50)
        samples = http.metrics()
        self.stop(skiff)
        self.assert_exactly_once(es, 50)
        self.assertEqual(harness.metric(samples, "skiff_es_bulk_requests_total", instance=OUT,
                                        status="503"), 3)

    def test_closed_connections_are_retried(self):
        tmp = TempDir(self)
        es = self.fake()
        es.close_requests = 2
        skiff, http = self.start(tmp, {"hosts": [es.url]}, count=50)
        self.wait_docs(es, skiff, 50)
        samples = http.metrics()
        self.stop(skiff)
        self.assert_exactly_once(es, 50)
        self.assertEqual(harness.metric(samples, "skiff_es_bulk_requests_total", instance=OUT,
                                        status="error"), 2)

    def test_slow_responses_time_out_and_are_retried(self):
        """Answers slower than `timeout` count as timeouts and the batch is
        sent again; the fake indexed the first copy too, so ids make the
        second a harmless overwrite."""
        tmp = TempDir(self)
        es = self.fake()
        es.delay = 1.0
        skiff, http = self.start(tmp, {"hosts": [es.url], "timeout": "300ms"}, count=30)
        self.wait_metric(http, "skiff_es_bulk_requests_total", lambda v: v >= 2, 20, "two timeouts",
                        instance=OUT, status="timeout")
        es.delay = 0
        self.wait_docs(es, skiff, 30)
        self.wait_metric(http, "skiff_es_documents_total", lambda v: v >= 30, 20, "30 acknowledged",
                        instance=OUT)
        self.stop(skiff)
        self.assertEqual(len(es.docs), 30)

    def test_shutdown_while_a_request_hangs(self):
        """SIGTERM with a bulk request in flight: skiff waits out the grace
        period, cancels the request and exits 0 without leaks (ASan)."""
        tmp = TempDir(self)
        es = self.fake()
        es.delay = 5.0
        skiff, http = self.start(tmp, {"hosts": [es.url]}, count=20, grace="500ms")
        wait_for(lambda: es.requests, 10, "a request at the fake", alive=skiff)
        started = time.monotonic()
        self.stop(skiff)
        self.assertLess(time.monotonic() - started, 4)
        self.assertEqual(es.doc_count(), 0)

    def test_413_splits_the_batch(self):
        tmp = TempDir(self)
        es = self.fake()
        es.max_body = 2000
        skiff, http = self.start(tmp, {"hosts": [es.url], "compress": "none"}, count=100)
        self.wait_docs(es, skiff, 100)
        self.stop(skiff)
        self.assert_exactly_once(es, 100)
        statuses = es.statuses()
        self.assertGreater(statuses[413], 0)
        self.assertTrue(all(r["bytes"] <= 2000 for r in es.requests if r["status"] == 200))

    def test_a_record_alone_over_413_is_dead_lettered(self):
        tmp = TempDir(self)
        es = self.fake()
        es.max_body = 1500
        inputs = [{"name": "dummy", "tag": "big", "rate": 0, "count": 3,
                   "record": {"kind": "big", "pad": "x" * 3000}},
                  {"name": "dummy", "tag": "small", "rate": 0, "count": 10,
                   "record": {"kind": "small"}}]
        skiff, http = self.start(tmp, {"hosts": [es.url], "compress": "none",
                                       "index": "logs-$${kind}"}, inputs=inputs)
        self.wait_metric(http, "skiff_dead_letter_records_total", lambda v: v == 3, 20,
                        "3 dead letters", instance=OUT)
        self.wait_docs(es, skiff, 10)
        self.stop(skiff)
        self.assertEqual({i for i, _ in es.docs}, {"logs-small"})
        lines = harness.read_lines(tmp.join("state", "dead-letter", OUT + ".ndjson"))
        self.assertEqual(len(lines), 3)
        for line in lines:
            self.assertIn("413", json.loads(line)["reason"])

    def test_a_failing_host_is_skipped(self):
        """Two hosts, one refusing connections: every document arrives through
        the other without a chunk retry (the batch goes to the next host at
        once), and the failing one is logged once."""
        tmp = TempDir(self)
        es = self.fake()
        dead = f"http://127.0.0.1:{free_port()}"
        skiff, http = self.start(tmp, {"hosts": [dead, es.url], "batch_max_records": 10},
                                 count=100)
        self.wait_docs(es, skiff, 100)
        samples = http.metrics()
        self.stop(skiff)
        self.assertEqual(len(es.docs), 100)
        self.assertEqual(harness.metric(samples, "skiff_output_retries_total", instance=OUT), 0)
        self.assertGreaterEqual(harness.metric(samples, "skiff_es_retries_total", instance=OUT,
                                               reason="failover"), 1)
        log = skiff.stderr_text()
        self.assertEqual(log.count("using the other hosts until it recovers"), 1, log)


    def test_failover_sends_the_same_streamed_body(self):
        """Without compression the body is written while it is sent: the
        batch a host failed (503 after reading it) goes to the other host
        byte for byte, and every document arrives once."""
        tmp = TempDir(self)
        first, second = self.fake(), self.fake()
        first.request_faults = [(503, None)]
        skiff, http = self.start(tmp, {"hosts": [first.url, second.url], "compress": "none",
                                       "batch_max_records": 10}, count=30)
        wait_for(lambda: len(first.docs) + len(second.docs) >= 30, 20, "30 documents",
                 alive=skiff)
        self.wait_metric(http, "skiff_output_records_total", lambda v: v == 30, 20,
                         "30 records delivered", instance=OUT)
        samples = http.metrics()
        self.stop(skiff)
        failed = [r for r in first.requests if r["status"] == 503]
        self.assertEqual(len(failed), 1)
        self.assertGreater(failed[0]["bytes"], 0)
        resent = [r for r in second.requests if r.get("sha256") == failed[0]["sha256"]]
        self.assertEqual(len(resent), 1, [r["bytes"] for r in second.requests])
        self.assertEqual(resent[0]["status"], 200)
        self.assertEqual(resent[0]["items"], 10)
        self.assertEqual(len(first.docs) + len(second.docs), 30)
        self.assertEqual(set(first.docs) & set(second.docs), set())
        self.assertGreaterEqual(harness.metric(samples, "skiff_es_retries_total", instance=OUT,
                                               reason="failover"), 1)
        self.assertEqual(harness.metric(samples, "skiff_es_body_bytes_total", instance=OUT),
                         sum(r["bytes"] for r in second.requests + first.requests
                             if r["status"] == 200))


class Security(ElasticsearchCase):
    def test_basic_auth_from_a_file_reread_after_401(self):
        """A wrong password is logged once (not per attempt) and retried;
        fixing the file is enough: it is read again after a 401."""
        tmp = TempDir(self)
        es = self.fake(user="elastic", password="s3cret")
        secret = tmp.join("password")
        with open(secret, "w") as f:
            f.write("wrong\n")
        skiff, http = self.start(tmp, {"hosts": [es.url], "user": "elastic",
                                       "password_file": secret}, count=20)
        self.wait_metric(http, "skiff_es_bulk_requests_total", lambda v: v >= 3, 20, "three 401s",
                        instance=OUT, status="401")
        self.assertEqual(es.doc_count(), 0)
        with open(secret, "w") as f:
            f.write("s3cret\n")
        self.wait_docs(es, skiff, 20)
        self.stop(skiff)
        log = skiff.stderr_text()
        self.assertEqual(log.count("answered 401"), 1, log)
        self.assertIn("accepts the credentials again", log)

    def test_api_key(self):
        tmp = TempDir(self)
        es = self.fake(api_key="a2V5aWQ6a2V5")
        key_file = tmp.join("api_key")
        with open(key_file, "w") as f:
            f.write("a2V5aWQ6a2V5\n")
        skiff, _ = self.start(tmp, {"hosts": [es.url], "api_key_file": key_file}, count=20)
        self.wait_docs(es, skiff, 20)
        self.stop(skiff)
        self.assertEqual(es.statuses()[401], 0)

    def test_mutual_tls(self):
        tmp = TempDir(self)
        certs = make_certs(tmp.join("pki"))
        es = self.fake(tls={"cert": certs["server_cert"], "key": certs["server_key"],
                            "client_ca": certs["ca"]})
        url = f"https://localhost:{es.port}"
        skiff, _ = self.start(tmp, {"hosts": [url], "tls": {
            "ca_file": certs["ca"], "cert_file": certs["client_cert"],
            "key_file": certs["client_key"]}}, count=20)
        self.wait_docs(es, skiff, 20)
        self.stop(skiff)
        self.assert_exactly_once(es, 20)

    def test_server_name_checks_the_certificate_against_that_name(self):
        tmp = TempDir(self)
        certs = make_certs(tmp.join("pki"), names=("es.internal",), ips=())
        es = self.fake(tls={"cert": certs["server_cert"], "key": certs["server_key"]})
        skiff, _ = self.start(tmp, {"hosts": [es.url], "tls": {
            "ca_file": certs["ca"], "server_name": "es.internal"}}, count=20)
        self.wait_docs(es, skiff, 20)
        self.stop(skiff)

    def test_wrong_ca_is_refused_and_retried(self):
        tmp = TempDir(self)
        certs = make_certs(tmp.join("pki"))
        other = make_certs(tmp.join("other"))
        es = self.fake(tls={"cert": certs["server_cert"], "key": certs["server_key"]})
        skiff, http = self.start(tmp, {"hosts": [es.url], "tls": {"ca_file": other["ca"]}},
                                 count=20)
        self.wait_metric(http, "skiff_es_bulk_requests_total", lambda v: v >= 2, 20,
                        "two refused attempts", instance=OUT, status="error")
        self.stop(skiff)
        self.assertEqual(es.doc_count(), 0)
        self.assertRegex(skiff.stderr_text(), r"(?i)certificate|SSL")

    def test_verify_false_warns_and_works(self):
        tmp = TempDir(self)
        certs = make_certs(tmp.join("pki"))
        es = self.fake(tls={"cert": certs["server_cert"], "key": certs["server_key"]})
        skiff, _ = self.start(tmp, {"hosts": [es.url], "tls": {"verify": False}}, count=10)
        self.wait_docs(es, skiff, 10)
        self.stop(skiff)
        self.assertIn("tls.verify is false", skiff.stderr_text())


class OriginIds(ElasticsearchCase):
    def test_reading_a_file_again_overwrites_instead_of_duplicating(self):
        """With the default origin ids, reading the same file again from a
        fresh state directory lands on the same ids: written with create,
        they are answered 409 (already there) and counted as delivered."""
        tmp = TempDir(self)
        es = self.fake()
        log_path = tmp.join("app.log")
        with open(log_path, "w") as f:
            for i in range(30):
                f.write(f"line {i}\n")
        inputs = [{"name": "tail", "tag": "app", "path": log_path, "read_from_head": True}]
        for run in range(2):
            run_tmp = TempDir(self)
            skiff, http = self.start(run_tmp, {"hosts": [es.url], "id": "origin"}, inputs=inputs)
            self.wait_metric(http, "skiff_es_documents_total", lambda v: v >= 30, 20,
                             f"run {run}: 30 documents", instance=OUT)
            self.stop(skiff)
        self.assertEqual(es.doc_count(), 30)
        self.assertEqual(set(es.writes.values()), {1})


class ConfigErrors(unittest.TestCase):
    def check(self, output, expected):
        tmp = TempDir(self)
        config = harness.pipeline_config(
            [{"name": "dummy", "tag": "app", "count": 1}],
            [dict({"name": "elasticsearch", "match": "*"}, **output)])
        path = write_config(tmp, config)
        proc = run_cli(["--dry-run", "-c", path])
        self.assertEqual(proc.returncode, 2, proc.stderr)
        self.assertRegex(proc.stderr, rf"{path}:\d+:\d+: .*{expected}")

    def test_bad_url(self):
        self.check({"hosts": ["elasticsearch:9200"]}, "not an http:// or https:// URL")

    def test_missing_password_file(self):
        self.check({"hosts": ["http://127.0.0.1:9200"], "user": "elastic",
                    "password_file": "/nonexistent/password"},
                   "cannot read '/nonexistent/password'")

    def test_bad_index_pattern(self):
        self.check({"hosts": ["http://127.0.0.1:9200"], "index": "logs-%Q"}, "index")


if __name__ == "__main__":
    unittest.main()
