"""Lines that are unusual for the tail input: 5 MiB lines (kept, skipped or
split by max_line_size / skip_long_lines), a line written a few bytes at a
time, and a final line without its newline (held until the newline arrives,
across a restart too, and emitted when its file is rotated away)."""

import os
import random
import time
import unittest

import harness
from harness import TempDir
import tail_writer as tw
from tail_writer import TailRun, make_line, tail_input

MIB = 1024 * 1024


def long_line(size, seq=1, name="long"):
    """A line of exactly `size` bytes (no newline) whose content tells every
    16-byte block's position, so that a piece out of place shows."""
    head = f"file={name} gen=0 seq={seq:08d} "
    blocks = (size - len(head)) // 16 + 1
    body = "".join(f"<{i:014d}>" for i in range(blocks))
    return (head + body)[:size]


def write_in_pieces(path, data, piece=64 * 1024):
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        for start in range(0, len(data), piece):
            os.write(fd, data[start:start + piece])
    finally:
        os.close(fd)


def logs_of(test_tmp):
    logs = test_tmp.join("logs")
    os.makedirs(logs, exist_ok=True)
    return logs


def logs_in(out):
    return [r.get("log") for r in tw.read_json_lines(out)]


def describe(logs):
    """A short text of a list of delivered lines (long ones by length)."""
    return [s if s is None or len(s) < 100 else f"<{len(s)} bytes: {s[:40]}...>" for s in logs]


class TailLongLines(unittest.TestCase):
    SIZE = 5 * MIB

    def run_long(self, count, **options):
        """Writes a normal line, a 5 MiB line and a normal line (each ending
        in a newline, written in 64 KiB pieces) into a file created after the
        start; waits for `count` records; returns (records' log fields, the
        long line, skiff_tail_long_lines_total series)."""
        tmp = TempDir(self)
        logs = logs_of(tmp)
        run = TailRun(self, tmp, tail_input(os.path.join(logs, "*.log"), **options))
        big = long_line(self.SIZE)
        data = (make_line("long", 0) + "\n" + big + "\n" + make_line("long", 2) + "\n").encode()
        write_in_pieces(os.path.join(logs, "long.log"), data)
        run.wait_delivered(count, timeout=30)
        time.sleep(0.5)  # anything more would show
        samples = run.metrics()
        run.stop(timeout=30)
        series = {dict(labels).get("action"): value for labels, value in
                  harness.find_series(samples, "skiff_tail_long_lines_total",
                                         instance="tail.0").items()}
        return logs_in(run.out), big, series

    def test_kept_under_max_line_size(self):
        """max_line_size 8MiB: the 5 MiB line arrives intact as one record."""
        got, big, _ = self.run_long(3, max_line_size="8MiB")
        want = [make_line("long", 0), big, make_line("long", 2)]
        self.assertTrue(got == want, f"got {describe(got)}")

    def test_skipped(self):
        """max_line_size 1MiB, skip_long_lines true: the 5 MiB line is skipped
        and counted (action="skipped"); the lines around it are intact."""
        got, _, series = self.run_long(2, max_line_size="1MiB", skip_long_lines=True)
        self.assertTrue(got == [make_line("long", 0), make_line("long", 2)],
                        f"got {describe(got)}")
        self.assertEqual(series.get("skipped"), 1, f"skiff_tail_long_lines_total: {series}")

    def test_split(self):
        """max_line_size 1MiB, skip_long_lines false: the 5 MiB line arrives
        as 5 records of 1 MiB whose concatenation is the line; counted once
        (action="split"); the next line is intact."""
        got, big, series = self.run_long(7, max_line_size="1MiB", skip_long_lines=False)
        pieces = [big[i:i + MIB] for i in range(0, len(big), MIB)]
        self.assertEqual(len(pieces), 5)
        want = [make_line("long", 0)] + pieces + [make_line("long", 2)]
        self.assertTrue(got == want, f"got {describe(got)}, want {describe(want)}")
        self.assertEqual(series.get("split"), 1, f"skiff_tail_long_lines_total: {series}")


class TailPartialLines(unittest.TestCase):

    def setUp(self):
        self.tmp = TempDir(self)
        self.logs = logs_of(self.tmp)
        self.path = os.path.join(self.logs, "p.log")

    def append(self, data):
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, data.encode())
        finally:
            os.close(fd)

    def start(self, run="run1", **options):
        return TailRun(self, self.tmp, tail_input(os.path.join(self.logs, "*.log"), **options),
                       run=run)

    def test_line_in_small_writes(self):
        """5 lines written 1..10 bytes at a time (0..3 ms apart, through one
        unbuffered descriptor) arrive as 5 whole records."""
        run = self.start()
        lines = [make_line("p", s) for s in range(5)]
        data = "".join(line + "\n" for line in lines).encode()
        rng = random.Random(7)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            pos = 0
            while pos < len(data):
                n = rng.randint(1, 10)
                os.write(fd, data[pos:pos + n])
                pos += n
                time.sleep(rng.uniform(0, 0.003))
        finally:
            os.close(fd)
        run.wait_delivered(5)
        time.sleep(0.3)
        run.stop()
        self.assertEqual(logs_in(run.out), lines)

    def test_final_line_held_until_newline(self):
        """A final line without newline is not emitted (1.5 s, several
        flushes and rescans); once its newline is written it arrives whole."""
        run = self.start()
        l0, l1 = make_line("p", 0), make_line("p", 1)
        self.append(l0 + "\n" + l1[:30])
        run.wait_delivered(1)
        time.sleep(1.5)
        self.assertEqual(logs_in(run.out), [l0], "the unfinished line was emitted")
        self.append(l1[30:] + "\n")
        run.wait_delivered(2)
        time.sleep(0.3)
        run.stop()
        self.assertEqual(logs_in(run.out), [l0, l1])

    def test_final_line_across_restart(self):
        """An unfinished final line at SIGTERM is not emitted; after a restart
        its rest arrives and the whole line is emitted once."""
        run = self.start("run1")
        l0, l1, l2 = (make_line("p", s) for s in range(3))
        self.append(l0 + "\n" + l1[:30])
        run.wait_delivered(1)
        time.sleep(0.8)  # a checkpoint interval
        run.stop()
        self.assertEqual(logs_in(run.out), [l0], "the unfinished line was emitted")
        self.append(l1[30:] + "\n")
        run2 = self.start("run2")
        self.append(l2 + "\n")
        run2.wait_delivered(3)
        time.sleep(0.3)
        run2.stop()
        got = logs_in(run2.out)
        self.assertEqual(got, [l0, l1, l2], f"got {got}")

    def test_final_line_emitted_when_rotated_away(self):
        """A final line without newline in a file renamed out of the glob is
        emitted once the file is drained (rotate_wait 1s)."""
        run = self.start(rotate_wait="1s")
        l0, l1 = make_line("p", 0), make_line("p", 1)
        self.append(l0 + "\n" + l1)
        run.wait_delivered(1)
        os.rename(self.path, self.path + ".1")
        run.wait_delivered(2, timeout=10)
        run.wait_watched(0, timeout=10)
        time.sleep(0.3)
        run.stop()
        self.assertEqual(logs_in(run.out), [l0, l1])


if __name__ == "__main__":
    unittest.main()
