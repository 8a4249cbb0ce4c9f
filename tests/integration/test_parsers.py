"""Parsers in the running agent: the tail input with the cri parser joins
partial lines written by a container runtime; the parser filter turns a JSON
`log` into fields; a line a parser cannot read arrives unchanged."""

import json
import os
import unittest

import harness
from harness import Skiff, TempDir, wait_for, write_config

CRI_TIME = "2024-05-01T10:15:00.123456789Z"


def cri(stream, tag, message, second=0):
    return f"2024-05-01T10:15:{second:02d}.123456789Z {stream} {tag} {message}\n"


class TailCri(unittest.TestCase):
    def run_skiff(self, tmp, lines, filters=None, parser="cri"):
        """Writes `lines` to a CRI log, runs tail (+filters) -> file, and
        returns the records once `count` arrived."""
        logs = tmp.join("logs")
        os.makedirs(logs)
        out = tmp.join("out.jsonl")
        with open(os.path.join(logs, "app.log"), "w") as f:
            f.write("".join(lines))
        config = harness.pipeline_config(
            [{"name": "tail", "tag": "kube.*", "path": os.path.join(logs, "*.log"),
              "parser": parser, "read_from_head": True, "rotate_wait": "200ms",
              "refresh_interval": "500ms"}],
            [{"name": "file", "match": "kube.*", "path": out}], state_dir=tmp.join("state"))
        if filters:
            config["pipeline"]["filters"] = filters
        return out, Skiff(self, tmp, write_config(tmp, config))

    def records(self, out, skiff, count):
        wait_for(lambda: harness.count_lines(out) >= count, 20, f"{count} records", alive=skiff)
        skiff.assert_exit(self, 0, skiff.stop())
        with open(out) as f:
            return [json.loads(line) for line in f]

    def test_partial_lines_are_joined(self):
        """A 40-line Java exception written through CRI partial lines (each
        frame split in 3 pieces, stdout interleaved) arrives as one record per
        F line, with the first piece's time, and stdout lines stay whole."""
        frames = [f"\tat com.example.Service.method{i}(Service.java:{100 + i})" for i in range(40)]
        lines = []
        for i, frame in enumerate(frames):
            third = len(frame) // 3
            lines.append(cri("stderr", "P", frame[:third], second=i % 60))
            lines.append(cri("stdout", "F", f"heartbeat {i}"))
            lines.append(cri("stderr", "P", frame[third:2 * third]))
            lines.append(cri("stderr", "F", frame[2 * third:]))
        tmp = TempDir(self)
        out, skiff = self.run_skiff(tmp, lines)
        records = self.records(out, skiff, 80)
        self.assertEqual(len(records), 80)
        stderr = [r for r in records if r["stream"] == "stderr"]
        stdout = [r for r in records if r["stream"] == "stdout"]
        self.assertEqual([r["log"] for r in stderr], frames)
        self.assertEqual([r["log"] for r in stdout], [f"heartbeat {i}" for i in range(40)])
        self.assertEqual(stderr[5]["@timestamp"], "2024-05-01T10:15:05.123456789Z")
        self.assertTrue(all(r["logtag"] == "F" for r in records))

    def test_partial_line_of_a_rotated_file_is_not_lost(self):
        """A file that ends with a P piece whose F never comes (the runtime
        was killed) and is rotated away: when it is drained and closed, the
        held piece arrives as its own record, tagged P."""
        tmp = TempDir(self)
        out, skiff = self.run_skiff(tmp, [cri("stdout", "F", "whole"),
                                          cri("stderr", "P", "cut short")])
        wait_for(lambda: harness.count_lines(out) >= 1, 20, "the whole line", alive=skiff)
        logs = tmp.join("logs")
        os.rename(os.path.join(logs, "app.log"), os.path.join(logs, "app.log.1"))
        records = self.records(out, skiff, 2)
        self.assertEqual([r["log"] for r in records], ["whole", "cut short"])
        self.assertEqual(records[1]["logtag"], "P")
        self.assertEqual(records[1]["stream"], "stderr")

    def test_not_cri_stays_whole_and_json_log_becomes_fields(self):
        """A line that is not CRI arrives unchanged in `log`; with the parser
        filter, a JSON message becomes fields next to the CRI ones."""
        lines = [cri("stdout", "F", '{"level":"error","code":42}'), "plain text, not CRI\n",
                 cri("stdout", "F", "not json either")]
        tmp = TempDir(self)
        filters = [{"name": "parser", "match": "kube.*", "key_name": "log", "parser": "json",
                    "reserve_data": True}]
        out, skiff = self.run_skiff(tmp, lines, filters=filters)
        records = self.records(out, skiff, 3)
        self.assertEqual(records[0]["level"], "error")
        self.assertEqual(records[0]["code"], 42)
        self.assertEqual(records[0]["stream"], "stdout")
        self.assertNotIn("log", records[0])
        self.assertEqual(records[1]["log"], "plain text, not CRI")
        self.assertNotIn("stream", records[1])
        self.assertEqual(records[2]["log"], "not json either")


if __name__ == "__main__":
    unittest.main()
