"""The `kubernetes` filter as the README teaches it, with as few options as a
new user writes: each of these crashed skiff (a string option whose default
was "" ended up NULL), wrote a document with a key twice, or needed the
in-cluster files outside a cluster."""

import json
import os
import unittest

import harness
from fake_k8s import FakeK8s, container_id, make_namespace, make_pod
from harness import Skiff, SkiffHttp, TempDir, free_port, run_cli, wait_for, write_config
from in_cluster import InCluster

NODE = "node-1"


def strict_records(path):
    """The JSON lines of `path`, failing on a key written twice in one object
    (Elasticsearch refuses such documents)."""
    def unique(pairs):
        keys = [k for k, _ in pairs]
        dupes = {k for k in keys if keys.count(k) > 1}
        if dupes:
            raise AssertionError(f"{path}: key(s) {sorted(dupes)} twice in one object")
        return dict(pairs)

    return [json.loads(line, object_pairs_hook=unique) for line in harness.read_lines(path)]


class MinimalRun:
    """A fake API server on plain HTTP, like `kubectl proxy` (no token), and
    skiff tailing CRI files with only `filter_options` on the filter."""

    def __init__(self, test, filter_options, env=None, pods=()):
        self.test = test
        self.tmp = TempDir(test)
        self.containers = self.tmp.join("var", "log", "containers")
        os.makedirs(self.containers)
        self.fake = FakeK8s(self.tmp.path, tls=False, token=None, node=NODE)
        test.addCleanup(self.fake.close)
        self.fake.add_pods(list(pods))
        self.out = self.tmp.join("out.jsonl")
        self.port = free_port()
        options = {"name": "kubernetes", "match": "kube.*"}
        options.update({k: (v.replace("{api}", self.fake.url) if isinstance(v, str) else v)
                        for k, v in filter_options.items()})
        self.config = harness.pipeline_config(
            [{"name": "tail", "tag": "kube.cri", "path": os.path.join(self.containers, "*.log"),
              "parser": "cri", "read_from_head": True, "refresh_interval": "300ms"}],
            [{"name": "file", "match": "kube.*", "path": self.out}], port=self.port,
            state_dir=self.tmp.join("state"))
        self.config["pipeline"]["filters"] = [options]
        self.config_path = write_config(self.tmp, self.config)
        self.env = env or {}
        self.skiff = None

    def start(self):
        self.skiff = Skiff(self.test, self.tmp, self.config_path, env=self.env,
                           unset=("KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT"))
        self.http = SkiffHttp(self.skiff, self.port)
        self.http.wait_up()
        return self

    def write(self, pod, lines):
        name = f"{pod}_default_app-{container_id(pod, 'app')}.log"
        with open(os.path.join(self.containers, name), "a") as f:
            f.writelines(f"2026-11-23T05:00:00.000000001Z stdout F {t}\n" for t in lines)

    def wait_count(self, count):
        def ready():
            if not os.path.exists(self.out):
                return None
            records = strict_records(self.out)
            return records if len(records) >= count else None
        return wait_for(ready, 20, f"{count} records", interval=0.1, alive=self.skiff)

    def stop(self):
        self.skiff.assert_exit(self.test, 0, self.skiff.stop())


class MinimalConfigs(unittest.TestCase):
    def test_readme_line_outside_a_cluster_is_a_config_error(self):
        """`{name: kubernetes, match: "kube.*"}` outside a cluster: exit 2 with
        file:line and what to set, under --dry-run; no crash."""
        run = MinimalRun(self, {})
        result = run_cli(["--dry-run", "-c", run.config_path],
                         unset=("KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT", "NODE_NAME"))
        self.assertEqual(result.returncode, 2, result.stderr)
        self.assertIn(f"{run.config_path}:", result.stderr)
        self.assertIn("set api_url", result.stderr)
        self.assertIn("node_name is not set", result.stderr)
        harness.assert_no_sanitizer_report(result.stderr)

    def test_readme_line_in_a_cluster(self):
        """The same line in a pod (service account files, KUBERNETES_SERVICE_*,
        NODE_NAME: in_cluster.py) reaches the API server over TLS with the
        token and enriches the records."""
        tmp = TempDir(self)
        api = FakeK8s(tmp.path, node=NODE)
        self.addCleanup(api.close)
        api.add_pods([make_pod("web-1")])
        pod = InCluster(tmp, api, node=NODE)
        containers = tmp.join("containers")
        os.makedirs(containers)
        out = tmp.join("out.jsonl")
        config = harness.pipeline_config(
            [{"name": "tail", "tag": "kube.*", "path": os.path.join(containers, "*.log"),
              "parser": "cri", "read_from_head": True}],
            [{"name": "file", "match": "kube.*", "path": out}], state_dir=tmp.join("state"))
        config["pipeline"]["filters"] = [{"name": "kubernetes", "match": "kube.*"}]
        path = write_config(tmp, config)
        checked = run_cli(["--dry-run", "-c", path], env=pod.env(), wrapper=pod.wrapper())
        self.assertEqual(checked.returncode, 0, checked.stderr)
        skiff = Skiff(self, tmp, path, env=pod.env(), wrapper=pod.wrapper())
        with open(os.path.join(containers, f"web-1_default_app-{container_id('web-1', 'app')}"
                                           ".log"), "w") as f:
            f.write("2026-11-23T05:00:00.000000001Z stdout F in the cluster\n")
        record = wait_for(lambda: os.path.exists(out) and harness.count_lines(out) and
                          strict_records(out)[0], 20, "the record", alive=skiff)
        skiff.assert_exit(self, 0, skiff.stop())
        self.assertEqual(record["kubernetes"]["pod_name"], "web-1")
        self.assertEqual(api.unauthorized, 0)

    def test_api_url_without_node_name_token_or_ca(self):
        """An http:// api_url (kubectl proxy) with NODE_NAME from the
        environment: the in-cluster token and CA files are not asked for."""
        run = MinimalRun(self, {"api_url": "{api}"}, env={"NODE_NAME": NODE},
                         pods=[make_pod("web-1")])
        result = run_cli(["--dry-run", "-c", run.config_path], env={"NODE_NAME": NODE},
                         unset=("KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT"))
        self.assertEqual(result.returncode, 0, result.stderr)
        run.start()
        run.write("web-1", ["hello"])
        record = run.wait_count(1)[0]
        self.assertEqual(record["kubernetes"]["pod_name"], "web-1")
        run.stop()

    def test_merge_log_at_the_root_keeps_metadata_and_unique_keys(self):
        """merge_log without merge_log_key: a line whose JSON has `kubernetes`,
        `stream` and `path` members gives documents with every key once, the
        record's values kept, the collisions counted; a restart reads nothing
        twice (the checkpoint moves)."""
        run = MinimalRun(self, {"api_url": "{api}", "node_name": NODE, "merge_log": True},
                         pods=[make_pod("web-1")]).start()
        line = json.dumps({"level": "warn", "kubernetes": {"forged": True}, "stream": "x",
                           "path": "/elsewhere", "msg": "m"})
        run.write("web-1", [line, json.dumps({"level": "info", "n": 2})])
        records = run.wait_count(2)
        first = records[0]
        self.assertEqual(first["level"], "warn")
        self.assertEqual(first["msg"], "m")
        self.assertEqual(first["stream"], "stdout")
        self.assertTrue(first["path"].endswith(".log"))
        self.assertEqual(first["kubernetes"]["pod_name"], "web-1")
        self.assertNotIn("forged", first["kubernetes"])
        self.assertEqual(records[1]["n"], 2)
        collisions = run.http.value("skiff_k8s_merge_key_collisions_total",
                                    instance="kubernetes.0")
        self.assertEqual(collisions, 3)
        self.assertIn("a merged log line has a member", run.skiff.stderr_text())
        run.stop()
        run.start()
        run.write("web-1", [json.dumps({"level": "info", "n": 3})])
        records = run.wait_count(3)
        run.stop()
        self.assertEqual([r.get("n") for r in records], [None, 2, 3])

    def test_large_shared_metadata_is_written_in_bounded_pieces(self):
        """One pod with a 50 KB annotation and annotations: true, 5,000 lines
        to the file output: each line carries the metadata, 250 MB in all,
        but it is written a piece at a time (it took 312 MB of memory when a
        chunk was rendered whole)."""
        pod = make_pod("big-1", annotations={"example.com/blob": "x" * 50_000})
        run = MinimalRun(self, {"api_url": "{api}", "node_name": NODE, "annotations": True},
                         pods=[pod]).start()
        baseline = harness.proc_status(run.skiff.pid)["VmRSS"]
        run.write("big-1", [f"line {i}" for i in range(5000)])
        wait_for(lambda: os.path.exists(run.out) and harness.count_lines(run.out) >= 5000, 60,
                 "5,000 lines", interval=0.2, alive=run.skiff)
        peak = harness.proc_status(run.skiff.pid)["VmHWM"]
        run.stop()
        self.assertGreater(os.path.getsize(run.out), 5000 * 50_000)
        grown = peak - baseline
        print(f"\n  peak RSS {peak / 2**20:.0f} MiB, {grown / 2**20:.0f} MiB over the start, "
              f"for {os.path.getsize(run.out) / 2**20:.0f} MiB written", end=" ")
        self.assertLess(grown, 64 * 2**20)

    def test_credentials_in_api_url_are_refused_unshown(self):
        """user:password@ in api_url is a config error that does not repeat
        the password."""
        run = MinimalRun(self, {"api_url": "https://admin:s3cr3t-pw@127.0.0.1:6443",
                                "node_name": NODE})
        result = run_cli(["--dry-run", "-c", run.config_path])
        self.assertEqual(result.returncode, 2, result.stderr)
        self.assertIn("holds credentials", result.stderr)
        self.assertNotIn("s3cr3t-pw", result.stderr + result.stdout)

    def test_records_wait_for_the_namespaces_list_too(self):
        """namespace_labels: the namespaces' LIST answers a second after the
        pods'; records that came meanwhile wait for it (within
        metadata_wait) and carry the namespace's labels."""
        pod = make_pod("web-1")
        run = MinimalRun(self, {"api_url": "{api}", "node_name": NODE,
                                "namespace_labels": True, "metadata_wait": "5s"}, pods=[pod])
        run.fake.add_namespace(make_namespace("default", labels={"team": "sre"}))
        run.fake.list_delay["namespaces"] = 1.0
        run.write("web-1", ["early line"])
        run.start()
        record = run.wait_count(1)[0]
        run.stop()
        self.assertEqual(record["kubernetes"]["pod_name"], "web-1")
        self.assertEqual(record.get("kubernetes_namespace"),
                         {"name": "default", "labels": {"team": "sre"}})

    def test_tls_verify_false_warns(self):
        """tls_verify: false is said at start, as the Elasticsearch output says it."""
        run = MinimalRun(self, {"api_url": "{api}", "node_name": NODE, "tls_verify": False})
        run.start()
        wait_for(lambda: "tls_verify is false" in run.skiff.stderr_text(), 10,
                 "the tls_verify warning", alive=run.skiff)
        run.stop()


if __name__ == "__main__":
    unittest.main()
