"""The tail input through log rotation under continuous writes: rename and
create (directly, by polling, and behind a kubelet symlink), copytruncate,
deletion of an open file, a repointed symlink; and truncation. A writer
thread appends numbered lines at RATE lines/s for about a second before and
after the rotation; every line must arrive exactly once, in order within each
physical file, and the rotated-away file must be closed after rotate_wait."""

import os
import time
import unittest

import harness
from harness import TempDir
import tail_writer as tw
from tail_writer import SeqFile, SeqWriter, TailRun, tail_input

RATE = 3000           # lines per second
BEFORE = AFTER = 1.0  # seconds of writing before and after the rotation
ROTATE_WAIT = 2.0     # seconds (rotate_wait in the configs)


def make_dirs(tmp, *names):
    paths = [tmp.join(*name.split("/")) for name in names]
    for path in paths:
        os.makedirs(path, exist_ok=True)
    return paths


class TailRotation(unittest.TestCase):

    def start(self, glob, **options):
        """skiff tailing `glob` (read_from_head false: the files are created
        after the start, so they must be read from their head anyway)."""
        options.setdefault("rotate_wait", f"{ROTATE_WAIT:g}s")
        run = TailRun(self, self.tmp, tail_input(glob, **options))
        run.wait_watched(0)
        return run

    def finish(self, run, writer, path_field, rotations=None, truncations=None):
        """Stops the writer, waits for every line, for the rotated-away file
        to be closed (files watched back to 1), then checks exactly once."""
        total = writer.stop()
        expected = {writer.name: total}
        run.wait_delivered(total, timeout=20, expected=expected)
        run.wait_watched(1, timeout=ROTATE_WAIT + 5)
        deleted = tw.fds_to_deleted_files(run.pid)
        samples = run.metrics()
        time.sleep(0.3)  # a late duplicate would show
        run.stop()

        delivered = tw.Delivered.from_file(run.out)
        tw.assert_exactly_once(self, delivered, expected, paths={writer.name: path_field})
        gens = sorted({gen for gen, _ in delivered.streams[writer.name]})
        self.assertGreaterEqual(len(gens), 2, "no line of the file after the rotation")
        self.assertEqual([d for d in deleted if self.tmp.path in d], [],
                         "deleted files still open after rotate_wait")
        tail0 = {"instance": "tail.0"}
        self.assertEqual(harness.metric(samples, "skiff_tail_files_lost_total", **tail0), 0)
        if rotations is not None:
            self.assertEqual(harness.metric(samples, "skiff_tail_rotations_total", **tail0),
                             rotations, "skiff_tail_rotations_total")
        if truncations is not None:
            self.assertEqual(harness.metric(samples, "skiff_tail_truncations_total", **tail0),
                             truncations, "skiff_tail_truncations_total")
        return delivered

    def setUp(self):
        self.tmp = TempDir(self)

    def rename_create(self, **options):
        logs, = make_dirs(self.tmp, "logs")
        run = self.start(os.path.join(logs, "*.log"), **options)
        writer = SeqWriter(os.path.join(logs, "app.log"), rate=RATE)
        writer.start()
        time.sleep(BEFORE)
        writer.rotate_rename(".20240501-101500", drain_seconds=0.3)
        time.sleep(AFTER)
        self.finish(run, writer, os.path.join(logs, "app.log"), rotations=1)

    def test_rename_create(self):
        """app.log -> app.log.20240501-101500, 0.3 s more lines into the
        renamed file, then a new app.log (inotify)."""
        self.rename_create()

    def test_rename_create_poll(self):
        """The same with watcher: poll."""
        self.rename_create(watcher="poll", poll_interval="100ms")

    def test_copytruncate(self):
        """copytruncate: the writer pauses, skiff delivers everything, the
        file is copied to app.log.1 (outside the glob) and truncated to 0;
        the writer resumes at once. The file is read again from 0, nothing
        of the copy is read, and the truncation is counted."""
        logs, = make_dirs(self.tmp, "logs")
        run = self.start(os.path.join(logs, "*.log"))
        path = os.path.join(logs, "app.log")
        writer = SeqWriter(path, rate=RATE)
        writer.start()
        time.sleep(BEFORE)
        writer.pause()
        written = writer.written
        run.wait_delivered(written, timeout=15, expected={"app": written})
        writer.copytruncate(path + ".1")
        writer.resume()
        time.sleep(AFTER)
        self.finish(run, writer, path, truncations=1)

    def test_delete_while_open(self):
        """app.log is deleted while the writer still writes into it for
        0.3 s; then a new app.log is created. skiff drains the deleted file
        to its end and closes it."""
        logs, = make_dirs(self.tmp, "logs")
        run = self.start(os.path.join(logs, "*.log"))
        writer = SeqWriter(os.path.join(logs, "app.log"), rate=RATE)
        writer.start()
        time.sleep(BEFORE)
        writer.rotate_delete(drain_seconds=0.3)
        time.sleep(AFTER)
        self.finish(run, writer, os.path.join(logs, "app.log"))

    def test_symlink_repointed(self):
        """containers/app.log is a symlink to pods/p/0.log; a new symlink to
        pods/p/1.log is renamed over it; 0.log gets 0.3 s more lines. Both
        targets are read completely, with the symlink's path."""
        containers, pods = make_dirs(self.tmp, "logs/containers", "logs/pods/p")
        run = self.start(os.path.join(containers, "*.log"))
        link, target = os.path.join(containers, "app.log"), os.path.join(pods, "0.log")
        writer = SeqWriter(target, name="app", rate=RATE)
        os.symlink(target, link)
        writer.start()
        time.sleep(BEFORE)
        writer.rotate_symlink(link, os.path.join(pods, "1.log"), drain_seconds=0.3)
        time.sleep(AFTER)
        self.finish(run, writer, link, rotations=1)

    def test_rename_behind_symlink(self):
        """The kubelet's layout: the glob matches containers/app.log, a
        symlink to pods/p/0.log; 0.log is renamed to
        0.log.20240501-101500 (0.3 s more lines into it) and a new 0.log is
        created; the symlink does not change."""
        containers, pods = make_dirs(self.tmp, "logs/containers", "logs/pods/p")
        run = self.start(os.path.join(containers, "*.log"))
        link, target = os.path.join(containers, "app.log"), os.path.join(pods, "0.log")
        writer = SeqWriter(target, name="app", rate=RATE)
        os.symlink(target, link)
        writer.start()
        time.sleep(BEFORE)
        writer.rotate_rename(".20240501-101500", drain_seconds=0.3)
        time.sleep(AFTER)
        self.finish(run, writer, link, rotations=1)

    def test_rapid_rotations(self):
        """Five rename+create rotations 0.25 s apart (each with 0.1 s of
        lines into the renamed file), all within rotate_wait."""
        logs, = make_dirs(self.tmp, "logs")
        run = self.start(os.path.join(logs, "*.log"))
        writer = SeqWriter(os.path.join(logs, "app.log"), rate=RATE)
        writer.start()
        time.sleep(0.5)
        for i in range(1, 6):
            writer.rotate_rename(f".{i}", drain_seconds=0.1)
            time.sleep(0.25)
        time.sleep(0.5)
        delivered = self.finish(run, writer, os.path.join(logs, "app.log"), rotations=5)
        gens = {gen for gen, _ in delivered.streams["app"]}
        self.assertEqual(gens, set(range(6)), "physical files read")

    def test_rename_to_a_matching_name(self):
        """app.log is renamed to app.log-20240501.log, which the glob also
        matches, and a new app.log is created: the renamed file is followed
        under its new name, not read again from its start."""
        logs, = make_dirs(self.tmp, "logs")
        run = self.start(os.path.join(logs, "*.log"))
        writer = SeqWriter(os.path.join(logs, "app.log"), rate=RATE)
        writer.start()
        time.sleep(BEFORE)
        writer.rotate_rename("-20240501.log", drain_seconds=0.3)
        time.sleep(AFTER)
        total = writer.stop()
        run.wait_delivered(total, expected={"app": total})
        run.wait_watched(2)
        time.sleep(ROTATE_WAIT + 0.5)  # a late re-read would show
        run.stop()
        tw.assert_exactly_once(self, run.out, {"app": total})


class TailTruncation(unittest.TestCase):
    def test_truncate_and_rewrite(self):
        """A file of 10 lines, all delivered, is truncated to 0 and 3 (fewer
        bytes) lines are written at once: they are read from offset 0, and
        skiff_tail_truncations_total is 1."""
        tmp = TempDir(self)
        logs, = make_dirs(tmp, "logs")
        run = TailRun(self, tmp, tail_input(os.path.join(logs, "*.log")))
        f = SeqFile(os.path.join(logs, "t.log"))
        before = f.append(10)
        run.wait_delivered(10, expected={"t": 10})
        os.truncate(f.path, 0)
        f.gen = 1
        after = f.append(3)
        self.assertLess(len(after), len(before), "test setup: rewrite must be shorter")
        run.wait_delivered(13, expected={"t": 13})
        time.sleep(0.3)
        truncations = run.value("skiff_tail_truncations_total")
        run.stop()
        tw.assert_exactly_once(self, run.out, {"t": 13})
        self.assertEqual(truncations, 1, "skiff_tail_truncations_total")

    def test_overwritten_with_more_bytes(self):
        """A file of 10 lines, all delivered, is truncated and at once 30
        lines (more bytes than before) are written: its first bytes changed,
        so it is read again from 0 (not from the old offset), counted as a
        truncation."""
        tmp = TempDir(self)
        logs, = make_dirs(tmp, "logs")
        run = TailRun(self, tmp, tail_input(os.path.join(logs, "*.log")))
        f = SeqFile(os.path.join(logs, "t.log"))
        before = f.append(10)
        run.wait_delivered(10, expected={"t": 10})
        with open(f.path, "r+b") as handle:
            handle.truncate(0)
            f.gen = 1
            after = tw.make_lines("t", 10, 30, gen=1)
            handle.write(after)
        f.next = 40
        self.assertGreater(len(after), len(before), "test setup: rewrite must be longer")
        run.wait_delivered(40, expected={"t": 40})
        time.sleep(0.3)
        truncations = run.value("skiff_tail_truncations_total")
        run.stop()
        tw.assert_exactly_once(self, run.out, {"t": 40})
        self.assertEqual(truncations, 1, "skiff_tail_truncations_total")


if __name__ == "__main__":
    unittest.main()
