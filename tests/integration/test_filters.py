"""Filters in the running pipeline: the grep filter keeps and drops records by
field, counts what it drops, and the records that pass arrive exactly once."""

import unittest

import harness
from harness import Skiff, SkiffHttp, TempDir, free_port, wait_for, write_config
from test_pipeline import read_records


class Grep(unittest.TestCase):
    def test_regex_and_exclude(self):
        """Of seq 0..999, `regex` keeps the multiples of 5 and `exclude` drops
        those starting with 1: exactly 178 records arrive, and the other 822
        are counted as dropped by the grep filter."""
        tmp = TempDir(self)
        out = tmp.join("out.log")
        port = free_port()
        config = harness.pipeline_config(
            [{"name": "dummy", "tag": "app.test", "rate": 0, "count": 1000,
              "record": {"message": "m"}}],
            [{"name": "file", "match": "app.*", "path": out}], port=port)
        config["pipeline"]["filters"] = [
            {"name": "grep", "match": "app.*", "key": "seq", "regex": "^[0-9]*[05]$",
             "exclude": "^1"}]
        skiff = Skiff(self, tmp, write_config(tmp, config))
        http = SkiffHttp(skiff, port)
        http.wait_up()
        http.wait_value("skiff_filter_records_total", lambda v: v == 1000, 30,
                        "the filter to see 1000 records", instance="grep.0")
        expected = [s for s in range(0, 1000, 5) if not str(s).startswith("1")]
        http.wait_value("skiff_output_records_total", lambda v: v == len(expected), 30,
                        "the kept records to be written", instance="file.0")
        dropped = http.value("skiff_records_dropped_total", instance="grep.0", reason="grep")
        skiff.assert_exit(self, 0, skiff.stop())

        self.assertEqual(len(expected), 178)
        self.assertEqual(dropped, 1000 - 178)
        self.assertEqual(sorted(r["seq"] for r in read_records(out)), expected)

    def test_record_without_the_field(self):
        """With only `exclude`, a record that lacks the field passes; with
        `regex`, it is dropped."""
        tmp = TempDir(self)
        kept, matched = tmp.join("kept.log"), tmp.join("matched.log")
        config = harness.pipeline_config(
            [{"name": "dummy", "tag": "a", "rate": 0, "count": 50, "record": {"x": 1}},
             {"name": "dummy", "tag": "b", "rate": 0, "count": 50, "record": {"x": 1}}],
            [{"name": "file", "match": "a", "path": kept},
             {"name": "file", "match": "b", "path": matched}])
        config["pipeline"]["filters"] = [
            {"name": "grep", "match": "a", "key": "missing", "exclude": "."},
            {"name": "grep", "match": "b", "key": "missing", "regex": "."}]
        skiff = Skiff(self, tmp, write_config(tmp, config))
        wait_for(lambda: harness.count_lines(kept) >= 50, 30, "50 records kept", alive=skiff)
        skiff.assert_exit(self, 0, skiff.stop())
        self.assertEqual(harness.count_lines(kept), 50)
        self.assertEqual(harness.count_lines(matched), 0)


if __name__ == "__main__":
    unittest.main()
