"""Partial lines held by the cri and docker parsers (CRI `P` pieces, docker
entries split at 16 KiB) across a clean restart, after partial_wait, and at
SIGTERM.

- A checkpoint never passes the start of a piece still held: a line whose
  first piece was read before SIGTERM and whose last piece came after it is
  delivered joined after the restart.
- At SIGTERM held pieces are handed on, marked partial (CRI `logtag: P`,
  docker `partial: true`).
- A piece whose last piece never comes is handed on after partial_wait,
  marked partial, and counted in
  skiff_tail_partial_lines_total{reason="timeout"}."""

import json
import os
import unittest

import harness
from harness import TempDir
import tail_writer as tw
from tail_writer import TailRun, tail_input

T = "2024-05-01T10:15:00.000000000Z"


def cri(stream, tag, message):
    return f"{T} {stream} {tag} {message}\n"


def docker(stream, log):
    return json.dumps({"log": log, "stream": stream, "time": T}) + "\n"


def append(path, *lines):
    with open(path, "a", encoding="utf-8") as f:
        f.write("".join(lines))


class TailPartial(unittest.TestCase):

    def setUp(self):
        self.tmp = TempDir(self)
        self.logs = self.tmp.join("logs")
        os.makedirs(self.logs)
        self.path = os.path.join(self.logs, "c.log")

    def input(self, parser, **options):
        return tail_input(os.path.join(self.logs, "*.log"), parser=parser, read_from_head=True,
                          **options)

    def records(self, out):
        return tw.read_json_lines(out)

    def wait_log(self, run, text, timeout=10):
        harness.wait_for(lambda: any(r.get("log") == text for r in self.records(run.out)),
                         timeout, f"a record with log {text!r}", alive=run.skiff)

    def restart_joins(self, parser, first, other, last, marker):
        """`first` (a held piece) and `other` (a whole line of the other
        stream) are read, skiff stops; `last` is written; skiff starts
        again: the line arrives joined, and the stop handed the held piece
        on marked partial."""
        append(self.path, first, other)
        run1 = TailRun(self, self.tmp, self.input(parser, partial_wait="60s"), run="run1")
        self.wait_log(run1, "other-line")
        run1.stop()
        before = self.records(run1.out)
        self.assertIn("part-a-", [r.get("log") for r in before], "held piece handed on at stop")
        partial = [r for r in before if r.get("log") == "part-a-"][0]
        self.assertEqual({k: partial.get(k) for k in marker}, marker, "marked partial")

        append(self.path, last)
        run2 = TailRun(self, self.tmp, self.input(parser, partial_wait="60s"), run="run2")
        self.wait_log(run2, "part-a-part-b")
        run2.stop()

    def test_cri_restart_keeps_held_piece(self):
        self.restart_joins("cri", cri("stdout", "P", "part-a-"), cri("stderr", "F", "other-line"),
                           cri("stdout", "F", "part-b"), {"logtag": "P", "stream": "stdout"})

    def test_docker_restart_keeps_held_piece(self):
        self.restart_joins("docker", docker("stdout", "part-a-"),
                           docker("stderr", "other-line\n"), docker("stdout", "part-b\n"),
                           {"partial": True, "stream": "stdout"})

    def flushed_after_wait(self, parser, lines, marker):
        run = TailRun(self, self.tmp, self.input(parser, partial_wait="300ms"))
        append(self.path, *lines)
        self.wait_log(run, "never-finished", timeout=5)
        record = [r for r in self.records(run.out) if r.get("log") == "never-finished"][0]
        self.assertEqual({k: record.get(k) for k in marker}, marker, "marked partial")
        counted = run.value("skiff_tail_partial_lines_total", reason="timeout")
        run.stop()
        self.assertEqual(counted, 1, 'skiff_tail_partial_lines_total{reason="timeout"}')

    def test_cri_partial_wait(self):
        self.flushed_after_wait("cri", [cri("stdout", "F", "whole"),
                                        cri("stdout", "P", "never-"),
                                        cri("stdout", "P", "finished")],
                                {"logtag": "P", "stream": "stdout"})

    def test_docker_partial_wait(self):
        self.flushed_after_wait("docker", [docker("stdout", "whole\n"),
                                           docker("stdout", "never-"),
                                           docker("stdout", "finished")],
                                {"partial": True, "stream": "stdout"})

    def test_cri_last_piece_written_while_a_flush_is_due(self):
        """While a flush is due, a file written to is read just before it;
        a held piece whose partial_wait ends sooner must not be handed on
        without looking at what was written meanwhile: its last piece,
        written right after it, joins it."""
        first = cri("stdout", "F", "first") + cri("stdout", "P", "part-a-")
        run = TailRun(self, self.tmp,
                      self.input("cri", partial_wait="500ms", refresh_interval="10s"),
                      flush_interval="5s")
        append(self.path, first)
        # `first` opens a chunk (the flush is due in 5 s) and part-a- waits
        # for its last piece; it is written well within partial_wait.
        harness.wait_for(lambda: run.value("skiff_tail_bytes_read_total") >= len(first), 5,
                         "the first piece read", interval=0.02, alive=run.skiff)
        append(self.path, cri("stdout", "F", "part-b"))
        self.wait_log(run, "part-a-part-b", timeout=15)
        logs = [r.get("log") for r in self.records(run.out)]
        counted = run.value("skiff_tail_partial_lines_total", reason="timeout")
        run.stop()
        self.assertNotIn("part-a-", logs, "the held piece was handed on alone")
        self.assertEqual(counted, 0, 'skiff_tail_partial_lines_total{reason="timeout"}')


if __name__ == "__main__":
    unittest.main()
