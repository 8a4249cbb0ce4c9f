"""Delivery failures in the running agent: a chunk an output cannot write is
retried with backoff up to retry_limit, then given up: its records go to the
dead-letter folder with the reason, or, when that is full, are counted as
dropped. Nothing is dropped without a trace."""

import json
import os
import unittest

import harness
from harness import Skiff, SkiffHttp, TempDir, free_port, write_config


class Retries(unittest.TestCase):
    def start_failing(self, tmp, port, dead_letter_max=None):
        """skiff with 50 dummy records into stdout, a pipe whose reader is
        gone: every write fails with EPIPE."""
        config = harness.pipeline_config(
            [{"name": "dummy", "tag": "app", "rate": 0, "count": 50, "record": {"m": 1}}],
            [{"name": "stdout", "match": "*", "retry_min": "20ms", "retry_max": "40ms",
              "retry_limit": 2}], port=port, flush_interval="100ms",
            state_dir=tmp.join("state"))
        if dead_letter_max is not None:
            config["service"]["dead_letter"] = {"max_size": dead_letter_max}
        read_end, write_end = os.pipe()
        os.close(read_end)
        try:
            skiff = Skiff(self, tmp, write_config(tmp, config), stdout=write_end)
        finally:
            os.close(write_end)
        http = SkiffHttp(skiff, port)
        http.wait_up()
        return skiff, http

    def test_write_errors_are_retried_then_dead_lettered(self):
        """Each chunk is tried 1 + retry_limit times, each failure is logged
        with the reason and the next delay, then the chunk is given up: its
        records are in state_dir/dead-letter/stdout.0.ndjson with the reason,
        and skiff_output_retries_total, skiff_output_failed_chunks_total and
        skiff_dead_letter_records_total account for every record."""
        tmp = TempDir(self)
        skiff, http = self.start_failing(tmp, free_port())
        http.wait_value("skiff_dead_letter_records_total", lambda v: v == 50, 20,
                        "50 records dead-lettered", instance="stdout.0")
        failed = http.value("skiff_output_failed_chunks_total", instance="stdout.0")
        retries = http.value("skiff_output_retries_total", instance="stdout.0")
        delivered = http.value("skiff_output_records_total", instance="stdout.0")
        dropped = harness.find_series(http.metrics(), "skiff_records_dropped_total")
        skiff.assert_exit(self, 0, skiff.stop())
        self.assertGreaterEqual(failed, 1)
        self.assertEqual(retries, 2 * failed)
        self.assertEqual(delivered, 0)
        self.assertEqual(sum(dropped.values()), 0, dropped)
        log = skiff.stderr_text()
        self.assertIn("Broken pipe; retry 1 in", log)
        self.assertIn("gave up after 3 attempts", log)

        lines = harness.read_lines(tmp.join("state", "dead-letter", "stdout.0.ndjson"))
        self.assertEqual(len(lines), 50)
        for line in lines:
            entry = json.loads(line)
            self.assertEqual(entry["output"], "stdout.0")
            self.assertEqual(entry["tag"], "app")
            self.assertIn("gave up after 3 attempts", entry["reason"])
            self.assertIn("Broken pipe", entry["reason"])
            self.assertEqual(entry["record"]["m"], 1)
            self.assertIn("time", entry["record"])
            self.assertTrue(entry["dead_lettered_at"].endswith("Z"))

    def test_full_dead_letter_folder_counts_drops(self):
        """With a dead-letter bound that holds only a few lines, the rest of
        the records given up on are counted as dropped, with one log line."""
        tmp = TempDir(self)
        skiff, http = self.start_failing(tmp, free_port(), dead_letter_max="1KiB")

        def accounted():
            samples = http.metrics()
            written = harness.metric(samples, "skiff_dead_letter_records_total",
                                     instance="stdout.0")
            full = sum(harness.find_series(samples, "skiff_records_dropped_total",
                                           instance="stdout.0",
                                           reason="dead_letter_full").values())
            return (written, full) if written + full == 50 else None
        written, full = harness.wait_for(accounted, 20, "50 records accounted for",
                                         interval=0.1, alive=skiff)
        skiff.assert_exit(self, 0, skiff.stop())
        self.assertGreater(written, 0)
        self.assertGreater(full, 0)
        path = tmp.join("state", "dead-letter", "stdout.0.ndjson")
        self.assertEqual(len(harness.read_lines(path)), written)
        self.assertLessEqual(os.path.getsize(path), 1024)
        self.assertEqual(skiff.stderr_text().count("is full ("), 1)


if __name__ == "__main__":
    unittest.main()
