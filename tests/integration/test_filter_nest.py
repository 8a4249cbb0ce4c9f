"""The nest filter (Fluent Bit's nest) in the running pipeline: nest moves the
matching top-level fields into a map, lift moves a map's fields up, prefixes
are added and removed, the usual lift-then-nest-back of `kubernetes` gives the
record back, and no record ever holds a key twice."""

import json
import unittest

import harness
from harness import Skiff, TempDir, run_cli, wait_for, write_config


def no_duplicates(pairs):
    keys = [k for k, _ in pairs]
    if len(keys) != len(set(keys)):
        raise AssertionError(f"duplicate key in {keys}")
    return dict(pairs)


def read_strict(path):
    """Every line of `path` as JSON, failing on a key written twice."""
    return [json.loads(line, object_pairs_hook=no_duplicates) for line in harness.read_lines(path)]


def run_filters(test, record, filters, count=5):
    tmp = TempDir(test)
    out = tmp.join("out.log")
    config = harness.pipeline_config(
        [{"name": "dummy", "tag": "a", "rate": 0, "count": count, "record": record}],
        [{"name": "file", "match": "*", "path": out}])
    config["pipeline"]["filters"] = [dict({"match": "*"}, **f) for f in filters]
    skiff = Skiff(test, tmp, write_config(tmp, config))
    wait_for(lambda: harness.count_lines(out) >= count, 30, f"{count} records", alive=skiff)
    skiff.assert_exit(test, 0, skiff.stop())
    records = read_strict(out)
    test.assertEqual(len(records), count)
    for r in records:
        r.pop("seq", None)
        r.pop("@timestamp", None)
    return records


def dry_run_error(test, filt):
    tmp = TempDir(test)
    config = harness.pipeline_config([{"name": "dummy", "tag": "a", "count": 1}],
                                     [{"name": "stdout", "match": "*"}])
    config["pipeline"]["filters"] = [dict({"name": "nest", "match": "*"}, **filt)]
    proc = run_cli(["--dry-run", "-c", write_config(tmp, config)])
    test.assertEqual(proc.returncode, 2, proc.stderr)
    return proc.stderr


class Nest(unittest.TestCase):
    def test_nest_with_remove_prefix(self):
        """Keys matching `k_*` or exactly `solo` move under `n` (replacing
        the `n` the record had), without the prefix; the others stay."""
        records = run_filters(self, {"message": "m", "k_a": 1, "k_b": {"x": "y"}, "solo": True,
                                     "n": "old", "solo2": 2},
                              [{"name": "nest", "operation": "nest", "wildcard": ["k_*", "solo"],
                                "nest_under": "n", "remove_prefix": "k_"}])
        for r in records:
            self.assertEqual(r["n"], {"a": 1, "b": {"x": "y"}, "solo": True})
            self.assertEqual(r["message"], "m")
            self.assertEqual(r["solo2"], 2)
            self.assertNotIn("k_a", r)

    def test_nest_nothing_matches(self):
        """No key matches: the record is unchanged, no empty map is added."""
        records = run_filters(self, {"message": "m"},
                              [{"name": "nest", "operation": "nest", "wildcard": "zz*",
                                "nest_under": "n"}])
        for r in records:
            self.assertNotIn("n", r)
            self.assertEqual(r["message"], "m")

    def test_lift_collision_and_not_a_map(self):
        """Lifted keys (with add_prefix) replace the fields of that name; a
        nested_under that is not a map stays as it is."""
        records = run_filters(self, {"message": "m", "meta_a": "old", "meta": {"a": 1, "b": "x"}},
                              [{"name": "nest", "operation": "lift", "nested_under": "meta",
                                "add_prefix": "meta_"},
                               {"name": "nest", "operation": "lift", "nested_under": "message"}])
        for r in records:
            self.assertEqual(r["meta_a"], 1)
            self.assertEqual(r["meta_b"], "x")
            self.assertNotIn("meta", r)
            self.assertEqual(r["message"], "m")

    def test_kubernetes_round_trip(self):
        """Lift `kubernetes` with add_prefix `kubernetes_`, then nest
        `kubernetes_*` back under `kubernetes` removing the prefix: the
        record is as it was."""
        kube = {"pod_name": "p", "namespace_name": "ns", "labels": {"app": "web"}}
        records = run_filters(self, {"message": "m", "kubernetes": kube},
                              [{"name": "nest", "operation": "lift", "nested_under": "kubernetes",
                                "add_prefix": "kubernetes_"},
                               {"name": "nest", "operation": "nest",
                                "wildcard": "kubernetes_*", "nest_under": "kubernetes",
                                "remove_prefix": "kubernetes_"}])
        for r in records:
            self.assertEqual(r, {"message": "m", "kubernetes": kube})

    def test_config_errors(self):
        """What an operation needs is checked at load, with file:line."""
        self.assertRegex(dry_run_error(self, {"operation": "nest", "wildcard": "a*"}),
                         r"skiff\.yaml:\d+:\d+: .*'nest_under' is required with operation nest")
        self.assertRegex(dry_run_error(self, {"operation": "lift"}),
                         r"skiff\.yaml:\d+:\d+: .*'nested_under' is required with operation lift")
        self.assertRegex(dry_run_error(self, {"operation": "lift", "nested_under": "a",
                                              "add_prefix": "x", "remove_prefix": "y"}),
                         r"skiff\.yaml:\d+:\d+: .*'add_prefix' and 'remove_prefix' exclude")
        self.assertRegex(dry_run_error(self, {"operation": "flatten"}),
                         r"skiff\.yaml:\d+:\d+: .*operation")


if __name__ == "__main__":
    unittest.main()
