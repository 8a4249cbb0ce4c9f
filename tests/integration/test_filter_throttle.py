"""The throttle filter (Fluent Bit's throttle) in the running pipeline: a
window takes exactly rate × window records, the records kept at a steady
overload are what the rate allows within the window's tolerance, every drop
is in skiff_records_dropped_total{reason="throttled"}, `key` gives each value
its own window with at most `max_keys` tracked, throttling is logged at most
once a minute, and print_status logs the window every interval."""

import calendar
import re
import time
import unittest

import harness
from harness import Skiff, SkiffHttp, TempDir, free_port, run_cli, wait_for, write_config
from test_pipeline import read_records


def seconds(stamp):
    """An RFC 3339 UTC time with a fraction, as seconds since the epoch."""
    whole, _, fraction = stamp.rstrip("Z").partition(".")
    base = calendar.timegm(time.strptime(whole, "%Y-%m-%dT%H:%M:%S"))
    return base + float("0." + (fraction or "0"))


class Throttled:
    """skiff with dummy inputs (each a dict of dummy options) through one
    throttle filter into a file, /metrics on a free port."""

    def __init__(self, test, inputs, throttle):
        self.test = test
        self.tmp = TempDir(test)
        self.out = self.tmp.join("out.log")
        self.port = free_port()
        config = harness.pipeline_config(
            [dict({"name": "dummy", "tag": "app"}, **i) for i in inputs],
            [{"name": "file", "match": "*", "path": self.out}], port=self.port)
        config["pipeline"]["filters"] = [dict({"name": "throttle", "match": "*"}, **throttle)]
        self.skiff = Skiff(test, self.tmp, write_config(self.tmp, config))
        self.http = SkiffHttp(self.skiff, self.port)
        self.http.wait_up()

    def finish(self, total, timeout=60):
        """Waits until the filter saw `total` records and the kept ones are
        written; stops skiff; returns (records written, drops counted)."""
        self.http.wait_value("skiff_filter_records_total", lambda v: v == total, timeout,
                             f"the filter to see {total} records", instance="throttle.0")
        # The kept records are total - dropped; wait until all are written.
        def written():
            dropped = self.dropped()
            kept = total - dropped
            return self.http.value("skiff_output_records_total", instance="file.0") == kept
        wait_for(written, 30, "the kept records to be written", alive=self.skiff)
        dropped = self.dropped()
        self.metrics = self.http.metrics()
        self.skiff.assert_exit(self.test, 0, self.skiff.stop())
        return read_records(self.out), dropped

    def dropped(self):
        """skiff_records_dropped_total of the filter (0 before the first drop
        makes the series)."""
        labels = {"instance": "throttle.0", "reason": "throttled"}
        samples = self.http.metrics()
        if not harness.find_series(samples, "skiff_records_dropped_total", **labels):
            return 0
        return harness.metric(samples, "skiff_records_dropped_total", **labels)

    def warnings(self):
        return re.findall(r"warn +\[throttle\.0\] throttling .*", self.skiff.stderr_text())


class Throttle(unittest.TestCase):
    def test_one_window_takes_rate_times_window(self):
        """1,000 records at once within one 1-minute interval: exactly
        rate × window (10 × 3) pass, as in Fluent Bit; the other 970 are
        counted as throttled; one warning."""
        run = Throttled(self, [{"rate": 0, "count": 1000, "record": {"log": "x"}}],
                        {"rate": 10, "window": 3, "interval": "1m"})
        records, dropped = run.finish(1000)
        self.assertEqual(len(records), 30)
        self.assertEqual(dropped, 970)
        self.assertEqual(sorted(r["seq"] for r in records), list(range(30)))
        warnings = run.warnings()
        self.assertEqual(len(warnings), 1, warnings)
        self.assertIn("throttling records over 10 per 1m on average over 3 intervals",
                      warnings[0])

    def test_steady_overload_keeps_the_rate(self):
        """2,000 records/s for 3 s through rate 100 per 500ms over 2
        intervals (200 a second): the records kept are what the window
        allows over the time they span, no more, and not far fewer."""
        rate, window, interval = 100, 2, 0.5
        run = Throttled(self, [{"rate": 2000, "count": 6000, "record": {"log": "x"}}],
                        {"rate": rate, "window": window, "interval": "500ms"})
        records, dropped = run.finish(6000)
        kept = len(records)
        self.assertEqual(kept + dropped, 6000)
        times = sorted(seconds(r["@timestamp"]) for r in records)
        span = times[-1] - times[0]
        self.assertGreater(span, 2.0, "the kept records span the run")
        # The kept records touch at most span/interval + 2 panes; any
        # `window` consecutive panes hold at most rate × window.
        panes = int(span / interval) + 2
        most = rate * window * -(-panes // window)
        # Each pane the overload covers whole fills its window to the cap, so
        # each run of `window` such panes holds rate × window.
        whole = int(span / interval) - 1
        least = rate * window * (whole // window)
        self.assertLessEqual(kept, most, f"span {span:.2f}s")
        self.assertGreaterEqual(kept, least, f"span {span:.2f}s")
        # Fluent Bit's burst: the first window's rate × window pass at once.
        self.assertEqual(sorted(r["seq"] for r in records)[:rate * window],
                         list(range(rate * window)))

    def test_key_gives_each_value_a_window(self):
        """With key kubernetes.pod_name, a noisy pod is cut to its own
        rate × window while a quiet one keeps every record, and records
        without the field share one window. Without `key`, the noisy pod
        would take the whole window."""
        run = Throttled(self, [
            {"rate": 0, "count": 1000, "record": {"kubernetes": {"pod_name": "noisy"}}},
            {"rate": 0, "count": 7, "record": {"kubernetes": {"pod_name": "quiet"}}},
            {"rate": 0, "count": 8, "record": {"other": 1}},
        ], {"rate": 5, "window": 2, "interval": "1m", "key": "kubernetes.pod_name"})
        records, dropped = run.finish(1015)
        pods = [r.get("kubernetes", {}).get("pod_name") for r in records]
        self.assertEqual(pods.count("noisy"), 10)
        self.assertEqual(pods.count("quiet"), 7)
        self.assertEqual(pods.count(None), 8)
        self.assertEqual(dropped, 990)
        self.assertEqual(harness.metric(run.metrics, "skiff_throttle_keys",
                                        instance="throttle.0"), 2)
        self.assertEqual(harness.metric(run.metrics, "skiff_throttle_key_evictions_total",
                                        instance="throttle.0"), 0)
        warnings = run.warnings()
        self.assertEqual(len(warnings), 1, warnings)
        self.assertIn('throttling kubernetes.pod_name "noisy" over 5 per 1m', warnings[0])

    def test_max_keys_evicts_least_recently_seen(self):
        """Three pods through max_keys 2: the table never holds more than
        two, evictions are counted, and every record is kept or counted."""
        run = Throttled(self, [
            {"rate": 0, "count": 300, "record": {"pod": p}} for p in ("a", "b", "c")
        ], {"rate": 10, "window": 1, "interval": "1m", "key": "pod", "max_keys": 2})
        records, dropped = run.finish(900)
        self.assertEqual(len(records) + dropped, 900)
        self.assertLessEqual(harness.metric(run.metrics, "skiff_throttle_keys",
                                            instance="throttle.0"), 2)
        self.assertGreaterEqual(harness.metric(run.metrics, "skiff_throttle_key_evictions_total",
                                               instance="throttle.0"), 1)
        for pod in ("a", "b", "c"):
            self.assertGreaterEqual(sum(r["pod"] == pod for r in records), 10)

    def test_print_status(self):
        """print_status logs the limit and the window's rate every
        interval, at info."""
        run = Throttled(self, [{"rate": 100, "record": {"log": "x"}}],
                        {"rate": 5, "interval": "200ms", "print_status": True})
        wait_for(lambda: len(re.findall(r"info +\[throttle\.0\] limit 5 per 200ms over a window "
                                        r"of 5 intervals, current rate [0-9.]+ per interval",
                                        run.skiff.stderr_text())) >= 3,
                 15, "three status lines", alive=run.skiff)
        run.skiff.assert_exit(self, 0, run.skiff.stop())

    def test_config_errors(self):
        """Bad options stop skiff at load with file:line and exit 2."""
        def dry_run(filt):
            tmp = TempDir(self)
            config = harness.pipeline_config([{"name": "dummy", "tag": "a", "count": 1}],
                                             [{"name": "stdout", "match": "*"}])
            config["pipeline"]["filters"] = [dict({"name": "throttle", "match": "*"}, **filt)]
            proc = run_cli(["--dry-run", "-c", write_config(tmp, config)])
            self.assertEqual(proc.returncode, 2, proc.stderr)
            return proc.stderr
        self.assertRegex(dry_run({"window": 5}), r"skiff\.yaml:\d+:\d+: .*'rate'")
        self.assertRegex(dry_run({"rate": 5, "max_keys": 10}),
                         r"skiff\.yaml:\d+:\d+: .*'max_keys' needs 'key'")
        self.assertRegex(dry_run({"rate": 5, "key": "a..b"}),
                         r"skiff\.yaml:\d+:\d+: .*option 'key'")
        self.assertRegex(dry_run({"rate": 5, "interval": "soon"}),
                         r"skiff\.yaml:\d+:\d+: .*interval")


if __name__ == "__main__":
    unittest.main()
