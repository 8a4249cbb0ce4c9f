"""Options of the tail input and its parsers that Fluent Bit users rely on:
ignore_older, compressed files that a glob matches (skipped with one warning
each), and a parser's time_zone for times written without an offset."""

import gzip
import os
import time
import unittest

from harness import TempDir, run_cli, write_config
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


class TailTimeZone(unittest.TestCase):

    PARSERS = [
        {"name": "local_regex", "format": "regex",
         "regex": r"^(?<time>\S+ \S+) (?<msg>.*)$", "time_key": "time",
         "time_format": "%Y-%m-%d %H:%M:%S", "time_zone": "America/New_York"},
        {"name": "local_json", "format": "json", "time_key": "time",
         "time_zone": "America/New_York"},
        {"name": "local_logfmt", "format": "logfmt", "time_key": "time",
         "time_format": "%Y-%m-%dT%H:%M:%S", "time_zone": "America/New_York"},
    ]

    def test_times_without_offset_in_the_zone(self):
        """The same wall-clock times in New York, written by a regex, a json
        and a logfmt parser's files: 08:00 in July is 12:00Z (EDT), 07:00 in
        January is 12:00Z (EST). A time with its own offset keeps it."""
        tmp = TempDir(self)
        logs = tmp.join("logs")
        os.makedirs(logs)
        lines = {
            "r": ["2024-07-01 08:00:00 summer", "2024-01-01 07:00:00 winter"],
            "j": ['{"time":"2024-07-01T08:00:00","msg":"summer"}',
                  '{"time":"2024-01-01T07:00:00.5","msg":"winter"}',
                  '{"time":"2024-01-01T12:00:00+00:00","msg":"given"}'],
            "l": ["time=2024-07-01T08:00:00 msg=summer", "time=2024-01-01T07:00:00 msg=winter"],
        }
        parsers = {"r": "local_regex", "j": "local_json", "l": "local_logfmt"}
        inputs = []
        for name, text in lines.items():
            path = os.path.join(logs, f"{name}.log")
            with open(path, "w", encoding="utf-8") as f:
                f.write("\n".join(text) + "\n")
            inputs.append(tail_input(path, parser=parsers[name], read_from_head=True))
        run = TailRun(self, tmp, inputs, parsers=self.PARSERS)
        run.wait_delivered(7)
        run.stop()
        got = sorted((r["msg"], r["@timestamp"]) for r in tw.read_json_lines(run.out))
        want = sorted([("summer", "2024-07-01T12:00:00.000000000Z")] * 3
                      + [("winter", "2024-01-01T12:00:00.000000000Z")] * 2
                      + [("winter", "2024-01-01T12:00:00.500000000Z"),
                         ("given", "2024-01-01T12:00:00.000000000Z")])
        self.assertEqual(got, want)

    def test_unknown_zone_is_a_config_error(self):
        """An unknown zone stops --dry-run (exit 2) with FILE:LINE on the
        time_zone option."""
        tmp = TempDir(self)
        text = ("parsers:\n"
                "  - name: local\n"
                "    format: json\n"
                "    time_key: time\n"
                "    time_zone: Mars/Olympus_Mons\n"
                "pipeline:\n"
                "  inputs: [ { name: tail, path: /nonexistent/*.log, parser: local } ]\n"
                "  outputs: [ { name: 'null', match: '*' } ]\n")
        path = write_config(tmp, text)
        proc = run_cli(["--dry-run", "-c", path])
        self.assertEqual(proc.returncode, 2, proc.stderr)
        self.assertRegex(proc.stderr, rf"{path}:5:\d+: .*time_zone.*Mars/Olympus_Mons")


if __name__ == "__main__":
    unittest.main()
