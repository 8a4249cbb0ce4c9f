"""The multiline filter in the running agent: tail (parser: cri) -> multiline
(parser: java) -> file. A Java exception written through CRI partial lines
arrives as one record between the ordinary lines of the same container, in
order; an event nothing follows is handed on after flush_timeout; SIGTERM hands
on an open event before exiting, and a restart repeats nothing."""

import json
import os
import time
import unittest

import harness
from harness import Skiff, SkiffHttp, TempDir, wait_for, write_config
from test_parsers import cri

HEADER = 'Exception in thread "main" java.lang.IllegalStateException: boom'


def java_trace():
    """40 lines: a header, frames, a cause and an elided-frames line."""
    lines = [HEADER]
    lines += [f"\tat com.example.Service.method{i}(Service.java:{100 + i})" for i in range(25)]
    lines.append("Caused by: java.io.IOException: disk full")
    lines += [f"\tat com.example.Store.write{i}(Store.java:{40 + i})" for i in range(12)]
    lines.append("\t... 5 more")
    return lines


def split_cri(stream, text, pieces=3):
    """`text` as CRI lines: `pieces` - 1 partial (P) lines and a final F."""
    size = max(1, len(text) // pieces)
    parts = [text[i * size:(i + 1) * size] for i in range(pieces - 1)]
    parts.append(text[(pieces - 1) * size:])
    return [cri(stream, "P", p) for p in parts[:-1]] + [cri(stream, "F", parts[-1])]


class Multiline(unittest.TestCase):
    def setUp(self):
        self.tmp = TempDir(self)
        self.logs = self.tmp.join("logs")
        os.makedirs(self.logs)
        self.log = os.path.join(self.logs, "app.log")
        self.out = self.tmp.join("out.jsonl")
        self.port = harness.free_port()

    def start(self, flush_timeout):
        config = harness.pipeline_config(
            [{"name": "tail", "tag": "kube.*", "path": os.path.join(self.logs, "*.log"),
              "parser": "cri", "read_from_head": True, "checkpoint_interval": "200ms"}],
            [{"name": "file", "match": "kube.*", "path": self.out}],
            port=self.port, state_dir=self.tmp.join("state"))
        config["pipeline"]["filters"] = [
            {"name": "multiline", "alias": "ml", "match": "kube.*", "parser": "java",
             "flush_timeout": flush_timeout}]
        skiff = Skiff(self, self.tmp, write_config(self.tmp, config))
        http = SkiffHttp(skiff, self.port)
        http.wait_up()
        return skiff, http

    def write(self, lines):
        with open(self.log, "a") as f:
            f.write("".join(lines))

    def records(self):
        with open(self.out) as f:
            return [json.loads(line) for line in f]

    def wait_records(self, count, skiff):
        wait_for(lambda: harness.count_lines(self.out) >= count, 20, f"{count} records",
                 alive=skiff)
        return self.records()

    def test_trace_through_cri_partials_is_one_record(self):
        """Each frame of a 40-line trace is split in 3 CRI pieces, with a
        stdout line after each frame: the trace arrives as one record whose
        log is the 40 lines joined, after flush_timeout (nothing follows it
        on stderr), and the stdout lines arrive whole. A source's records are
        handed on in the order of their end offsets (so checkpoints stay in
        order): the trace, which ends with frame 39, comes after heartbeats
        0-38 and before heartbeat 39."""
        trace = java_trace()
        lines = [cri("stdout", "F", "before 0"), cri("stdout", "F", "before 1")]
        for i, frame in enumerate(trace):
            lines += split_cri("stderr", frame)
            lines.append(cri("stdout", "F", f"heartbeat {i}"))
        skiff, http = self.start("500ms")
        started = time.monotonic()
        self.write(lines)
        records = self.wait_records(43, skiff)
        waited = time.monotonic() - started
        self.assertEqual(http.value("skiff_multiline_flushed_by_timeout_total", instance="ml"), 1)
        self.assertEqual(http.value("skiff_multiline_events_total", instance="ml"), 1)
        self.assertEqual(http.value("skiff_multiline_lines_joined_total", instance="ml"), 40)
        skiff.assert_exit(self, 0, skiff.stop())

        self.assertGreaterEqual(waited, 0.5)
        self.assertEqual(len(self.records()), 43)
        logs = [r["log"] for r in records]
        self.assertEqual(logs, ["before 0", "before 1"] + [f"heartbeat {i}" for i in range(39)]
                         + ["\n".join(trace), "heartbeat 39"])
        self.assertEqual(records[41]["stream"], "stderr")
        self.assertEqual(records[41]["@timestamp"], "2024-05-01T10:15:00.123456789Z")
        self.assertTrue(all(r["stream"] == "stdout" for i, r in enumerate(records) if i != 41))

    def test_sigterm_hands_on_open_event_and_restart_repeats_nothing(self):
        """With a long flush_timeout, an open event and the stdout line queued
        behind it are held; SIGTERM hands both on, in order, before exit 0.
        A restart delivers only what is written after it."""
        trace = java_trace()[:6]
        lines = [cri("stdout", "F", "first")]
        lines += [cri("stderr", "F", line) for line in trace]
        lines.append(cri("stdout", "F", "queued"))
        skiff, _ = self.start("1h")
        self.write(lines)
        self.wait_records(1, skiff)
        time.sleep(0.5)
        self.assertEqual([r["log"] for r in self.records()], ["first"])
        skiff.assert_exit(self, 0, skiff.stop())
        expected = ["first", "\n".join(trace), "queued"]
        self.assertEqual([r["log"] for r in self.records()], expected)

        skiff, _ = self.start("1h")
        time.sleep(1.0)
        self.write([cri("stdout", "F", "after restart")])
        records = self.wait_records(4, skiff)
        time.sleep(0.3)
        skiff.assert_exit(self, 0, skiff.stop())
        self.assertEqual([r["log"] for r in self.records()], expected + ["after restart"])
        self.assertEqual(len(records), 4)


if __name__ == "__main__":
    unittest.main()
