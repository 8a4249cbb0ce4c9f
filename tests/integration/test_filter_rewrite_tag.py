"""The rewrite_tag filter (Fluent Bit's names and semantics) in the running
pipeline: a record whose field matches a rule goes through the pipeline again
under its new tag (routing by the new tag), once, or twice with KEEP; the
tail's checkpoint never passes a re-tagged line that is not delivered, across
a SIGKILL; loops end; bad rules are config errors at their line."""

import os
import signal
import time
import unittest

import harness
import tail_writer
from fake_es import FakeElasticsearch
from harness import Skiff, SkiffHttp, TempDir, free_port, run_cli, wait_for, write_config
from test_pipeline import read_records


def write_json_lines(path, count, error_every=3):
    """Lines {"n": i, "level": ...}, every `error_every`-th one an error."""
    with open(path, "w", encoding="utf-8") as f:
        for i in range(count):
            level = "error" if i % error_every == 0 else "info"
            f.write(f'{{"n":{i},"level":"{level}"}}\n')


def tail_json(path):
    return {"name": "tail", "tag": "app", "path": path, "read_from_head": True,
            "parser": "json"}


class RewriteTag(unittest.TestCase):
    def run_split(self, keep):
        """tail -> rewrite_tag (level error -> tag errors) -> one file output
        per tag; returns (records under app, records under errors)."""
        tmp = TempDir(self)
        log = tmp.join("app.log")
        write_json_lines(log, 300)
        app_out, err_out = tmp.join("app.jsonl"), tmp.join("errors.jsonl")
        config = harness.pipeline_config(
            [tail_json(log)],
            [{"name": "file", "match": "app", "path": app_out},
             {"name": "file", "match": "errors", "path": err_out}],
            state_dir=tmp.join("state"))
        config["pipeline"]["filters"] = [
            {"name": "rewrite_tag", "match": "app",
             "rules": [f"$level ^error$ errors {str(keep).lower()}"]}]
        skiff = Skiff(self, tmp, write_config(tmp, config))
        expected = 300 + (100 if keep else 0)
        wait_for(lambda: harness.count_lines(app_out) + harness.count_lines(err_out) >= expected,
                 30, f"{expected} records", alive=skiff)
        skiff.assert_exit(self, 0, skiff.stop())
        return read_records(app_out), read_records(err_out)

    def test_split_by_field_without_keep(self):
        """Every line arrives exactly once, under the tag its rule gives:
        errors only under `errors`, the rest under `app`."""
        app, errors = self.run_split(keep=False)
        self.assertEqual(sorted(r["n"] for r in errors), list(range(0, 300, 3)))
        self.assertEqual(sorted(r["n"] for r in app), [i for i in range(300) if i % 3])
        self.assertEqual({r["level"] for r in errors}, {"error"})

    def test_split_by_field_with_keep(self):
        """KEEP true: every error line twice, once per tag; the rest once."""
        app, errors = self.run_split(keep=True)
        self.assertEqual(sorted(r["n"] for r in app), list(range(300)))
        self.assertEqual(sorted(r["n"] for r in errors), list(range(0, 300, 3)))

    def test_new_tag_parts_and_first_rule_wins(self):
        """NEW_TAG from $TAG[n], a capture, a field written ${a.b} and in
        Fluent Bit's $a['b'] form; the first matching rule wins; a number
        does not match; the new tag's filters run, the re-emitting filter
        does not run again."""
        tmp = TempDir(self)
        outs = {name: tmp.join(f"{name}.jsonl") for name in ("prod", "second", "rest")}
        config = harness.pipeline_config(
            [{"name": "dummy", "tag": "kube.web", "rate": 0, "count": 5,
              "record": {"msg": "code=503 slow", "k8s": {"ns": "prod"}, "num": 7}},
             {"name": "dummy", "tag": "kube.db", "rate": 0, "count": 5,
              "record": {"msg": "code=200", "k8s": {"ns": "dev"}, "num": 7}}],
            [{"name": "file", "match": "routed.web.503.prod.prod", "path": outs["prod"]},
             {"name": "file", "match": "second.kube", "path": outs["second"]},
             {"name": "file", "match": "kube.*", "path": outs["rest"]}])
        config["pipeline"]["filters"] = [
            {"name": "rewrite_tag", "match": "*",
             "rules": ["num ^7$ never false",
                       "$msg ^code=(5\\d\\d) routed.$TAG[1].$1.${k8s.ns}.$k8s['ns'] false",
                       "msg code second.$TAG[0] false"]},
            {"name": "add_field", "match": "routed.*", "key": "passed", "value": "yes"}]
        skiff = Skiff(self, tmp, write_config(tmp, config))
        wait_for(lambda: sum(harness.count_lines(p) for p in outs.values()) >= 10, 30,
                 "10 records", alive=skiff)
        skiff.assert_exit(self, 0, skiff.stop())
        prod = read_records(outs["prod"])
        self.assertEqual(len(prod), 5)
        self.assertEqual({r["passed"] for r in prod}, {"yes"})
        second = read_records(outs["second"])
        self.assertEqual(len(second), 5)
        self.assertEqual({r["k8s"]["ns"] for r in second}, {"dev"})
        self.assertEqual(read_records(outs["rest"]), [])

    def test_unusable_tag_keeps_the_old_one(self):
        """A NEW_TAG that comes out empty (a missing field) is counted; the
        record goes on under its tag."""
        tmp = TempDir(self)
        port = free_port()
        out = tmp.join("out.jsonl")
        config = harness.pipeline_config(
            [{"name": "dummy", "tag": "app", "rate": 0, "count": 4, "record": {"msg": "x"}}],
            [{"name": "file", "match": "*", "path": out}], port=port)
        config["pipeline"]["filters"] = [
            {"name": "rewrite_tag", "match": "app", "rules": ["msg x $$missing false"]}]
        skiff = Skiff(self, tmp, write_config(tmp, config))
        http = SkiffHttp(skiff, port)
        http.wait_up()
        http.wait_value("skiff_rewrite_tag_unusable_total", lambda v: v == 4, 20,
                        "4 unusable tags", instance="rewrite_tag.0")
        wait_for(lambda: harness.count_lines(out) >= 4, 20, "4 records", alive=skiff)
        skiff.assert_exit(self, 0, skiff.stop())
        self.assertIn("cannot be used: it is empty", skiff.stderr_text())
        self.assertEqual(len(read_records(out)), 4)

    def test_loop_is_ended_and_counted(self):
        """Two filters that give each other's tags back: each record is dropped
        after 8 new tags, counted as rewrite_loop and logged once; the tail's
        checkpoint still moves past them."""
        tmp = TempDir(self)
        port = free_port()
        log = tmp.join("app.log")
        write_json_lines(log, 20, error_every=1)
        config = harness.pipeline_config(
            [dict(tail_json(log), checkpoint_interval="100ms")],
            [{"name": "null", "match": "*"}], port=port, state_dir=tmp.join("state"))
        config["pipeline"]["filters"] = [
            {"name": "rewrite_tag", "match": "app", "rules": ["level error other false"]},
            {"name": "rewrite_tag", "match": "other", "rules": ["level error app false"]}]
        skiff = Skiff(self, tmp, write_config(tmp, config))
        http = SkiffHttp(skiff, port)
        http.wait_up()
        http.wait_value("skiff_records_dropped_total", lambda v: v == 20, 20,
                        "20 records dropped", reason="rewrite_loop")
        ckpt = os.path.join(tmp.join("state"), "tail", "tail.0.checkpoints")
        size = os.path.getsize(log)
        wait_for(lambda: [o for o, _ in tail_writer.read_checkpoints(ckpt).values()] == [size],
                 20, "the checkpoint at the end of the file", alive=skiff)
        skiff.assert_exit(self, 0, skiff.stop())
        self.assertEqual(skiff.stderr_text().count("make a loop"), 1)

    def test_output_for_a_new_tag_reaches_an_input(self):
        """An output whose match fits only a new tag passes --dry-run."""
        tmp = TempDir(self)
        config = harness.pipeline_config(
            [{"name": "dummy", "tag": "app", "count": 1}],
            [{"name": "stdout", "match": "app"}, {"name": "stdout", "match": "errors.*"}])
        config["pipeline"]["filters"] = [
            {"name": "rewrite_tag", "match": "app", "rules": ["level x errors.$1 false"]}]
        proc = run_cli(["--dry-run", "-c", write_config(tmp, config)])
        self.assertEqual(proc.returncode, 0, proc.stderr)

    def test_bad_rules_are_config_errors(self):
        """A rule with three parts, a bad regex, a bad KEEP and a NEW_TAG
        naming nothing are each reported at their line, exit 2."""
        tmp = TempDir(self)
        config = harness.pipeline_config(
            [{"name": "dummy", "tag": "a", "count": 1}], [{"name": "stdout", "match": "*"}])
        config["pipeline"]["filters"] = [
            {"name": "rewrite_tag", "match": "*",
             "rules": ["log ^a$ b", "log ( b false", "log a b maybe", "log a b.$ false"]}]
        proc = run_cli(["--dry-run", "-c", write_config(tmp, config)])
        self.assertEqual(proc.returncode, 2, proc.stderr)
        self.assertRegex(proc.stderr, r"skiff\.yaml:\d+:\d+: .*'rules'.*has 3 parts")
        self.assertRegex(proc.stderr, r"skiff\.yaml:\d+:\d+: .*'rules'.*REGEX '\('")
        self.assertRegex(proc.stderr, r"skiff\.yaml:\d+:\d+: .*'rules'.*KEEP 'maybe'")
        self.assertRegex(proc.stderr, r"skiff\.yaml:\d+:\d+: .*'rules'.*names nothing")


class RewriteTagCheckpoint(unittest.TestCase):
    """The acknowledgement order across tags: a line re-tagged for an output
    that fails is not passed by the checkpoint of the lines after it, which
    went to an output that works."""

    def fake(self, **kwargs):
        es = FakeElasticsearch(**kwargs).start()
        self.addCleanup(es.stop)
        return es

    def start(self, tmp, log, es_app, es_err, port, keep=False):
        # buffer_limit 256KiB: chunks are sealed at 64KiB, so the lines after
        # the first error fill and seal chunks of tag `app` while the chunk
        # of tag `errors` is still open.
        tail = {"name": "tail", "tag": "app", "path": log, "read_from_head": True,
                "buffer_limit": "256KiB", "checkpoint_interval": "100ms"}
        outputs = [{"name": "elasticsearch", "match": match, "hosts": [es.url],
                    "retry_min": "100ms", "retry_max": "300ms"}
                   for match, es in (("app", es_app), ("errors", es_err))]
        config = harness.pipeline_config([tail], outputs, port=port, flush_interval="1s",
                                         state_dir=tmp.join("state"))
        config["pipeline"]["filters"] = [
            {"name": "rewrite_tag", "match": "app",
             "rules": [f"log ^ERROR errors {str(keep).lower()}"]}]
        skiff = Skiff(self, tmp, write_config(tmp, config))
        http = SkiffHttp(skiff, port)
        http.wait_up()
        return skiff, http

    def checkpoints(self, tmp):
        path = os.path.join(tmp.join("state"), "tail", "tail.0.checkpoints")
        return [o for o, _ in tail_writer.read_checkpoints(path).values()]

    def test_failing_output_of_the_new_tag_holds_the_checkpoint(self):
        """The first line goes to `errors`, whose Elasticsearch answers 503;
        1,000 lines after it go to `app`, which works. Once `app` has them
        all, the checkpoint is still before the error line; skiff is killed
        with SIGKILL, restarted with `errors` working: the error line
        arrives, and every `app` document once (origin ids: the lines read
        again are answered 409)."""
        tmp = TempDir(self)
        log = tmp.join("app.log")
        padding = "x" * 80
        with open(log, "w", encoding="utf-8") as f:
            f.write("ERROR first\n")
            for i in range(1000):
                f.write(f"line {i:04d} {padding}\n")
        error_end = len("ERROR first\n")
        es_app, es_err = self.fake(), self.fake()
        es_err.request_faults = [(503, None)] * 1000000
        port = free_port()
        skiff, _ = self.start(tmp, log, es_app, es_err, port)
        wait_for(lambda: es_app.doc_count() >= 1000, 30, "1000 app documents", alive=skiff)
        wait_for(lambda: len(es_err.requests) >= 2, 30, "errors retried", alive=skiff)
        time.sleep(0.5)  # several checkpoint intervals
        offsets = self.checkpoints(tmp)
        self.assertTrue(all(o < error_end for o in offsets),
                        f"checkpoint {offsets} passed the undelivered error line")
        skiff.proc.send_signal(signal.SIGKILL)
        skiff.wait_exit(10, "after SIGKILL")

        with es_err.lock:
            es_err.request_faults = []
        skiff, _ = self.start(tmp, log, es_app, es_err, port)
        wait_for(lambda: es_err.doc_count() >= 1, 30, "the error line", alive=skiff)
        wait_for(lambda: self.checkpoints(tmp) == [os.path.getsize(log)], 30,
                 "the checkpoint at the end", alive=skiff)
        skiff.assert_exit(self, 0, skiff.stop())
        self.assertEqual(es_err.doc_count(), 1)
        self.assertEqual(es_app.doc_count(), 1000)
        self.assertEqual(set(es_app.writes.values()), {1}, "a document was written twice")
        self.assertEqual([d["log"] for d in es_err.docs.values()], ["ERROR first"])

    def test_keep_copy_delivered_does_not_pass_the_original(self):
        """KEEP true, and the first line is bigger than a chunk: its copy
        under `errors` fills a chunk on its own and is delivered, while the
        line itself, under `app`, meets an output answering 503. The copy's
        chunk is sealed with the line's own, after the line, so the
        checkpoint stays before it; after SIGKILL and a restart with `app`
        working, the line arrives, and nothing twice."""
        tmp = TempDir(self)
        log = tmp.join("app.log")
        with open(log, "w", encoding="utf-8") as f:
            f.write("ERROR " + "y" * 70000 + "\n")
            for i in range(100):
                f.write(f"line {i:04d}\n")
        error_end = 70007
        es_app, es_err = self.fake(), self.fake()
        es_app.request_faults = [(503, None)] * 1000000
        port = free_port()
        skiff, _ = self.start(tmp, log, es_app, es_err, port, keep=True)
        wait_for(lambda: es_err.doc_count() >= 1, 30, "the copy under errors", alive=skiff)
        wait_for(lambda: len(es_app.requests) >= 2, 30, "app retried", alive=skiff)
        time.sleep(0.5)  # several checkpoint intervals
        offsets = self.checkpoints(tmp)
        self.assertTrue(all(o < error_end for o in offsets),
                        f"checkpoint {offsets} passed the undelivered line under app")
        skiff.proc.send_signal(signal.SIGKILL)
        skiff.wait_exit(10, "after SIGKILL")

        with es_app.lock:
            es_app.request_faults = []
        skiff, _ = self.start(tmp, log, es_app, es_err, port, keep=True)
        wait_for(lambda: es_app.doc_count() >= 101, 30, "101 app documents", alive=skiff)
        wait_for(lambda: self.checkpoints(tmp) == [os.path.getsize(log)], 30,
                 "the checkpoint at the end", alive=skiff)
        skiff.assert_exit(self, 0, skiff.stop())
        self.assertEqual(es_app.doc_count(), 101)
        self.assertEqual(es_err.doc_count(), 1)
        self.assertEqual(set(es_err.writes.values()), {1}, "the copy was written twice")


if __name__ == "__main__":
    unittest.main()
