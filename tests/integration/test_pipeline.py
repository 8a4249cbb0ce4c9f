"""skiff as a running process: records end to end, flushing on shutdown, the
HTTP endpoints, backpressure, runtime failures and signals."""

import calendar
import json
import re
import signal
import socket
import subprocess
import threading
import time
import unittest

import harness
from harness import HOST, Skiff, SkiffHttp, TempDir, free_port, wait_for, write_config

RFC3339_NANO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$")
RECORD = {"message": "hello from the tests", "level": "info", "user": {"id": 42}}
DUMMY = {"instance": "dummy.0"}
KIB = 1024
MIB = 1024 * KIB


def dummy(**options):
    """A dummy input tagged app.test emitting RECORD."""
    return dict({"name": "dummy", "tag": "app.test", "record": RECORD}, **options)


def output(name, **options):
    """An output matching app.*."""
    return dict({"name": name, "match": "app.*"}, **options)


def read_records(path):
    """Every line of `path` parsed as JSON (fails on a line that is not)."""
    records = []
    for number, line in enumerate(harness.read_lines(path), 1):
        try:
            records.append(json.loads(line))
        except ValueError as e:
            raise AssertionError(f"{path}:{number}: not JSON ({e}): {line[:200]!r}")
    return records


def assert_seq_exact(test, records, count=None):
    """The records' seq values are 0..N-1, each once; returns N."""
    seqs = sorted(r["seq"] for r in records)
    n = len(seqs) if count is None else count
    test.assertEqual(len(seqs), n, "number of records")
    if seqs != list(range(n)):
        missing = sorted(set(range(n)) - set(seqs))[:10]
        dups = sorted({s for s in seqs if seqs.count(s) > 1})[:10] if len(seqs) < 200000 else "?"
        test.fail(f"seq is not exactly 0..{n - 1}: missing {missing}, duplicated {dups}")
    return n


class EndToEnd(unittest.TestCase):
    """Records flow from dummy to file exactly once, as valid JSON lines."""

    def test_dummy_to_file_exactly_once(self):
        """10000 records reach the file, each a JSON object with an RFC 3339
        UTC nanosecond @timestamp and the configured fields; seq is 0..9999
        exactly once; SIGTERM afterwards exits 0."""
        tmp = TempDir(self)
        out = tmp.join("out.log")
        config = harness.pipeline_config([dummy(rate=0, count=10000)],
                                         [output("file", path=out)])
        started = time.time()
        skiff = Skiff(self, tmp, write_config(tmp, config))
        wait_for(lambda: harness.count_lines(out) >= 10000, 30, "10000 lines in the file",
                 alive=skiff)
        skiff.assert_exit(self, 0, skiff.stop())

        records = read_records(out)
        assert_seq_exact(self, records, 10000)
        for record in records:
            self.assertRegex(record["@timestamp"], RFC3339_NANO_UTC)
            self.assertEqual(record["message"], RECORD["message"])
            self.assertEqual(record["level"], RECORD["level"])
            self.assertEqual(record["user"], RECORD["user"])
        self.assert_timestamps_within(records, started, time.time())

    def assert_timestamps_within(self, records, start, end):
        """Every @timestamp is UTC wall-clock time between start and end."""
        for record in (records[0], records[-1]):
            stamp = record["@timestamp"]
            seconds = calendar.timegm(time.strptime(stamp[:19], "%Y-%m-%dT%H:%M:%S"))
            seconds += int(stamp[20:29]) / 1e9
            self.assertTrue(start - 1 <= seconds <= end + 1,
                            f"{stamp} is not between {start} and {end} (wrong zone?)")

    def test_values_round_trip(self):
        """Every kind of value in the configured record comes out unchanged:
        escapes, control characters, non-ASCII, big integers, floats,
        booleans, null, lists and nested maps."""
        tmp = TempDir(self)
        out = tmp.join("out.log")
        record = {"msg": 'q" b\\ n\n t\t é ✓ 😀 c\u0001 del\u007f', "i": -42,
                  "big": 9007199254740993, "f": 1.5, "t": True, "n": None, "s": "123",
                  "list": [1, "two", {"x": 3}], "empty": {}, "nested": {"a": {"b": "c"}}}
        config = harness.pipeline_config([dummy(rate=0, count=3, record=record)],
                                         [output("file", path=out)])
        skiff = Skiff(self, tmp, write_config(tmp, config))
        wait_for(lambda: harness.count_lines(out) >= 3, 15, "3 lines in the file", alive=skiff)
        skiff.assert_exit(self, 0, skiff.stop())
        for line in harness.read_lines(out):
            got = json.loads(line)
            del got["@timestamp"], got["seq"]
            self.assertEqual(got, record)


class Shutdown(unittest.TestCase):
    """SIGTERM flushes what is buffered; SIGINT does the same."""

    def start_forever(self, flush_interval, grace, out_name="out.log"):
        """dummy (rate 0, forever) -> file, with /metrics; returns
        (skiff, http, output path)."""
        tmp = TempDir(self)
        out = tmp.join(out_name)
        port = free_port()
        config = harness.pipeline_config([dummy(rate=0, count=0)], [output("file", path=out)],
                                         port=port, flush_interval=flush_interval, grace=grace)
        skiff = Skiff(self, tmp, write_config(tmp, config))
        http = SkiffHttp(skiff, port)
        http.wait_up()
        return skiff, http, out

    def test_sigterm_flushes_buffered_records(self):
        """With a 5 s flush interval the last records are still buffered at
        SIGTERM; they are all written: seq is 0..N-1 with no gap or duplicate,
        and N covers every record emitted or delivered before the signal."""
        skiff, http, out = self.start_forever(flush_interval="5s", grace="5s")
        http.wait_value("skiff_input_records_total", lambda v: v > 0, 10, "first records",
                        **DUMMY)
        time.sleep(1.0)
        before = http.metrics()
        delivered_before = harness.metric(before, "skiff_output_records_total",
                                          instance="file.0")
        emitted_before = harness.metric(before, "skiff_input_records_total", **DUMMY)
        skiff.assert_exit(self, 0, skiff.stop(signal.SIGTERM, timeout=15))

        n = assert_seq_exact(self, read_records(out))
        self.assertGreater(n, 0)
        self.assertLessEqual(delivered_before, n)
        self.assertLessEqual(emitted_before, n, "records emitted before SIGTERM were lost")

    def test_sigint_works_like_sigterm(self):
        """SIGINT stops skiff cleanly (exit 0) and flushes like SIGTERM."""
        skiff, http, out = self.start_forever(flush_interval="5s", grace="5s")
        http.wait_value("skiff_input_records_total", lambda v: v > 0, 10, "first records",
                        **DUMMY)
        emitted_before = http.value("skiff_input_records_total", **DUMMY)
        skiff.assert_exit(self, 0, skiff.stop(signal.SIGINT, timeout=15))
        n = assert_seq_exact(self, read_records(out))
        self.assertLessEqual(emitted_before, n)


class Http(unittest.TestCase):
    """/healthz, /metrics and unknown paths."""

    def test_endpoints_and_counts(self):
        """/healthz says ok, /metrics is Prometheus text with the core series,
        unknown paths are 404, and once a count-limited run is done input
        records == output records == count with an empty buffer."""
        tmp = TempDir(self)
        port = free_port()
        count = 5000
        config = harness.pipeline_config([dummy(rate=0, count=count)], [output("null")],
                                         port=port)
        skiff = Skiff(self, tmp, write_config(tmp, config))
        http = SkiffHttp(skiff, port)
        http.wait_up()

        status, _, body = http.get("/healthz")
        self.assertEqual((status, body.strip()), (200, "ok"))

        status, headers, body = http.get("/metrics")
        self.assertEqual(status, 200)
        self.assertTrue(headers.get("Content-Type", "").startswith("text/plain"),
                        headers.get("Content-Type"))
        samples = harness.parse_prometheus(body)
        for name in ("skiff_input_records_total", "skiff_input_buffer_bytes"):
            harness.metric(samples, name, instance="dummy.0", plugin="dummy")
        harness.metric(samples, "skiff_output_records_total", instance="null.0", plugin="null")
        self.assertEqual(list(harness.find_series(samples, "skiff_build_info").values()), [1.0])

        self.assertEqual(http.get("/no/such/path")[0], 404)

        http.wait_value("skiff_output_records_total", lambda v: v >= count, 30,
                        f"{count} records delivered", instance="null.0")
        http.wait_value("skiff_input_buffer_bytes", lambda v: v == 0, 10, "an empty buffer",
                        **DUMMY)
        samples = http.metrics()
        self.assertEqual(harness.metric(samples, "skiff_input_records_total", **DUMMY), count)
        self.assertEqual(harness.metric(samples, "skiff_output_records_total",
                                        instance="null.0"), count)
        skiff.assert_exit(self, 0, skiff.stop())


class Drainer(threading.Thread):
    """Reads a pipe to its end in the background, counting bytes."""

    def __init__(self, pipe):
        super().__init__(daemon=True)
        self.pipe = pipe
        self.bytes = 0

    def run(self):
        for block in iter(lambda: self.pipe.read1(64 * KIB), b""):
            self.bytes += len(block)


class Backpressure(unittest.TestCase):
    """A stuck output pauses the input instead of growing the buffer."""

    LIMIT = 1 * MIB
    # One chunk over the limit at most (a chunk is <= limit/4), plus slack.
    CEILING = LIMIT + LIMIT // 4 + 64 * KIB

    def start_stuck(self, grace="5s"):
        """dummy (rate 0) -> stdout into a pipe nobody reads yet."""
        tmp = TempDir(self)
        port = free_port()
        config = harness.pipeline_config([dummy(rate=0, buffer_limit="1MiB")],
                                         [output("stdout")], port=port, grace=grace)
        skiff = Skiff(self, tmp, write_config(tmp, config), stdout=subprocess.PIPE)
        http = SkiffHttp(skiff, port)
        http.wait_up()
        return skiff, http

    def assert_buffer_bounded(self, http, seconds, samples):
        """Samples the buffer gauge over `seconds`; each is under CEILING."""
        for _ in range(samples):
            value = http.value("skiff_input_buffer_bytes", **DUMMY)
            self.assertLessEqual(value, self.CEILING, "buffer above its limit + one chunk")
            time.sleep(seconds / samples)

    def test_pause_bound_and_resume(self):
        """The input pauses with the buffer near 1 MiB, stays paused without
        emitting, and resumes when the reader drains the pipe; SIGTERM then
        exits 0 within the grace period."""
        skiff, http = self.start_stuck()
        http.wait_value("skiff_input_paused", lambda v: v == 1, 10, "the input to pause",
                        **DUMMY)
        self.assertGreaterEqual(http.value("skiff_input_pauses_total", **DUMMY), 1)
        self.assert_buffer_bounded(http, seconds=3.0, samples=6)

        first = http.value("skiff_input_records_total", **DUMMY)
        time.sleep(1.0)
        samples = http.metrics()
        self.assertEqual(harness.metric(samples, "skiff_input_paused", **DUMMY), 1)
        self.assertLessEqual(harness.metric(samples, "skiff_input_records_total", **DUMMY)
                             - first, 10, "a paused input kept emitting")

        drainer = Drainer(skiff.proc.stdout)
        drainer.start()
        emitted = http.value("skiff_input_records_total", **DUMMY)
        delivered = http.value("skiff_output_records_total", instance="stdout.0")
        http.wait_value("skiff_input_records_total", lambda v: v > emitted + 10000, 15,
                        "input records to grow after draining", **DUMMY)
        http.wait_value("skiff_output_records_total", lambda v: v > delivered + 10000, 15,
                        "output records to grow after draining", instance="stdout.0")
        self.assert_buffer_bounded(http, seconds=1.0, samples=4)

        skiff.assert_exit(self, 0, skiff.stop(timeout=5 + 2))  # grace + slack
        drainer.join(timeout=10)
        self.assertFalse(drainer.is_alive(), "stdout not closed after exit")
        self.assertGreater(drainer.bytes, 0)

    def test_sigterm_with_stuck_output_ends_after_grace(self):
        """When the output cannot take anything, SIGTERM still ends skiff with
        exit 0 once the grace period is over, and says what was not sent."""
        skiff, http = self.start_stuck(grace="1s")
        http.wait_value("skiff_input_paused", lambda v: v == 1, 10, "the input to pause",
                        **DUMMY)
        started = time.monotonic()
        skiff.assert_exit(self, 0, skiff.stop(timeout=1 + 5))
        self.assertGreaterEqual(time.monotonic() - started, 0.9, "exited before the grace")
        self.assertIn("not delivered", skiff.stderr_text())


class RuntimeFailures(unittest.TestCase):
    """Problems only found when running exit 1 with a message naming them."""

    def test_output_file_in_missing_directory(self):
        """A file output in a folder that does not exist: exit 1, path named."""
        tmp = TempDir(self)
        out = tmp.join("no", "such", "dir", "out.log")
        config = harness.pipeline_config([dummy(rate=10)], [output("file", path=out)])
        skiff = Skiff(self, tmp, write_config(tmp, config))
        skiff.assert_exit(self, 1, skiff.wait_exit(15))
        self.assertIn(out, skiff.stderr_text())

    def test_http_port_taken(self):
        """An HTTP listen address already in use: exit 1, address named."""
        tmp = TempDir(self)
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
            taken.bind((HOST, 0))
            taken.listen(1)
            port = taken.getsockname()[1]
            config = harness.pipeline_config([dummy(rate=10)], [output("null")], port=port)
            skiff = Skiff(self, tmp, write_config(tmp, config))
            skiff.assert_exit(self, 1, skiff.wait_exit(15))
        self.assertIn(f"{HOST}:{port}", skiff.stderr_text())


if __name__ == "__main__":
    unittest.main()
