"""Filters in the running pipeline: the grep filter keeps and drops records by
field, counts what it drops, and the records that pass arrive exactly once;
the add_field filter (the example plugin of docs/ARCHITECTURE.md) sets a
field, keeping one a record has unless told to overwrite."""

import unittest

import harness
from harness import Skiff, SkiffHttp, TempDir, free_port, run_cli, wait_for, write_config
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


class AddField(unittest.TestCase):
    def test_sets_keeps_and_overwrites(self):
        """`cluster` is added where it is missing and kept where the record
        has it; `meta.env` with overwrite replaces what is there; every
        record arrives once."""
        tmp = TempDir(self)
        out = tmp.join("out.log")
        config = harness.pipeline_config(
            [{"name": "dummy", "tag": "a", "rate": 0, "count": 20, "record": {"message": "m"}},
             {"name": "dummy", "tag": "b", "rate": 0, "count": 20,
              "record": {"message": "m", "cluster": "old", "meta": {"env": "dev"}}}],
            [{"name": "file", "match": "*", "path": out}])
        config["pipeline"]["filters"] = [
            {"name": "add_field", "match": "*", "key": "cluster", "value": "prod"},
            {"name": "add_field", "match": "*", "key": "meta.env", "value": "staging",
             "overwrite": True}]
        skiff = Skiff(self, tmp, write_config(tmp, config))
        wait_for(lambda: harness.count_lines(out) >= 40, 30, "40 records", alive=skiff)
        skiff.assert_exit(self, 0, skiff.stop())

        records = read_records(out)
        self.assertEqual(len(records), 40)
        clusters = sorted(r["cluster"] for r in records)
        self.assertEqual(clusters, ["old"] * 20 + ["prod"] * 20)
        self.assertEqual({r["meta"]["env"] for r in records}, {"staging"})

    def test_key_not_a_path(self):
        """A key that is not a field path is a config error at its line."""
        tmp = TempDir(self)
        config = harness.pipeline_config(
            [{"name": "dummy", "tag": "a", "count": 1}],
            [{"name": "stdout", "match": "*"}])
        config["pipeline"]["filters"] = [
            {"name": "add_field", "match": "*", "key": "a..b", "value": "x"}]
        path = write_config(tmp, config)
        proc = run_cli(["--dry-run", "-c", path])
        self.assertEqual(proc.returncode, 2, proc.stderr)
        self.assertRegex(proc.stderr, r"skiff\.yaml:\d+:\d+: .*add_field.*'key'.*empty segment")


if __name__ == "__main__":
    unittest.main()
