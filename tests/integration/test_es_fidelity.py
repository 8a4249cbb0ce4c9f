"""The elasticsearch output against a fake Elasticsearch that answers as
Elasticsearch 8 and OpenSearch 2 do (fake_es.py, replaying
../shared/es-responses/): create by default (a create_doc role, the logs-*-*
data-stream template), privileges and missing pipelines held in the buffer,
write blocks dead-lettered, a whole-request 400 read whole and shown as
failing, headers that replace skiff's own, compatible-with, an early 413,
indexing pressure, index names made valid, a record's own @timestamp, and
credentials in a host URL that never reach the log."""

import json
import os
import time
import unittest

import harness
from harness import TempDir, run_cli, wait_for, write_config
from test_elasticsearch import OUT, ElasticsearchCase


def dead_letters(tmp):
    path = tmp.join("state", "dead-letter", OUT + ".ndjson")
    return harness.read_lines(path) if os.path.exists(path) else []


def ops(es):
    with es.lock:
        return [op for r in es.requests for op in r["ops"]]


class EsFidelityCase(ElasticsearchCase):
    def readyz(self, http):
        status, _, body = http.get("/readyz")
        return status, body

    def wait_ready(self, http, want_status, timeout=20):
        return wait_for(lambda: (lambda s, b: (s, b) if s == want_status else None)(
            *self.readyz(http)), timeout, f"/readyz {want_status}", alive=http.skiff)


class EsFidelityWrites(EsFidelityCase):
    def test_create_by_default_suffices_for_a_create_doc_role(self):
        """Origin and field ids, written with create: a role with only
        create_doc takes them all (index with an _id would be refused)."""
        for id_option in ("origin", "field:seq"):
            tmp = TempDir(self)
            es = self.fake()
            es.privileges = "create_doc"
            skiff, _ = self.start(tmp, {"hosts": [es.url], "id": id_option}, count=40)
            self.wait_docs(es, skiff, 40)
            self.stop(skiff)
            self.assertEqual(set(ops(es)), {"create"}, id_option)
            self.assertEqual(dead_letters(tmp), [])

    def test_index_matching_the_logs_data_stream_template(self):
        """index: logs-${kind}-prod is a data stream on Elasticsearch 8
        (built-in logs-*-* template), which takes create only."""
        tmp = TempDir(self)
        es = self.fake()
        skiff, _ = self.start(tmp, {"hosts": [es.url], "index": "logs-$${kind}-prod"},
                              count=20, record={"msg": "hi", "kind": "payments"})
        self.wait_docs(es, skiff, 20)
        self.stop(skiff)
        self.assertEqual({i for i, _ in es.docs}, {"logs-payments-prod"})
        self.assertEqual(dead_letters(tmp), [])

    def test_write_operation_index(self):
        tmp = TempDir(self)
        es = self.fake()
        skiff, _ = self.start(tmp, {"hosts": [es.url], "write_operation": "index"}, count=20)
        self.wait_docs(es, skiff, 20)
        self.stop(skiff)
        self.assertEqual(set(ops(es)), {"index"})


class EsFidelityHeld(EsFidelityCase):
    def test_missing_privilege_holds_records_until_granted(self):
        """Item 403 security_exception: one log line quoting the reason, no
        dead letter, /readyz 503 and skiff_output_failing 1; once the role
        is fixed every record arrives and the output is ready again."""
        tmp = TempDir(self)
        es = self.fake()
        es.privileges = "create_doc"
        skiff, http = self.start(tmp, {"hosts": [es.url], "write_operation": "index",
                                       "retry_max": "1s"}, count=30)
        wait_for(lambda: "is unauthorized" in skiff.stderr_text(), 20, "the privilege line",
                 alive=skiff)
        self.wait_ready(http, 503)
        self.assertIn("documents refused: 403 security_exception", self.readyz(http)[1])
        self.assertEqual(http.value("skiff_output_failing", instance=OUT), 1)
        time.sleep(2.5)  # a few retries at retry_max
        self.assertEqual(es.doc_count(), 0)
        self.assertEqual(dead_letters(tmp), [])
        es.privileges = "all"
        self.wait_docs(es, skiff, 30)
        self.wait_ready(http, 200)
        self.assertEqual(http.value("skiff_output_failing", instance=OUT), 0)
        self.stop(skiff)
        self.assert_exactly_once(es, 30)
        stderr = skiff.stderr_text()
        self.assertEqual(stderr.count("refused 30 documents with 403 security_exception"), 1,
                         stderr)
        self.assertIn("this action is granted by the index privileges", stderr)
        self.assertEqual(dead_letters(tmp), [])

    def test_missing_pipeline_holds_records_until_created(self):
        tmp = TempDir(self)
        es = self.fake()
        skiff, http = self.start(tmp, {"hosts": [es.url], "pipeline": "geo",
                                       "retry_max": "1s"}, count=20)
        wait_for(lambda: "pipeline with id [geo] does not exist" in skiff.stderr_text(), 20,
                 "the pipeline line", alive=skiff)
        time.sleep(1.5)
        self.assertEqual(dead_letters(tmp), [])
        es.pipelines = {"geo"}
        self.wait_docs(es, skiff, 20)
        self.stop(skiff)
        self.assertEqual(set(es.pipelined.values()), {"geo"})
        self.assertEqual(dead_letters(tmp), [])

    def test_write_block_is_dead_lettered_and_flood_stage_retried(self):
        """A write block concerns one index: its documents go to the
        dead-letter file with the reason. Flood stage is a 429: retried."""
        tmp = TempDir(self)
        es = self.fake()
        es.write_blocked = {"blocked"}
        skiff, _ = self.start(tmp, {"hosts": [es.url], "index": "blocked"}, count=10)
        wait_for(lambda: len(dead_letters(tmp)) == 10, 20, "10 dead letters", alive=skiff)
        self.stop(skiff)
        entry = json.loads(dead_letters(tmp)[0])
        self.assertIn("cluster_block_exception", entry["reason"])
        self.assertIn("FORBIDDEN/8/index write (api)", entry["reason"])

        tmp = TempDir(self)
        es = self.fake()
        es.flood_stage = True
        skiff, http = self.start(tmp, {"hosts": [es.url]}, count=10)
        self.wait_metric(http, "skiff_es_items_retried_total", lambda v: v >= 20, 20,
                         "flood-stage items retried", instance=OUT)
        es.flood_stage = False
        self.wait_docs(es, skiff, 10)
        self.stop(skiff)
        self.assertEqual(dead_letters(tmp), [])


class EsFidelityRequests(EsFidelityCase):
    def test_type_refused_by_es8_is_logged_whole_and_marks_failing(self):
        """suppress_type_name: false against Elasticsearch 8: a 400 for the
        whole request, logged with Elasticsearch's reason whole; the records
        stay buffered, nothing is dead-lettered."""
        tmp = TempDir(self)
        es = self.fake()
        skiff, http = self.start(tmp, {"hosts": [es.url], "suppress_type_name": False,
                                       "retry_max": "1s"}, count=10)
        reason = "Action/metadata line [1] contains an unknown parameter [_type]"
        wait_for(lambda: reason in skiff.stderr_text(), 20, "the whole reason", alive=skiff)
        status, body = self.wait_ready(http, 503)
        self.assertIn(f"output {OUT} failing: HTTP 400", body)
        self.assertIn(reason, body)
        self.assertEqual(http.value("skiff_output_failing", instance=OUT), 1)
        self.assertGreaterEqual(http.value("skiff_input_buffer_bytes", instance="dummy.0"), 1)
        self.stop(skiff)
        self.assertEqual(es.doc_count(), 0)
        self.assertEqual(dead_letters(tmp), [])
        self.assertEqual(skiff.stderr_text().count("refused the whole bulk request with 400"), 1)

    def test_failing_clears_on_the_next_success(self):
        tmp = TempDir(self)
        es = self.fake()
        es.request_faults = [(400, None)] * 2
        skiff, http = self.start(tmp, {"hosts": [es.url], "retry_max": "300ms"}, count=10)
        self.wait_docs(es, skiff, 10)
        self.wait_ready(http, 200)
        self.assertEqual(http.value("skiff_output_failing", instance=OUT), 0)
        samples = http.metrics()
        self.stop(skiff)
        self.assert_exactly_once(es, 10)
        self.assertEqual(harness.metric(samples, "skiff_es_retries_total", instance=OUT,
                                        reason="refused"), 2)
        self.assertIn("accepts bulk requests again", skiff.stderr_text())

    def test_user_content_type_replaces_skiffs_own(self):
        tmp = TempDir(self)
        es = self.fake()
        skiff, _ = self.start(tmp, {"hosts": [es.url],
                                    "headers": {"content-type": "application/x-ndjson",
                                                "X-Opaque-Id": "skiff"}}, count=10)
        self.wait_docs(es, skiff, 10)
        self.stop(skiff)
        for r in es.requests:
            self.assertEqual(r["headers"]["content-type"], ["application/x-ndjson"])
            self.assertEqual(r["headers"]["x-opaque-id"], ["skiff"])

    def test_compatible_with_sets_accept_and_content_type(self):
        tmp = TempDir(self)
        es = self.fake()
        skiff, _ = self.start(tmp, {"hosts": [es.url], "compatible_with": "8"}, count=10)
        self.wait_docs(es, skiff, 10)
        self.stop(skiff)
        for r in es.requests:
            self.assertEqual(r["headers"]["content-type"],
                             ["application/vnd.elasticsearch+x-ndjson; compatible-with=8"])
            self.assertEqual(r["headers"]["accept"],
                             ["application/vnd.elasticsearch+json; compatible-with=8"])

    def test_early_413_splits_instead_of_backing_off_the_host(self):
        """A body over http.max_content_length is answered 413 and split,
        with no transport error: gzip bodies of 1 MiB and more wait for 100
        Continue; bodies without compression are streamed chunked (no
        length to refuse up front, so no Expect), counted as they arrive and
        answered while the rest is still being written (4 MiB against a
        700 KiB limit): the batch still ends where it would have, so its
        halves and the items map to the right records."""
        for compress, expect, encoding, count in (("none", None, ["chunked"], 1400),
                                                  ("gzip", ["100-continue"], None, 400)):
            with self.subTest(compress=compress):
                tmp = TempDir(self)
                es = self.fake()
                es.max_content_length = 700 * 1024
                skiff, http = self.start(tmp, {"hosts": [es.url], "compress": compress,
                                               "batch_max_bytes": "4MiB"}, count=count,
                                         record={"msg": "x" * 3000})
                self.wait_docs(es, skiff, count)
                samples = http.metrics()
                self.stop(skiff)
                self.assert_exactly_once(es, count)
                with es.lock:
                    first = es.requests[0]
                self.assertEqual(first["status"], 413)
                self.assertEqual(first["headers"].get("expect"), expect)
                self.assertEqual(first["headers"].get("transfer-encoding"), encoding)
                self.assertGreater(harness.metric(samples, "skiff_es_retries_total",
                                                  instance=OUT, reason="too_large"), 0)
                for reason in ("transport", "failover"):
                    self.assertEqual(sum(harness.find_series(samples, "skiff_es_retries_total",
                                                             instance=OUT,
                                                             reason=reason).values()),
                                     0, reason)

    def test_answer_too_large_to_hold_splits_the_batch(self):
        """An answer over the 16 MiB a response may take is not read whole:
        the batch is split and each half's answer fits; the documents the
        first request wrote are answered 409 the second time, so each is
        written once."""
        tmp = TempDir(self)
        es = self.fake()
        es.answer_padding_per_item = 50_000  # 400 items: 20 MB; 200: 10 MB
        skiff, http = self.start(tmp, {"hosts": [es.url]}, count=400)
        self.wait_docs(es, skiff, 400)
        self.wait_metric(http, "skiff_es_documents_total", lambda v: v >= 400, 30,
                         "400 documents acknowledged", instance=OUT)
        samples = http.metrics()
        self.stop(skiff)
        self.assert_exactly_once(es, 400)
        self.assertGreater(harness.metric(samples, "skiff_es_retries_total", instance=OUT,
                                          reason="response_too_large"), 0)
        self.assertEqual(dead_letters(tmp), [])

    def test_413_without_expect_splits_too(self):
        """Under 1 MiB no Expect is sent: Elasticsearch answers 413 from
        Content-Length and closes while the body is still going out; the
        answer counts, not the failed send."""
        tmp = TempDir(self)
        es = self.fake()
        es.max_content_length = 64 * 1024
        skiff, http = self.start(tmp, {"hosts": [es.url], "compress": "none",
                                       "batch_max_bytes": "900KiB"}, count=300,
                                 record={"msg": "x" * 3000})
        self.wait_docs(es, skiff, 300)
        samples = http.metrics()
        self.stop(skiff)
        self.assert_exactly_once(es, 300)
        self.assertGreater(harness.metric(samples, "skiff_es_retries_total", instance=OUT,
                                          reason="too_large"), 0)
        self.assertEqual(sum(harness.find_series(samples, "skiff_es_retries_total",
                                                 instance=OUT, reason="transport").values()), 0)

    def test_request_over_indexing_pressure_shrinks_the_batch(self):
        """A body alone over the indexing pressure limit is refused 429
        forever: two in a row halve the batch until it passes."""
        tmp = TempDir(self)
        es = self.fake()
        es.indexing_pressure_limit = 6000
        skiff, http = self.start(tmp, {"hosts": [es.url], "retry_min": "50ms",
                                       "retry_max": "200ms"}, count=200)
        self.wait_docs(es, skiff, 200, timeout=40)
        samples = http.metrics()
        self.stop(skiff)
        self.assert_exactly_once(es, 200)
        self.assertGreaterEqual(harness.metric(samples, "skiff_es_batch_shrinks_total",
                                               instance=OUT), 1)
        self.assertIn("batches cut to", skiff.stderr_text())


class EsFidelityDocuments(EsFidelityCase):
    def test_index_names_from_fields_are_made_valid(self):
        tmp = TempDir(self)
        es = self.fake()
        skiff, http = self.start(tmp, {"hosts": [es.url], "index": "app-$${team}"}, count=10,
                                 record={"msg": "x", "team": "Team A/ΣΩ"})
        self.wait_docs(es, skiff, 10)
        samples = http.metrics()
        self.stop(skiff)
        self.assertEqual({i for i, _ in es.docs}, {"app-team_a_σω"})
        for reason in ("uppercase", "forbidden_character"):
            self.assertEqual(harness.metric(samples, "skiff_es_index_names_fixed_total",
                                            instance=OUT, reason=reason), 10)
        stderr = skiff.stderr_text()
        self.assertEqual(stderr.count("is not valid in Elasticsearch"), 1)
        self.assertIn("'app-Team A/ΣΩ'", stderr)
        self.assertIn("'app-team_a_σω'", stderr)

    def test_own_timestamp_is_kept_as_timestamp_original(self):
        tmp = TempDir(self)
        es = self.fake()
        skiff, http = self.start(tmp, {"hosts": [es.url]}, count=10,
                                 record={"msg": "x", "@timestamp": "the app's own"})
        self.wait_docs(es, skiff, 10)
        samples = http.metrics()
        self.stop(skiff)
        for source in es.docs.values():
            self.assertEqual(source["@timestamp_original"], "the app's own")
            self.assertRegex(source["@timestamp"], r"^\d{4}-\d\d-\d\dT")
        self.assertEqual(harness.metric(samples, "skiff_es_time_key_conflicts_total",
                                        instance=OUT), 10)

    def test_password_in_a_host_url_is_used_and_never_logged(self):
        tmp = TempDir(self)
        es = self.fake(user="elastic", password="p@ss-w0rd")
        es.request_faults = [(503, None)] * 2
        url = es.url.replace("http://", "http://elastic:p%40ss-w0rd@")
        skiff, _ = self.start(tmp, {"hosts": [url]}, count=10)
        self.wait_docs(es, skiff, 10)
        self.stop(skiff)
        stderr = skiff.stderr_text()
        self.assertIn("HTTP 503", stderr)
        self.assertNotIn("w0rd", stderr)
        self.assertNotIn("p%40ss", stderr)


class EsFidelityConfig(unittest.TestCase):
    def check(self, output, expected, secret=None):
        tmp = TempDir(self)
        config = harness.pipeline_config(
            [{"name": "dummy", "tag": "app"}],
            [dict({"name": "elasticsearch", "match": "*"}, **output)])
        path = write_config(tmp, config)
        proc = run_cli(["--dry-run", "-c", path])
        self.assertEqual(proc.returncode, 2, proc.stderr)
        self.assertRegex(proc.stderr, rf"{path}:\d+:\d+: .*{expected}")
        if secret:
            self.assertNotIn(secret, proc.stderr)

    def test_data_stream_takes_create_only(self):
        self.check({"hosts": ["http://127.0.0.1:9200"], "data_stream": "logs-app-default",
                    "write_operation": "index"}, "a data stream accepts only create")

    def test_data_stream_needs_timestamp(self):
        self.check({"hosts": ["http://127.0.0.1:9200"], "data_stream": "logs-app-default",
                    "time_key": "time"}, "a data stream needs the time in @timestamp")

    def test_url_credentials_and_user(self):
        self.check({"hosts": ["http://bob:hunter22@127.0.0.1:9200"], "user": "elastic"},
                   "carries credentials", secret="hunter22")
        self.check({"hosts": ["bob:hunter22@127.0.0.1:9200"]}, "not an http", secret="hunter22")

    def test_index_text_must_be_a_valid_name(self):
        self.check({"hosts": ["http://127.0.0.1:9200"], "index": "Logs-%Y"},
                   "not a valid Elasticsearch name")


if __name__ == "__main__":
    unittest.main()
