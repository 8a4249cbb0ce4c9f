"""Options of the tail input that Fluent Bit users rely on: ignore_older, and
compressed files that a glob matches (skipped with one warning each)."""

import gzip
import os
import time
import unittest

from harness import TempDir
import tail_writer as tw
from tail_writer import SeqFile, TailRun, tail_input


class TailIgnoreOlder(unittest.TestCase):

    def test_old_file_skipped_until_written_again(self):
        """old.log, last modified two days ago, is not read with
        ignore_older: 24h; new.log is. When old.log is written again it is
        followed from the start of the new data, not from its start."""
        tmp = TempDir(self)
        logs = tmp.join("logs")
        os.makedirs(logs)
        old, new = SeqFile(os.path.join(logs, "old.log")), SeqFile(os.path.join(logs, "new.log"))
        old.append(10)
        two_days_ago = time.time() - 2 * 86400
        os.utime(old.path, (two_days_ago, two_days_ago))
        new.append(10)
        run = TailRun(self, tmp, tail_input(os.path.join(logs, "*.log"), ignore_older="24h",
                                            read_from_head=True))
        run.wait_delivered(10, expected={"new": 10})
        time.sleep(0.7)  # a rescan (refresh_interval 500ms) must not pick old.log up
        self.assertEqual(run.value("skiff_tail_files_skipped_total", reason="ignore_older"), 1)
        old.append(5)
        run.wait_delivered(15, expected={"new": 10, "old": range(10, 15)})
        time.sleep(0.3)
        run.stop()
        tw.assert_exactly_once(self, run.out, {"new": 10, "old": range(10, 15)})


class TailCompressed(unittest.TestCase):

    def test_compressed_files_skipped_with_one_warning(self):
        """A `*.log*` glob matches app.log, app.log.1.gz and app.log.2.zst:
        only app.log is read; each compressed file is warned about once,
        however many rescans see it, and counted."""
        tmp = TempDir(self)
        logs = tmp.join("logs")
        os.makedirs(logs)
        app = SeqFile(os.path.join(logs, "app.log"))
        app.append(20)
        with gzip.open(os.path.join(logs, "app.log.1.gz"), "wb") as f:
            f.write(tw.make_lines("gz", 0, 100))
        with open(os.path.join(logs, "app.log.2.zst"), "wb") as f:
            f.write(b"\x28\xb5\x2f\xfd" + os.urandom(200))
        run = TailRun(self, tmp, tail_input(os.path.join(logs, "*.log*"), read_from_head=True))
        run.wait_delivered(20, expected={"app": 20})
        time.sleep(1.2)  # two rescans
        skipped = run.value("skiff_tail_files_skipped_total", reason="compressed")
        run.stop()
        tw.assert_exactly_once(self, run.out, {"app": 20})
        self.assertEqual(skipped, 2, 'skiff_tail_files_skipped_total{reason="compressed"}')
        warnings = [line for line in run.stderr().splitlines() if "compressed; skipped" in line]
        self.assertEqual(len(warnings), 2, "\n".join(warnings))


if __name__ == "__main__":
    unittest.main()
