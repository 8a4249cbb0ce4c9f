"""The tail input in a rotation storm: files that live only milliseconds under
a matched name. Each round writes 3,000 numbered lines to a.log, waits G and
renames it to a.log.N (no longer matched); after 10 rounds a last a.log of
5,000 lines stays. Every line must arrive exactly once.

- inotify: the file is opened as soon as its IN_CREATE is read; one renamed
  away before that is found through the IN_MOVED_FROM/IN_MOVED_TO pair and
  read whole under its old name. G = 1 ms and 10 ms; and 1 ms through a
  glob with braces.
- poll: the globs are scanned at every poll, so a file is opened when it
  stays under its name for longer than one poll interval. Each file is
  written in three batches over 10 poll intervals (a margin for a loaded
  machine, where a poll can come late), then renamed after G = 1 ms and
  10 ms."""

import os
import time
import unittest

import harness
from harness import TempDir
import tail_writer as tw
from tail_writer import TailRun, tail_input

ROUNDS = 10
LINES = 3000
LAST = 5000
POLL_MS = 20


def storm(logs, gap, batches=1, batch_pause=0.0):
    """Writes the rounds; returns the number of lines written."""
    path = os.path.join(logs, "a.log")
    seq = 0
    for round_ in range(ROUNDS):
        per_batch = LINES // batches
        with open(path, "ab") as f:
            for b in range(batches):
                f.write(tw.make_lines("a", seq, per_batch, gen=round_))
                f.flush()
                seq += per_batch
                if batch_pause and b + 1 < batches:
                    time.sleep(batch_pause)
        time.sleep(gap)
        os.rename(path, f"{path}.{round_ + 1}")
    with open(path, "ab") as f:
        f.write(tw.make_lines("a", seq, LAST, gen=ROUNDS))
    return seq + LAST


class TailStorm(unittest.TestCase):

    def setUp(self):
        self.tmp = TempDir(self)
        self.logs = self.tmp.join("logs")
        os.makedirs(self.logs)

    def run_storm(self, gap, glob="*.log", **options):
        options.setdefault("rotate_wait", "2s")
        run = TailRun(self, self.tmp, tail_input(os.path.join(self.logs, glob), **options))
        run.wait_watched(0)
        poll = options.get("watcher") == "poll"
        total = storm(self.logs, gap, batches=3 if poll else 1,
                      batch_pause=5 * POLL_MS / 1000 if poll else 0.0)
        run.wait_delivered(total, timeout=30, expected={"a": total})
        time.sleep(0.3)  # a late duplicate would show
        samples = run.metrics()
        run.stop()
        tw.assert_exactly_once(self, run.out, {"a": total})
        lost = harness.metric(samples, "skiff_tail_files_lost_total", instance="tail.0")
        self.assertEqual(lost, 0, "skiff_tail_files_lost_total")

    def test_storm_1ms_inotify(self):
        self.run_storm(0.001)

    def test_storm_10ms_inotify(self):
        self.run_storm(0.010)

    def test_storm_1ms_inotify_brace_glob(self):
        """The same through a glob with braces, which events are matched
        against as glob(3) would."""
        self.run_storm(0.001, glob="{a,{b,c}}.log")

    def test_storm_1ms_poll(self):
        self.run_storm(0.001, watcher="poll", poll_interval=f"{POLL_MS}ms")

    def test_storm_10ms_poll(self):
        self.run_storm(0.010, watcher="poll", poll_interval=f"{POLL_MS}ms")


if __name__ == "__main__":
    unittest.main()
