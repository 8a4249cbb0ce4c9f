"""copytruncate with a writer that does not use O_APPEND: after the
truncation the writer goes on at its old offset, and the file starts with a
hole of NUL bytes as long as it was. The hole is skipped, not shipped as
lines, and counted in skiff_tail_bytes_skipped_total{reason="nul"}."""

import os
import shutil
import unittest

import harness
from harness import TempDir
import tail_writer as tw
from tail_writer import TailRun, tail_input


class TailCopytruncateHole(unittest.TestCase):

    def test_nul_hole_skipped(self):
        tmp = TempDir(self)
        logs = tmp.join("logs")
        os.makedirs(logs)
        path = os.path.join(logs, "app.log")
        run = TailRun(self, tmp, tail_input(os.path.join(logs, "*.log")))
        fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o644)  # no O_APPEND
        self.addCleanup(os.close, fd)
        before = tw.make_lines("app", 0, 2000)
        os.write(fd, before)
        run.wait_delivered(2000, expected={"app": 2000})

        shutil.copyfile(path, path + ".1")
        os.truncate(path, 0)
        run.wait_value("skiff_tail_truncations_total", lambda v: v == 1, 10, "the truncation")
        os.write(fd, tw.make_lines("app", 2000, 500, gen=1))  # at offset len(before)
        run.wait_delivered(2500, expected={"app": 2500})
        skipped = run.value("skiff_tail_bytes_skipped_total", reason="nul")
        run.stop()

        tw.assert_exactly_once(self, run.out, {"app": 2500})
        self.assertEqual(skipped, len(before), 'skiff_tail_bytes_skipped_total{reason="nul"}')

    def test_hole_noticed_by_its_first_bytes(self):
        """The writer writes past the old offset before skiff saw the file
        shrink: the changed first bytes (now NULs) tell the truncation
        apart, and the hole is skipped as well."""
        tmp = TempDir(self)
        logs = tmp.join("logs")
        os.makedirs(logs)
        path = os.path.join(logs, "app.log")
        run = TailRun(self, tmp, tail_input(os.path.join(logs, "*.log")))
        with open(path, "wb") as f:
            before = tw.make_lines("app", 0, 1000)
            f.write(before)
            f.flush()
            run.wait_delivered(1000, expected={"app": 1000})
            f.truncate(0)
            f.write(tw.make_lines("app", 1000, 300, gen=1))  # at offset len(before)
        run.wait_delivered(1300, expected={"app": 1300})
        harness.wait_for(lambda: run.value("skiff_tail_bytes_skipped_total", reason="nul")
                         == len(before), 5, "the hole counted", alive=run.skiff)
        run.stop()
        tw.assert_exactly_once(self, run.out, {"app": 1300})


if __name__ == "__main__":
    unittest.main()
