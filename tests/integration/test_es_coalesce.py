"""Coalesced deliveries into Elasticsearch: a hundred container files make a
hundred chunks per flush, and the elasticsearch output sends them as one bulk
request per flush (up to batch_max_bytes), not a hundred. Acknowledgement
stays per chunk and exact: through an outage (connection refused, then 503s)
and through a SIGKILL while a request is under way (the fake indexes the
body after skiff died, so the restart sends it again and gets 409), every
line is in the index exactly once by its origin id, with memory and with
filesystem storage."""

import os
import signal
import threading
import time
import unittest

import harness
import tail_writer as tw
from fake_es import FakeElasticsearch
from harness import Skiff, SkiffHttp, TempDir, free_port, wait_for

OUT = "elasticsearch.0"
FILES = 100


class Files:
    """FILES log files under tmp/logs, each a numbered stream (tail_writer's
    lines); append() adds lines to every file."""

    def __init__(self, tmp):
        self.dir = tmp.join("logs")
        os.makedirs(self.dir, exist_ok=True)
        self.names = [f"c{i:03d}" for i in range(FILES)]
        self.counts = {name: 0 for name in self.names}

    def append(self, lines):
        for name in self.names:
            with open(os.path.join(self.dir, name + ".log"), "ab") as f:
                f.write(tw.make_lines(name, self.counts[name], lines))
            self.counts[name] += lines

    def total(self):
        return sum(self.counts.values())


class Writer(threading.Thread):
    """Appends `lines` to every file every `period` seconds until stopped."""

    def __init__(self, files, lines, period):
        super().__init__(daemon=True)
        self.files, self.lines, self.period = files, lines, period
        self.done = threading.Event()

    def run(self):
        while not self.done.wait(self.period):
            self.files.append(self.lines)

    def stop(self):
        self.done.set()
        self.join(10)


class CoalesceCase(unittest.TestCase):
    def fake(self, **kwargs):
        es = FakeElasticsearch(**kwargs)
        self.addCleanup(es.stop)
        return es

    def start(self, tmp, files, url, run="run1", storage=False, flush="1s", **es_options):
        """skiff tailing the files (read from the head, tag per file) into
        elasticsearch with origin ids and create (the defaults)."""
        port = free_port()
        run_dir = tw._RunDir(tmp, run)
        inputs = [tw.tail_input(os.path.join(files.dir, "*.log"), read_from_head=True)]
        output = {"name": "elasticsearch", "match": "*", "hosts": [url], "retry_min": "200ms",
                  "retry_max": "1s", "timeout": "5s"}
        output.update(es_options)
        config = harness.pipeline_config(inputs, [output], port=port, flush_interval=flush,
                                         state_dir=tmp.join("state"))
        if storage:
            config["service"]["storage"] = {"type": "filesystem"}
        skiff = Skiff(self, run_dir, harness.write_config(run_dir, config))
        http = SkiffHttp(skiff, port)
        http.wait_up()
        return skiff, http

    def wait_all(self, es, skiff, files, timeout=60):
        total = files.total()
        wait_for(lambda: es.doc_count() >= total, timeout,
                 f"{total} documents in the fake", interval=0.1, alive=skiff)

    def assert_exactly_once(self, es, files):
        """Every line of every file is in the index once, under one origin id,
        and was written once (a resend was answered 409)."""
        with es.lock:
            sources = list(es.docs.values())
            writes = dict(es.writes)
        self.assertEqual(set(writes.values()), {1}, "a document was written twice")
        delivered = tw.Delivered(sources, path_key=None)
        problems = [p for p in delivered.problems(files.counts) if "out of order" not in p]
        self.assertEqual(problems, [], "\n".join(tw.shorten(problems)))
        self.assertEqual(len(sources), files.total())

    def bulk_requests(self, es):
        with es.lock:
            return [r for r in es.requests if r["path"].endswith("_bulk")]


class AtRest(CoalesceCase):
    def test_one_bulk_request_per_flush_from_a_hundred_files(self):
        """A hundred files written a few lines at a time: each flush seals a
        hundred chunks, which go in one request; without coalescing each
        flush would send a hundred."""
        tmp = TempDir(self)
        es = self.fake().start()
        files = Files(tmp)
        files.append(5)
        skiff, http = self.start(tmp, files, es.url)
        self.wait_all(es, skiff, files)
        started = time.monotonic()
        before = len(self.bulk_requests(es))
        writer = Writer(files, 2, 0.25)
        writer.start()
        time.sleep(4)
        writer.stop()
        self.wait_all(es, skiff, files)
        elapsed = time.monotonic() - started
        requests = len(self.bulk_requests(es)) - before
        flushes = elapsed / 1.0
        print(f"\n  {requests} bulk requests in {elapsed:.1f}s ({flushes:.1f} flushes) "
              f"for {FILES} files")
        # One per flush, and one or two more where a flush met lines half
        # read; a hundred per flush without coalescing.
        self.assertLessEqual(requests, flushes + 3)
        http.wait_value("skiff_output_records_total", lambda v: v == files.total(), 10,
                        "every record counted delivered", instance=OUT)
        skiff.assert_exit(self, 0, skiff.stop())
        self.assert_exactly_once(es, files)


class Faults(CoalesceCase):
    def test_outage_then_recovery(self):
        """The cluster is down (connection refused), then answers 503 to
        whole requests, then recovers: every line once."""
        tmp = TempDir(self)
        files = Files(tmp)
        files.append(20)
        port = free_port()
        skiff, http = self.start(tmp, files, f"http://127.0.0.1:{port}")
        writer = Writer(files, 3, 0.2)
        writer.start()
        http.wait_value("skiff_es_bulk_requests_total", lambda v: v >= 2, 20,
                        "requests refused while the cluster is down", instance=OUT,
                        status="error")
        es = self.fake(port=port)
        es.request_faults = [(503, None)] * 3
        es.start()
        time.sleep(1.5)
        writer.stop()
        self.wait_all(es, skiff, files)
        http.wait_value("skiff_es_bulk_requests_total", lambda v: v == 3, 10, "three 503s",
                        instance=OUT, status="503")
        skiff.assert_exit(self, 0, skiff.stop())
        self.assert_exactly_once(es, files)

    def sigkill_mid_request(self, storage):
        """Requests take a while to be answered; skiff is SIGKILLed while
        one is under way (the fake indexes it anyway, as a node that got the
        body does) and started again: nothing lost, nothing twice."""
        tmp = TempDir(self)
        es = self.fake().start()
        files = Files(tmp)
        files.append(30)
        es.delay = 0.5
        skiff, http = self.start(tmp, files, es.url, storage=storage, flush="300ms")
        writer = Writer(files, 2, 0.1)
        writer.start()
        wait_for(lambda: es.doc_count() > 0 and len(self.bulk_requests(es)) >= 2, 30,
                 "documents indexed", alive=skiff)
        # A request is under way: its record is in the fake, its status not.
        wait_for(lambda: any(r["status"] is None for r in self.bulk_requests(es)), 10,
                 "a request under way", interval=0.01, alive=skiff)
        skiff.proc.send_signal(signal.SIGKILL)
        skiff.wait_exit(10, "after SIGKILL")
        writer.stop()
        time.sleep(es.delay + 0.2)  # the request under way is indexed
        es.delay = 0
        indexed_before = es.doc_count()
        skiff, http = self.start(tmp, files, es.url, run="run2", storage=storage)
        self.wait_all(es, skiff, files)
        http.wait_value("skiff_output_records_total", lambda v: v >= files.total() - indexed_before,
                        10, "the rest counted delivered", instance=OUT)
        samples = http.metrics()
        skiff.assert_exit(self, 0, skiff.stop())
        self.assert_exactly_once(es, files)
        resent = harness.metric(samples, "skiff_es_documents_total", instance=OUT) \
            - (files.total() - indexed_before)
        print(f"\n  {indexed_before} of {files.total()} lines indexed before the SIGKILL; "
              f"{resent} sent again and answered 409")
        return resent

    def test_sigkill_mid_request(self):
        self.sigkill_mid_request(storage=False)

    def test_sigkill_mid_request_with_filesystem_storage(self):
        self.sigkill_mid_request(storage=True)


if __name__ == "__main__":
    unittest.main()
