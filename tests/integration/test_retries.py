"""Delivery failures in the running agent: a chunk an output cannot write is
retried with backoff up to retry_limit, then given up, logged and counted;
nothing is dropped without a trace."""

import os
import unittest

import harness
from harness import Skiff, SkiffHttp, TempDir, free_port, write_config


class Retries(unittest.TestCase):
    def test_write_errors_are_retried_then_counted(self):
        """stdout is a pipe whose reader is gone: every write fails with
        EPIPE. Each chunk is tried 1 + retry_limit times, each failure is
        logged with the reason and the next delay, then the chunk is given
        up: skiff_output_retries_total, skiff_output_failed_chunks_total and
        skiff_records_dropped_total{reason="delivery_failed"} account for
        every record."""
        tmp = TempDir(self)
        port = free_port()
        config = harness.pipeline_config(
            [{"name": "dummy", "tag": "app", "rate": 0, "count": 50, "record": {"m": 1}}],
            [{"name": "stdout", "match": "*", "retry_min": "20ms", "retry_max": "40ms",
              "retry_limit": 2}], port=port, flush_interval="100ms")
        read_end, write_end = os.pipe()
        os.close(read_end)
        try:
            skiff = Skiff(self, tmp, write_config(tmp, config), stdout=write_end)
        finally:
            os.close(write_end)
        http = SkiffHttp(skiff, port)
        http.wait_up()
        def given_up():
            found = harness.find_series(http.metrics(), "skiff_records_dropped_total",
                                        instance="stdout.0", reason="delivery_failed")
            return sum(found.values()) == 50
        harness.wait_for(given_up, 20, "50 records given up", interval=0.1, alive=skiff)
        failed = http.value("skiff_output_failed_chunks_total", instance="stdout.0")
        retries = http.value("skiff_output_retries_total", instance="stdout.0")
        delivered = http.value("skiff_output_records_total", instance="stdout.0")
        skiff.assert_exit(self, 0, skiff.stop())
        self.assertGreaterEqual(failed, 1)
        self.assertEqual(retries, 2 * failed)
        self.assertEqual(delivered, 0)
        log = skiff.stderr_text()
        self.assertIn("Broken pipe; retry 1 in", log)
        self.assertIn("giving up after 3 attempts", log)


if __name__ == "__main__":
    unittest.main()
