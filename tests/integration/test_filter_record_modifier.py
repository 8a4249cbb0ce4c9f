"""The record_modifier filter (Fluent Bit's record_modifier) in the running
pipeline: `record` sets fields (replacing, never duplicating, a key the record
has), `remove_key` removes and `allowlist_key` (or its older name
`whitelist_key`) keeps top-level keys, matched as Fluent Bit does."""

import unittest

from harness import TempDir, run_cli, write_config
import harness
from test_filter_nest import run_filters


def dry_run_error(test, filt):
    tmp = TempDir(test)
    config = harness.pipeline_config([{"name": "dummy", "tag": "a", "count": 1}],
                                     [{"name": "stdout", "match": "*"}])
    config["pipeline"]["filters"] = [dict({"name": "record_modifier", "match": "*"}, **filt)]
    proc = run_cli(["--dry-run", "-c", write_config(tmp, config)])
    test.assertEqual(proc.returncode, 2, proc.stderr)
    return proc.stderr


class RecordModifier(unittest.TestCase):
    def test_record_and_remove_key(self):
        """`record` adds fields and replaces `host` (no second `host`);
        `remove_key` removes `Secret` exactly (any case) and `tmp_*` by
        prefix."""
        records = run_filters(self, {"message": "m", "host": "old", "secret": "s",
                                     "tmp_a": 1, "tmp_b": 2, "tmpx": 3},
                              [{"name": "record_modifier", "remove_key": ["Secret", "tmp_*"],
                                "record": {"host": "node-1", "env": "prod"}}])
        for r in records:
            self.assertEqual(r, {"message": "m", "host": "node-1", "tmpx": 3, "env": "prod"})

    def test_allowlist_and_whitelist(self):
        """Only the allowed keys stay (both names count); `record` fields
        are set after."""
        records = run_filters(self, {"message": "m", "level": "info", "kubernetes": {"a": 1},
                                     "other": 1},
                              [{"name": "record_modifier", "allowlist_key": "message",
                                "whitelist_key": ["kube*"], "record": {"cluster": "c1"}}])
        for r in records:
            self.assertEqual(r, {"message": "m", "kubernetes": {"a": 1}, "cluster": "c1"})

    def test_config_errors(self):
        """remove_key and allowlist_key exclude each other: exit 2 with
        file:line."""
        self.assertRegex(dry_run_error(self, {"remove_key": "a", "allowlist_key": "b"}),
                         r"skiff\.yaml:\d+:\d+: .*'remove_key' and 'allowlist_key' exclude")
        self.assertRegex(dry_run_error(self, {"remove_key": "a", "whitelist_key": "b"}),
                         r"skiff\.yaml:\d+:\d+: .*'remove_key' and 'allowlist_key' exclude")
        self.assertRegex(dry_run_error(self, {"remove_keys": "a"}),
                         r"skiff\.yaml:\d+:\d+: .*remove_keys")


if __name__ == "__main__":
    unittest.main()
