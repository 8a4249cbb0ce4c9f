"""The modify filter (Fluent Bit's names and semantics) in the running
pipeline: rules run in order on the records whose conditions hold, and a bad
rule is a config error at its line under --dry-run."""

import unittest

import harness
from harness import Skiff, TempDir, run_cli, wait_for, write_config
from test_pipeline import read_records


class Modify(unittest.TestCase):
    def test_rules_under_condition(self):
        """Only stderr records are changed: `level` set, `log` renamed to
        `message` (not onto an existing `msg`), `tmp_*` removed, `src` copied;
        stdout records arrive untouched, every record once."""
        tmp = TempDir(self)
        out = tmp.join("out.log")
        config = harness.pipeline_config(
            [{"name": "dummy", "tag": "a", "rate": 0, "count": 10,
              "record": {"stream": "stderr", "log": "boom", "tmp_a": 1, "tmp_b": "x",
                         "src": "s", "msg": "keep"}},
             {"name": "dummy", "tag": "b", "rate": 0, "count": 10,
              "record": {"stream": "stdout", "log": "ok", "tmp_a": 1}}],
            [{"name": "file", "match": "*", "path": out}])
        config["pipeline"]["filters"] = [
            {"name": "modify", "match": "*",
             "condition": ["key_value_equals stream stderr", "key_exists log"],
             "rules": ["set level error", "rename log message", "rename message msg",
                       "remove_wildcard tmp_*", "copy src src_copy",
                       'add note "two words"', "add level ignored"]}]
        skiff = Skiff(self, tmp, write_config(tmp, config))
        wait_for(lambda: harness.count_lines(out) >= 20, 30, "20 records", alive=skiff)
        skiff.assert_exit(self, 0, skiff.stop())

        records = read_records(out)
        self.assertEqual(len(records), 20)
        changed = [r for r in records if r.get("stream") == "stderr"]
        untouched = [r for r in records if r.get("stream") == "stdout"]
        self.assertEqual(len(changed), 10)
        for r in changed:
            self.assertEqual(r["level"], "error")
            self.assertEqual(r["message"], "boom")
            self.assertEqual(r["msg"], "keep")
            self.assertNotIn("log", r)
            self.assertNotIn("tmp_a", r)
            self.assertNotIn("tmp_b", r)
            self.assertEqual(r["src_copy"], "s")
            self.assertEqual(r["note"], "two words")
        for r in untouched:
            self.assertEqual(r["log"], "ok")
            self.assertEqual(r["tmp_a"], 1)
            self.assertNotIn("level", r)

    def test_bad_rules_are_config_errors(self):
        """An unknown action, a wrong argument count and a bad regex are each
        reported at their line, exit 2."""
        tmp = TempDir(self)
        config = harness.pipeline_config(
            [{"name": "dummy", "tag": "a", "count": 1}],
            [{"name": "stdout", "match": "*"}])
        config["pipeline"]["filters"] = [
            {"name": "modify", "match": "*",
             "condition": ["key_value_matches log ("],
             "rules": ["sett a b", "rename only_one"]}]
        proc = run_cli(["--dry-run", "-c", write_config(tmp, config)])
        self.assertEqual(proc.returncode, 2, proc.stderr)
        self.assertRegex(proc.stderr, r"skiff\.yaml:\d+:\d+: .*'condition'.*key_value_matches.*regex")
        self.assertRegex(proc.stderr, r"skiff\.yaml:\d+:\d+: .*'rules'.*unknown rule 'sett'")
        self.assertRegex(proc.stderr, r"skiff\.yaml:\d+:\d+: .*'rules'.*rename: takes 2 arguments")


if __name__ == "__main__":
    unittest.main()
