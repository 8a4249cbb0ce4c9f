"""The tail input as a process: lines appended to files arrive exactly once and
in order, with the path and tag of their file; read_from_head; thousands of
files; paths that cannot be tailed; backpressure; option errors.

Rotation, truncation, restarts and line-size limits are in test_tail_*.py.
Every line written carries its stream name and sequence number (see
tail_writer.py), and each test checks every line arrived exactly once."""

import os
import random
import subprocess
import time
import unittest

import harness
from harness import TempDir, run_cli, wait_for, write_config
import tail_writer as tw
from tail_writer import SeqFile, TailRun, tail_input

KIB = 1024
MIB = 1024 * KIB
EXIT_USAGE = 2


def logs_dir(tmp, name="logs"):
    path = tmp.join(name)
    os.makedirs(path, exist_ok=True)
    return path


def tag_of(path, prefix="kube."):
    """The tag a `kube.*` tail input gives the records of `path`."""
    return prefix + path.lstrip("/").replace("/", ".")


class TailSteady(unittest.TestCase):
    """Appends to several files, read through inotify or by polling."""

    def appends(self, **options):
        """3 files with 100 lines before start (read_from_head true), 2 files
        created after start; then 12 rounds append 1..60 lines to each file,
        with short pauses. Every line arrives once, in order, with its path;
        the metrics count every line and byte."""
        tmp = TempDir(self)
        logs = logs_dir(tmp)
        files = {n: SeqFile(os.path.join(logs, f"{n}.log")) for n in "abcde"}
        for n in "abc":
            files[n].append(100)
        run = TailRun(self, tmp, tail_input(os.path.join(logs, "*.log"), read_from_head=True,
                                            **options))
        run.wait_watched(3)
        for n in "de":
            files[n].append(5)
        rng = random.Random(1)
        for _ in range(12):
            for f in files.values():
                f.append(rng.randint(1, 60))
            time.sleep(rng.uniform(0.0, 0.08))
        expected = {f.name: f.next for f in files.values()}
        total = sum(expected.values())
        run.wait_delivered(total, expected=expected)
        run.wait_watched(5)
        samples = run.metrics()
        run.stop()

        tw.assert_exactly_once(self, tw.Delivered.from_file(run.out), expected,
                               paths={f.name: f.path for f in files.values()})
        tail0 = {"instance": "tail.0"}
        self.assertEqual(harness.metric(samples, "skiff_tail_lines_read_total", **tail0), total)
        self.assertEqual(harness.metric(samples, "skiff_tail_bytes_read_total", **tail0),
                         sum(f.bytes for f in files.values()))
        self.assertEqual(harness.metric(samples, "skiff_input_records_total", **tail0), total)
        self.assertEqual(harness.metric(samples, "skiff_tail_files_lost_total", **tail0), 0)

    def test_appends_inotify(self):
        self.appends(watcher="inotify")

    def test_appends_poll(self):
        self.appends(watcher="poll", poll_interval="100ms")


class TailRecordFields(unittest.TestCase):
    def test_tag_key_path_key_exclude(self):
        """`*` in the tag becomes the path with '/' -> '.' (outputs matching
        one file's full tag get only that file), `key` names the line's
        field, `path_key: ""` leaves the path out, and a file matching
        `exclude` is not read."""
        tmp = TempDir(self)
        logs = logs_dir(tmp)
        app, other, gz = (SeqFile(os.path.join(logs, n), name=n.replace(".", "_"))
                          for n in ("app.log", "other.log", "app.log.gz"))
        out_app, out_other, out_all = (tmp.join(n) for n in ("app.jsonl", "other.jsonl",
                                                              "all.jsonl"))
        outputs = [{"name": "file", "match": tag_of(app.path), "path": out_app},
                   {"name": "file", "match": tag_of(other.path), "path": out_other},
                   {"name": "file", "match": "*", "path": out_all}]
        for f in (app, other, gz):
            f.append(10)
        run = TailRun(self, tmp, tail_input(os.path.join(logs, "*"), exclude=["*.gz"],
                                            read_from_head=True, key="message", path_key=""),
                      outputs=outputs)
        for f in (app, other, gz):
            f.append(10)
        tw.wait_delivered(out_app, 20, 15, run.skiff)
        tw.wait_delivered(out_other, 20, 15, run.skiff)
        tw.wait_delivered(out_all, 40, 15, run.skiff)
        watched = run.value("skiff_tail_files_watched")
        time.sleep(0.5)
        run.stop()

        self.assertEqual(watched, 2, "files watched (the .gz file is excluded)")
        for out, f in ((out_app, app), (out_other, other)):
            records = tw.read_json_lines(out)
            for record in records:
                self.assertEqual(sorted(record), ["@timestamp", "message"], record)
            tw.assert_exactly_once(self, tw.Delivered(records, key="message", path_key=None),
                                   {f.name: 20}, what=out)
        tw.assert_exactly_once(self, tw.Delivered(tw.read_json_lines(out_all), key="message",
                                                  path_key=None),
                               {app.name: 20, other.name: 20}, what=out_all)


class TailReadFromHead(unittest.TestCase):
    def test_read_from_head_false(self):
        """With read_from_head false, the 50 lines already in a file at the
        first start are not read; the 20 appended after are, and so is all
        of a file created after the start."""
        tmp = TempDir(self)
        logs = logs_dir(tmp)
        old = SeqFile(os.path.join(logs, "old.log"))
        old.append(50)
        run = TailRun(self, tmp, tail_input(os.path.join(logs, "*.log"), read_from_head=False))
        run.wait_watched(1)
        old.append(20)
        new = SeqFile(os.path.join(logs, "new.log"))
        new.append(10)
        expected = {"old": range(50, 70), "new": 10}
        run.wait_delivered(30, expected=expected)
        time.sleep(0.5)
        run.stop()
        tw.assert_exactly_once(self, run.out, expected)


    def test_partial_last_line_at_first_start(self):
        """With read_from_head false, a file whose last line is unfinished at
        the first start is read from the end of its last complete line: once
        the line is finished it arrives whole, followed by the next."""
        tmp = TempDir(self)
        logs = logs_dir(tmp)
        path = os.path.join(logs, "p.log")
        lines = [tw.make_line("p", s) for s in range(4)]
        with open(path, "w") as f:
            f.write(lines[0] + "\n" + lines[1] + "\n" + lines[2][:30])
        run = TailRun(self, tmp, tail_input(os.path.join(logs, "*.log"), read_from_head=False))
        run.wait_watched(1)
        with open(path, "a") as f:
            f.write(lines[2][30:] + "\n" + lines[3] + "\n")
        run.wait_delivered(2)
        time.sleep(0.3)
        run.stop()
        self.assertEqual([r["log"] for r in tw.read_json_lines(run.out)], lines[2:])


class TailGlobs(unittest.TestCase):
    def test_brace_and_overlapping_globs(self):
        """path [logs/{a,b}.log, logs/a*.log]: a.log, matched by both globs, is
        read once; b.log once; c.log, matched by none, not at all."""
        tmp = TempDir(self)
        logs = logs_dir(tmp)
        files = [SeqFile(os.path.join(logs, f"{n}.log")) for n in "abc"]
        for f in files:
            f.append(10)
        run = TailRun(self, tmp, tail_input([os.path.join(logs, "{a,b}.log"),
                                             os.path.join(logs, "a*.log")],
                                            read_from_head=True))
        for f in files:
            f.append(10)
        run.wait_delivered(40, expected={"a": 20, "b": 20})
        time.sleep(0.5)
        watched = run.value("skiff_tail_files_watched")
        run.stop()
        tw.assert_exactly_once(self, run.out, {"a": 20, "b": 20})
        self.assertEqual(watched, 2, "skiff_tail_files_watched")


class TailManyFiles(unittest.TestCase):
    def test_2000_files(self):
        """2,000 files of 3 lines each, present at start (read_from_head
        true), are all read exactly once; 100 files created afterwards are
        read from their head."""
        tmp = TempDir(self)
        logs = logs_dir(tmp)
        n_old, n_new = 2000, 100
        expected = {}
        for i in range(n_old):
            SeqFile(os.path.join(logs, f"f{i:04d}.log")).append(3)
            expected[f"f{i:04d}"] = 3
        started = time.monotonic()
        run = TailRun(self, tmp, tail_input(os.path.join(logs, "*.log"), read_from_head=True))
        run.wait_delivered(3 * n_old, timeout=60, expected=expected)
        first = time.monotonic() - started
        run.wait_watched(n_old, timeout=10)
        for i in range(n_new):
            SeqFile(os.path.join(logs, f"n{i:04d}.log")).append(2)
            expected[f"n{i:04d}"] = 2
        run.wait_delivered(3 * n_old + 2 * n_new, timeout=30, expected=expected)
        run.wait_watched(n_old + n_new, timeout=10)
        time.sleep(0.3)
        run.stop(timeout=30)
        print(f"\n  2000 files read in {first:.1f}s", end=" ", flush=True)
        tw.assert_exactly_once(self, run.out, expected)


class TailBadPaths(unittest.TestCase):
    def test_directory_dangling_symlink_fifo(self):
        """A glob also matching a directory, a dangling symlink and a FIFO
        (and, when not root, a file without read permission): skiff names each
        such path in one log line, not again on later rescans, keeps running,
        reads the good file, and stops cleanly."""
        tmp = TempDir(self)
        logs = logs_dir(tmp)
        bad = [os.path.join(logs, n) for n in ("dir.log", "dangling.log", "fifo.log")]
        os.mkdir(bad[0])
        os.symlink(tmp.join("nowhere"), bad[1])
        os.mkfifo(bad[2])
        if os.geteuid() != 0:
            secret = SeqFile(os.path.join(logs, "secret.log"))
            secret.append(3)
            os.chmod(secret.path, 0)
            bad.append(secret.path)
        good = SeqFile(os.path.join(logs, "good.log"))
        good.append(10)
        run = TailRun(self, tmp, tail_input(os.path.join(logs, "*.log"), read_from_head=True,
                                            refresh_interval="200ms"))
        run.wait_delivered(10, timeout=15, expected={"good": 10})
        time.sleep(1.5)  # several rescans
        good.append(10)
        run.wait_delivered(20, timeout=15, expected={"good": 20})
        stderr = run.stderr()
        run.stop()

        tw.assert_exactly_once(self, run.out, {"good": 20})
        for path in bad:
            naming = [line for line in stderr.splitlines() if path in line]
            self.assertEqual(len(naming), 1, f"log lines naming {path} (want exactly one):\n"
                                             + "\n".join(naming[:5]) + f"\n--- stderr ---\n"
                                             + harness.tail(stderr))


class TailBackpressure(unittest.TestCase):
    LIMIT = 1 * MIB

    def test_pause_then_drain(self):
        """A pre-written file of ~8 MiB read from head into stdout on a pipe
        nobody reads, buffer_limit 1 MiB: the input pauses
        (skiff_input_paused 1) and stops reading; once the pipe is drained
        every line arrives exactly once."""
        tmp = TempDir(self)
        logs = logs_dir(tmp)
        big = SeqFile(os.path.join(logs, "big.log"))
        while big.bytes < 8 * MIB:
            big.append(5000)
        run = TailRun(self, tmp, tail_input(os.path.join(logs, "*.log"), read_from_head=True,
                                            buffer_limit="1MiB"),
                      outputs=[{"name": "stdout", "match": "*"}], stdout=subprocess.PIPE)
        run.wait_value("skiff_input_paused", lambda v: v == 1, 15, "the tail input to pause")
        read_before = run.value("skiff_tail_bytes_read_total")
        time.sleep(1.0)
        samples = run.metrics()
        tail0 = {"instance": "tail.0"}
        self.assertEqual(harness.metric(samples, "skiff_input_paused", **tail0), 1)
        read_after = harness.metric(samples, "skiff_tail_bytes_read_total", **tail0)
        self.assertLess(read_after, big.bytes, "read the whole file while paused")
        self.assertLessEqual(read_after - read_before, 256 * KIB,
                             "kept reading while paused")
        buffered = harness.metric(samples, "skiff_input_buffer_bytes", **tail0)
        self.assertLessEqual(buffered, self.LIMIT + self.LIMIT // 4 + 256 * KIB,
                             "buffer far above its limit")

        collector = harness.PipeCollector(run.skiff.proc.stdout).start()
        wait_for(lambda: collector.newlines >= big.next, 60,
                 f"{big.next} lines on stdout", interval=0.1, alive=run.skiff)
        time.sleep(0.3)
        run.stop()
        self.assertTrue(collector.join(10), "stdout not closed after exit")
        tw.assert_exactly_once(self, tw.Delivered(tw.parse_json_bytes(collector.data(), "stdout")),
                               {"big": big.next}, paths={"big": big.path})


    def test_rotation_while_paused(self):
        """A 4 MiB file is renamed out of the glob while the input is paused
        by a stuck output and stays so for longer than rotate_wait (1 s); a
        new file is created at its path. Once the pipe is drained every line
        of both files arrives exactly once: the rotated file is kept open
        while the input is paused."""
        tmp = TempDir(self)
        logs = logs_dir(tmp)
        big = SeqFile(os.path.join(logs, "big.log"))
        while big.bytes < 4 * MIB:
            big.append(5000)
        run = TailRun(self, tmp, tail_input(os.path.join(logs, "*.log"), read_from_head=True,
                                            buffer_limit="1MiB", rotate_wait="1s"),
                      outputs=[{"name": "stdout", "match": "*"}], stdout=subprocess.PIPE)
        run.wait_value("skiff_input_paused", lambda v: v == 1, 15, "the tail input to pause")
        os.rename(big.path, big.path + ".1")
        big.gen = 1
        big.append(100)
        time.sleep(2.5)
        collector = harness.PipeCollector(run.skiff.proc.stdout).start()
        wait_for(lambda: collector.newlines >= big.next, 60,
                 f"{big.next} lines on stdout", interval=0.1, alive=run.skiff)
        run.wait_watched(1, timeout=10)
        time.sleep(0.3)
        run.stop()
        self.assertTrue(collector.join(10), "stdout not closed after exit")
        tw.assert_exactly_once(self, tw.Delivered(tw.parse_json_bytes(collector.data(), "stdout")),
                               {"big": big.next})


    def test_many_files_full_buffer_does_not_wait_for_flush(self):
        """64 pre-written files of 128 KiB (read from head), buffer_limit
        1MiB, service.flush_interval 5s. One chunk is open per file (tag), so
        the buffer fills with 64 partly filled chunks, none of them full; the
        input pauses. It must not stay paused until the next flush tick: all
        8 MiB are delivered within 12 s (without sealing on pause, one
        buffer_limit per flush_interval: about a minute)."""
        tmp = TempDir(self)
        logs = logs_dir(tmp)
        expected = {}
        for i in range(64):
            f = SeqFile(os.path.join(logs, f"f{i:02d}.log"))
            while f.bytes < 128 * KIB:
                f.append(200)
            expected[f.name] = f.next
        total = sum(expected.values())
        started = time.monotonic()
        run = TailRun(self, tmp, tail_input(os.path.join(logs, "*.log"), read_from_head=True,
                                            buffer_limit="1MiB"), flush_interval="5s")
        run.wait_delivered(total, timeout=12, expected=expected)
        took = time.monotonic() - started
        pauses = run.value("skiff_input_pauses_total")
        run.stop()
        print(f"\n  {total} lines in {took:.1f}s, {pauses:.0f} pauses", end=" ", flush=True)
        tw.assert_exactly_once(self, run.out, expected)


class TailOptions(unittest.TestCase):
    """--describe and --dry-run for the tail input."""

    OPTIONS = ("path", "exclude", "read_from_head", "refresh_interval", "rotate_wait",
               "max_line_size", "skip_long_lines", "buffer_chunk_size", "watcher",
               "poll_interval", "key", "path_key", "checkpoint_interval", "tag",
               "buffer_limit")

    def test_describe(self):
        """--describe tail lists every option of the specification."""
        proc = run_cli(["--describe", "tail"])
        self.assertEqual(proc.returncode, 0, proc.stderr)
        for option in self.OPTIONS:
            self.assertRegex(proc.stdout, rf"(?m)^\s*{option}\b", f"option {option}")

    def test_good_config(self):
        """A tail config using every option passes --dry-run."""
        tmp = TempDir(self)
        config = tw.tail_config(tmp, tail_input(
            ["/tmp/x/*.log", "/tmp/y/*.log"], exclude=["*.gz"], read_from_head=True,
            refresh_interval="1s", rotate_wait="5s", max_line_size="1MiB",
            skip_long_lines=True, buffer_chunk_size="256KiB", watcher="poll",
            poll_interval="250ms", key="log", path_key="path", checkpoint_interval="1s"),
            tmp.join("out.jsonl"))
        proc = run_cli(["--dry-run", "-c", write_config(tmp, config)])
        self.assertEqual(proc.returncode, 0, proc.stderr)

    BAD = """\
service:
  state_dir: /tmp/skiff-dry-run-state
pipeline:
  inputs:
    - name: tail
      path: /tmp/x/*.log
      watcher: fanotify
    - name: tail
      path: /tmp/x/*.log
      max_line_size: -1MiB
    - name: tail
      path: /tmp/x/*.log
      buffer_chunk_size: lots
    - name: tail
      path: /tmp/x/*.log
      rotate_wait: soon
    - name: tail
      tag: nopath
  outputs:
    - name: "null"
      match: "*"
"""

    def test_bad_options(self):
        """Bad tail options fail --dry-run with exit 2, each reported as
        FILE:LINE:COL on the option's line, naming the option; a missing
        `path` is reported too."""
        tmp = TempDir(self)
        path = write_config(tmp, self.BAD)
        proc = run_cli(["--dry-run", "-c", path])
        self.assertEqual(proc.returncode, EXIT_USAGE, proc.stderr)
        lines = self.BAD.splitlines()
        for option in ("watcher", "max_line_size", "buffer_chunk_size", "rotate_wait"):
            number = next(i + 1 for i, text in enumerate(lines) if f" {option}:" in text)
            column = lines[number - 1].index(option) + 1
            prefix = f"{path}:{number}:"
            hits = [e for e in proc.stderr.splitlines() if e.startswith(prefix) and option in e]
            self.assertTrue(hits, f"no {path}:{number}:COL error naming {option!r} "
                                  f"(option at column {column}); stderr:\n{proc.stderr}")
        self.assertRegex(proc.stderr, rf"(?m)^{path}:\d+:\d+: .*\bpath\b",
                         "missing required `path` not reported")


if __name__ == "__main__":
    unittest.main()
