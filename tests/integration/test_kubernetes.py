"""The `kubernetes` filter against a fake API server (fake_k8s.py, HTTPS with a
CA made by openssl, bearer token checked): tail (CRI files under
var/log/containers, docker files under var/log/pods) -> kubernetes -> file.
Enrichment, pods that appear, change and go, 410 relists, an outage, token
rotation, the pod annotations, a node with 500 pods, bad watch events, plain
HTTP, and the configuration errors."""

import json
import os
import unittest

import harness
from fake_k8s import FakeK8s, container_id, make_namespace, make_pod
from harness import Skiff, SkiffHttp, TempDir, free_port, wait_for, write_config
from test_pipeline import read_records

NODE = "node-1"


def cri_line(text, stream="stdout"):
    return f"2026-11-23T05:00:00.000000001Z {stream} F {text}\n"


def docker_line(text, stream="stdout"):
    return json.dumps({"log": text + "\n", "stream": stream,
                       "time": "2026-11-23T05:00:00.000000001Z"}) + "\n"


class K8sRun:
    """A fake API server, the log folders, and skiff reading them."""

    def __init__(self, test, tls=True, filter_options=None, start=True, pods=()):
        self.test = test
        self.tmp = TempDir(test)
        self.containers = self.tmp.join("var", "log", "containers")
        self.pods_dir = self.tmp.join("var", "log", "pods")
        os.makedirs(self.containers)
        os.makedirs(self.pods_dir)
        self.token_file = self.tmp.join("token")
        with open(self.token_file, "w") as f:
            f.write("token-1\n")
        self.fake = FakeK8s(self.tmp.path, tls=tls, node=NODE)
        test.addCleanup(self.fake.close)
        self.fake.add_pods(list(pods))
        self.out = self.tmp.join("out.jsonl")
        self.port = free_port()
        options = {"name": "kubernetes", "match": "kube.*", "api_url": self.fake.url,
                   "token_file": self.token_file, "ca_file": self.fake.ca_file or "",
                   "node_name": NODE}
        options.update(filter_options or {})
        self.config = harness.pipeline_config(
            [{"name": "tail", "tag": "kube.cri", "path": os.path.join(self.containers, "*.log"),
              "parser": "cri", "read_from_head": True, "refresh_interval": "500ms"},
             {"name": "tail", "tag": "kube.docker",
              "path": os.path.join(self.pods_dir, "*", "*", "*.log"), "parser": "docker",
              "read_from_head": True, "refresh_interval": "500ms"}],
            [{"name": "file", "match": "kube.*", "path": self.out}], port=self.port,
            state_dir=self.tmp.join("state"))
        self.config["pipeline"]["filters"] = [options]
        self.skiff = None
        if start:
            self.start()

    def start(self):
        self.skiff = Skiff(self.test, self.tmp, write_config(self.tmp, self.config))
        self.http = SkiffHttp(self.skiff, self.port)
        self.http.wait_up()

    def cri_file(self, pod, container="app", namespace="default"):
        return os.path.join(self.containers, f"{pod}_{namespace}_{container}-"
                                             f"{container_id(pod, container)}.log")

    def write_cri(self, pod, lines, container="app", namespace="default"):
        with open(self.cri_file(pod, container, namespace), "a") as f:
            f.writelines(cri_line(t) for t in lines)

    def write_docker(self, pod, uid, lines, container="app", namespace="default"):
        folder = os.path.join(self.pods_dir, f"{namespace}_{pod}_{uid}", container)
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, "0.log"), "a") as f:
            f.writelines(docker_line(t) for t in lines)

    def records(self):
        try:
            return read_records(self.out)
        except FileNotFoundError:
            return []

    def wait_records(self, predicate, what, timeout=20):
        """Waits until `predicate(records)` holds; returns the records."""
        return wait_for(lambda: (lambda r: r if predicate(r) else None)(self.records()),
                        timeout, what, interval=0.1, alive=self.skiff)

    def by_log(self, text):
        found = [r for r in self.records() if r.get("log", "").rstrip("\n") == text]
        return found[0] if found else None

    def wait_log(self, text, timeout=20):
        return wait_for(lambda: self.by_log(text), timeout, f"the record {text!r}",
                        interval=0.1, alive=self.skiff)

    def metric(self, name, **labels):
        return self.http.value(name, instance="kubernetes.0", **labels)

    def total(self, name, **labels):
        """The sum of the series of `name` with `labels` (0 before the first
        one exists: some are registered when first counted)."""
        return sum(harness.find_series(self.http.metrics(), name, instance="kubernetes.0",
                                       **labels).values())

    def stop(self):
        self.skiff.assert_exit(self.test, 0, self.skiff.stop())


class Enrichment(unittest.TestCase):
    def test_cri_and_docker_files(self):
        """A Deployment's pod (CRI file) and a bare pod (docker file under
        pods/) get every field; dotted label keys are dedotted; one LIST and
        one WATCH, no GET."""
        web = make_pod("web-7d9f-x2k4p", namespace="shop",
                       labels={"app": "web", "app.kubernetes.io/name": "nginx"},
                       owner=("ReplicaSet", "web-7d9f"), image="nginx:1.25")
        bare = make_pod("debug", owner=None, runtime="docker", image="busybox:1.36")
        run = K8sRun(self, pods=[web, bare])
        run.write_cri("web-7d9f-x2k4p", ["hello from web"], namespace="shop")
        run.write_docker("debug", bare["metadata"]["uid"], ["hello from docker"])
        rec = run.wait_log("hello from web")
        k = rec["kubernetes"]
        self.assertEqual(k["pod_name"], "web-7d9f-x2k4p")
        self.assertEqual(k["namespace_name"], "shop")
        self.assertEqual(k["pod_id"], web["metadata"]["uid"])
        self.assertEqual(k["host"], NODE)
        self.assertEqual(k["container_name"], "app")
        self.assertEqual(k["docker_id"], container_id("web-7d9f-x2k4p", "app"))
        self.assertEqual(k["container_image"], "nginx:1.25")
        self.assertTrue(k["container_hash"].startswith("nginx@sha256:"))
        self.assertEqual(k["owner"], {"kind": "ReplicaSet", "name": "web-7d9f"})
        self.assertEqual(k["labels"], {"app": "web", "app_kubernetes_io/name": "nginx"})
        self.assertNotIn("annotations", k)
        self.assertEqual(rec["stream"], "stdout")

        k = run.wait_log("hello from docker")["kubernetes"]
        self.assertEqual(k["pod_name"], "debug")
        self.assertEqual(k["pod_id"], bare["metadata"]["uid"])
        self.assertEqual(k["container_image"], "busybox:1.36")
        self.assertNotIn("owner", k)
        self.assertEqual(run.metric("skiff_k8s_records_without_metadata_total",
                                    reason="wait_timeout"), 0)
        run.stop()
        self.assertEqual((run.fake.count("list"), run.fake.count("get")), (1, 0))
        self.assertGreaterEqual(run.fake.count("watch"), 1)

    def test_pod_after_start_changes_and_deletion(self):
        """A pod created after start: its first lines wait for the watch
        event and arrive enriched. Label and annotation changes show in the
        lines after them. A deleted pod's last lines keep its metadata."""
        run = K8sRun(self, filter_options={"annotations": True, "metadata_wait": "5s"})
        run.fake.wait_watch()
        run.write_cri("late-1", ["before the pod exists"])
        wait_for(lambda: run.metric("skiff_k8s_records_waiting") >= 1, 10, "the line to wait",
                 alive=run.skiff)
        pod = make_pod("late-1", labels={"app": "late", "tier": "1"},
                       annotations={"team": "a"})
        run.fake.add_pod(pod)
        k = run.wait_log("before the pod exists")["kubernetes"]
        self.assertEqual(k["labels"], {"app": "late", "tier": "1"})
        self.assertEqual(k["annotations"], {"team": "a"})
        self.assertEqual(k["owner"]["kind"], "ReplicaSet")
        self.assertGreaterEqual(run.metric("skiff_k8s_records_held_total"), 1)

        pod["metadata"]["labels"]["tier"] = "2"
        pod["metadata"]["annotations"]["team"] = "b"
        run.fake.add_pod(pod)
        wait_for(lambda: run.metric("skiff_k8s_cache_pods") >= 1, 10, "the cache")
        # The change travels on the watch; lines written after it see it.
        def changed():
            run.write_cri("late-1", ["after the change"])
            rec = run.wait_log("after the change")
            return rec["kubernetes"]["labels"].get("tier") == "2" or None
        wait_for(changed, 20, "the label change", interval=0.3)
        rec = [r for r in run.records() if r["log"] == "after the change"][-1]
        self.assertEqual(rec["kubernetes"]["annotations"], {"team": "b"})

        run.fake.delete_pod("default", "late-1")
        run.write_cri("late-1", ["last words"])
        self.assertEqual(run.wait_log("last words")["kubernetes"]["labels"]["tier"], "2")
        run.stop()


class Faults(unittest.TestCase):
    def test_410_relist(self):
        """A 410 as an ERROR event and as the status of a watch: skiff lists
        again and pods added meanwhile are enriched."""
        run = K8sRun(self, pods=[make_pod("a-1")])
        run.fake.wait_watch()
        run.fake.send_gone()
        wait_for(lambda: run.fake.count("list") >= 2, 15, "a relist after the ERROR 410")
        run.fake.wait_watch(started=2)
        with run.fake.lock:
            run.fake.gone_next_watch = True
        run.fake._end_watches()
        wait_for(lambda: run.fake.count("list") >= 3, 15, "a relist after the 410 status")
        run.fake.add_pod(make_pod("b-1", labels={"app": "b"}))
        run.write_cri("b-1", ["from b"])
        self.assertEqual(run.wait_log("from b")["kubernetes"]["labels"], {"app": "b"})
        self.assertGreaterEqual(run.metric("skiff_k8s_watch_restarts_total", resource="pods",
                                           reason="gone"), 1)
        run.stop()

    def test_outage(self):
        """With the API server down, records flow without waiting, with what
        the file name gives, counted; after it is back, pods are enriched."""
        run = K8sRun(self, pods=[make_pod("known-1")])
        run.fake.wait_watch()
        run.fake.outage()
        wait_for(lambda: "records go on without API metadata" in run.skiff.stderr_text(), 20,
                 "skiff to notice the outage", alive=run.skiff)
        run.write_cri("known-1", ["known during outage"])
        run.write_cri("unknown-1", ["unknown during outage"])
        rec = run.wait_log("unknown during outage", timeout=10)
        self.assertEqual(rec["kubernetes"], {
            "pod_name": "unknown-1", "namespace_name": "default", "container_name": "app",
            "docker_id": container_id("unknown-1", "app")})
        self.assertIn("labels", run.wait_log("known during outage")["kubernetes"])
        wait_for(lambda: run.metric("skiff_k8s_records_without_metadata_total",
                                    reason="api_unavailable") >= 1
                 or run.metric("skiff_k8s_records_without_metadata_total",
                               reason="wait_timeout") >= 1, 10, "the count")
        lists = run.fake.count("list")
        run.fake.add_pod(make_pod("after-1", labels={"app": "after"}))
        run.fake.start()
        wait_for(lambda: run.fake.count("list") > lists and
                 run.total("skiff_k8s_api_requests_total", verb="list", code="200") >= 2, 40,
                 "skiff to list again")
        run.write_cri("after-1", ["after the outage"])
        self.assertEqual(run.wait_log("after the outage")["kubernetes"]["labels"],
                         {"app": "after"})
        run.stop()

    def test_malformed_and_truncated_events(self):
        """A line that is not JSON and an event cut by the end of the stream
        are counted, logged once, and survived with a relist."""
        run = K8sRun(self, pods=[make_pod("a-1")])
        run.fake.wait_watch()
        run.fake.send_raw(b'{"type":"ADDED","object":{"metadata":{"name":\n')
        wait_for(lambda: run.metric("skiff_k8s_bad_events_total") >= 1, 15, "a bad event")
        wait_for(lambda: run.fake.count("list") >= 2, 15, "a relist")
        run.fake.wait_watch(started=2)
        run.fake.send_latest(b'{"type":"ADDED","object":{"metadata":{"na', end=True)
        wait_for(lambda: run.metric("skiff_k8s_bad_events_total") >= 2, 15, "a truncated event")
        wait_for(lambda: run.total("skiff_k8s_api_requests_total", verb="list", code="200")
                 >= 3, 15, "another relist")
        run.fake.add_pod(make_pod("b-1", labels={"app": "b"}))
        run.write_cri("b-1", ["still working"])
        self.assertEqual(run.wait_log("still working")["kubernetes"]["labels"], {"app": "b"})
        stderr = run.skiff.stderr_text()
        self.assertEqual(stderr.count("malformed event"), 1, stderr)
        run.stop()

    def test_oversized_event(self):
        """An event larger than max_event_size is dropped, counted, and the
        watch starts over with a LIST; held memory stays bounded."""
        run = K8sRun(self, pods=[make_pod("a-1")], filter_options={"max_event_size": "64KiB"})
        run.fake.wait_watch()
        run.fake.send_latest(b'{"type":"ADDED","object":{"pad":"' + b"x" * 100000 + b'"}}\n')
        wait_for(lambda: run.total("skiff_k8s_watch_restarts_total", resource="pods",
                                   reason="oversized") >= 1, 15, "the restart")
        self.assertGreaterEqual(run.metric("skiff_k8s_bad_events_total"), 1)
        wait_for(lambda: run.fake.count("list") >= 2, 15, "a relist")
        run.stop()

    def test_token_rotation(self):
        """The token file is read again when it changes: after a rotation the
        next requests carry the new token. A token the server refuses (401) is
        read again after the file changes, and skiff recovers."""
        run = K8sRun(self, pods=[make_pod("a-1")])
        run.fake.wait_watch()
        with open(run.token_file + ".new", "w") as f:
            f.write("token-2\n")
        os.replace(run.token_file + ".new", run.token_file)
        with run.fake.lock:
            run.fake.token = "token-2"
        run.fake._end_watches()
        run.fake.add_pod(make_pod("b-1", labels={"app": "b"}))
        run.write_cri("b-1", ["with the new token"])
        self.assertEqual(run.wait_log("with the new token")["kubernetes"]["labels"],
                         {"app": "b"})
        self.assertEqual(run.fake.unauthorized, 0)

        # The server first: requests fail with 401 until the file changes.
        lists = run.fake.count("list")
        with run.fake.lock:
            run.fake.token = "token-3"
        run.fake._end_watches()
        wait_for(lambda: run.fake.unauthorized >= 1, 15, "a 401")
        with open(run.token_file + ".new", "w") as f:
            f.write("token-3\n")
        os.replace(run.token_file + ".new", run.token_file)
        wait_for(lambda: run.fake.count("list") > lists and run.fake.open_watches() >= 1
                 and run.total("skiff_k8s_api_requests_total", verb="list", code="200")
                 >= 2, 30, "a LIST with the new token")
        self.assertGreaterEqual(run.total("skiff_k8s_api_requests_total", code="401"), 1)
        run.stop()


class Waiting(unittest.TestCase):
    def test_missing_pod_get_and_wait_timeout(self):
        """A pod the API server does not know: one GET is made for it, and
        its records go on after metadata_wait with what the file name gives,
        counted."""
        run = K8sRun(self, filter_options={"metadata_wait": "1s"})
        run.fake.wait_watch()
        run.write_cri("ghost-1", ["who am i"])
        rec = run.wait_log("who am i")
        self.assertEqual(rec["kubernetes"]["pod_name"], "ghost-1")
        self.assertNotIn("labels", rec["kubernetes"])
        self.assertEqual(run.metric("skiff_k8s_records_without_metadata_total",
                                    reason="wait_timeout"), 1)
        run.write_cri("ghost-1", ["still unknown"])
        run.wait_log("still unknown")
        run.stop()
        self.assertEqual(run.fake.count("get"), 1)
        self.assertEqual(run.fake.paths["/api/v1/namespaces/default/pods/ghost-1"], 1)

    def test_every_missing_pod_is_fetched_within_the_rate(self):
        """Twelve new pods the node's LIST did not bring, more than
        pod_get_rate lets skiff GET at once: those over the rate are fetched
        a moment later, not forgotten, so every record gets its pod's
        metadata, with one GET per pod."""
        pods = [make_pod(f"late-{i}", node="node-2") for i in range(12)]
        run = K8sRun(self, pods=pods, filter_options={"metadata_wait": "10s", "pod_get_rate": 4})
        run.fake.wait_watch()
        for i in range(12):
            run.write_cri(f"late-{i}", [f"line {i}"])
        records = run.wait_records(lambda r: len(r) >= 12, "the 12 records", timeout=30)
        run.stop()
        self.assertEqual([r["kubernetes"].get("pod_ip") for r in records], ["10.244.0.10"] * 12)
        self.assertEqual(run.fake.count("get"), 12)

    def test_drain_at_shutdown(self):
        """Records still waiting at SIGTERM are handed on before skiff exits."""
        run = K8sRun(self, filter_options={"metadata_wait": "60s"})
        run.fake.wait_watch()
        run.write_cri("slow-1", ["waiting at shutdown"])
        wait_for(lambda: run.metric("skiff_k8s_records_waiting") >= 1, 10, "the wait")
        run.stop()
        self.assertEqual(run.by_log("waiting at shutdown")["kubernetes"]["pod_name"], "slow-1")


    def test_waiting_records_of_an_excluded_pod_are_dropped(self):
        """Records that waited for a pod the API server did not know yet are
        dropped, acknowledged and counted when it turns out to carry
        skiff.io/exclude; the file's later records still flow."""
        run = K8sRun(self, filter_options={"metadata_wait": "20s"})
        run.fake.wait_watch()
        run.write_cri("late-1", ["hidden 1", "hidden 2"])
        wait_for(lambda: run.metric("skiff_k8s_records_waiting") == 2, 10, "2 waiting")
        run.fake.add_pod(make_pod("late-1", annotations={"skiff.io/exclude": "true"}))
        wait_for(lambda: run.total("skiff_records_dropped_total", reason="k8s_exclude") == 2,
                 10, "2 excluded records", alive=run.skiff)
        run.fake.add_pod(make_pod("seen-1"))
        run.write_cri("seen-1", ["visible"])
        self.assertEqual(run.wait_log("visible")["kubernetes"]["pod_name"], "seen-1")
        self.assertEqual(run.metric("skiff_k8s_records_waiting"), 0)
        run.stop()
        self.assertFalse([r for r in run.records() if "hidden" in r["log"]])

    def test_waiting_records_pause_the_input(self):
        """2 MiB of a pod the API server does not know yet, with a 256 KiB
        buffer_limit: the waiting records fill the input's buffer, so the
        input pauses instead of passing records on without metadata; once
        the pod appears, every record goes on with its labels and the input
        resumes."""
        run = K8sRun(self, start=False, filter_options={"metadata_wait": "30s"})
        for tail in run.config["pipeline"]["inputs"]:
            tail["buffer_limit"] = "256KiB"
        lines = [f"line {i:06d} " + "x" * 200 for i in range(10000)]
        run.write_cri("burst-1", lines)
        run.start()
        run.fake.wait_watch()
        run.http.wait_value("skiff_input_paused", lambda v: v == 1, 15, "the input paused",
                            instance="tail.0")
        waiting = run.metric("skiff_k8s_records_waiting")
        self.assertLess(waiting, len(lines))
        run.fake.add_pod(make_pod("burst-1", labels={"team": "a"}))
        recs = run.wait_records(lambda r: len(r) >= len(lines), "every record", timeout=30)
        self.assertEqual(run.http.value("skiff_input_paused", instance="tail.0"), 0)
        self.assertEqual(run.total("skiff_k8s_records_without_metadata_total"), 0)
        run.stop()
        self.assertEqual([r["log"].rstrip("\n") for r in recs], lines)
        self.assertTrue(all(r["kubernetes"]["labels"] == {"team": "a"} for r in recs))


class Annotations(unittest.TestCase):
    def test_exclude_and_parser(self):
        """skiff.io/exclude drops a pod's records (counted); skiff.io/parser
        parses its log with the named parser; an unknown parser name is
        warned about once and the records go on unparsed."""
        pods = [make_pod("quiet-1", annotations={"skiff.io/exclude": "true"}),
                make_pod("json-1", annotations={"skiff.io/parser": "json"}),
                make_pod("typo-1", annotations={"skiff.io/parser-app": "jsn"})]
        run = K8sRun(self, pods=pods)
        run.fake.wait_watch()
        run.write_cri("quiet-1", ["secret 1", "secret 2"])
        run.write_cri("json-1", ['{"level":"warn","msg":"disk"}'])
        run.write_cri("typo-1", ['{"level":"x"}', '{"level":"y"}'])
        rec = run.wait_log('{"level":"warn","msg":"disk"}')
        self.assertEqual((rec["level"], rec["msg"]), ("warn", "disk"))
        run.wait_records(lambda r: sum(1 for x in r if x["log"].startswith('{"level":"')) == 3,
                         "the typo pod's records")
        self.assertNotIn("level", run.by_log('{"level":"y"}'))
        run.http.wait_value("skiff_records_dropped_total", lambda v: v == 2, 10,
                            "2 excluded records", instance="kubernetes.0", reason="k8s_exclude")
        self.assertEqual(run.skiff.stderr_text().count("'jsn', which does not exist"), 1)
        run.stop()
        self.assertFalse([r for r in run.records() if "secret" in r["log"]])

    def test_merge_log_and_namespace_labels(self):
        """merge_log puts a JSON log's members under merge_log_key;
        namespace_labels adds the namespace's labels (namespaces watched)."""
        run = K8sRun(self, pods=[make_pod("m-1", namespace="team")],
                     filter_options={"merge_log": True, "merge_log_key": "app",
                                     "keep_log": False, "namespace_labels": True},
                     start=False)
        run.fake.add_namespace(make_namespace("team", labels={"owner.io/team": "sre"}))
        run.start()
        run.write_cri("m-1", ['{"user":"ann","n":3}'], namespace="team")
        rec = run.wait_records(lambda r: len(r) >= 1, "the record")[0]
        self.assertEqual(rec["app"], {"user": "ann", "n": 3})
        self.assertNotIn("log", rec)
        self.assertEqual(rec["kubernetes_namespace"], {"name": "team",
                                                       "labels": {"owner_io/team": "sre"}})
        # A change of the namespace comes on its watch.
        run.fake.wait_watch(started=2)
        run.fake.add_namespace(make_namespace("team", labels={"owner.io/team": "platform"}))

        def relabelled():
            run.write_cri("m-1", ['{"user":"bob"}'], namespace="team")
            last = [r for r in run.records() if r.get("app") == {"user": "bob"}]
            return last and last[-1]["kubernetes_namespace"]["labels"] == {
                "owner_io/team": "platform"}
        wait_for(relabelled, 20, "the namespace's new labels", interval=0.5)
        self.assertEqual(run.fake.count("watch"), 2)  # pods and namespaces
        run.stop()


class Scale(unittest.TestCase):
    def test_500_pods_one_list_one_watch(self):
        """500 pods on the node, each with a log file when skiff starts: every
        record is enriched from one LIST and one WATCH, without a GET."""
        pods = [make_pod(f"app-{i:03d}", labels={"app": "app", "i": str(i)}) for i in range(500)]
        pods.append(make_pod("elsewhere", node="node-2"))
        run = K8sRun(self, pods=pods, start=False)
        for i in range(500):
            run.write_cri(f"app-{i:03d}", [f"line of {i}"])
        run.start()
        records = run.wait_records(lambda r: len(r) >= 500, "500 records", timeout=60)
        self.assertEqual(len(records), 500)
        for rec in records:
            i = rec["log"].split()[-1]
            self.assertEqual(rec["kubernetes"]["labels"]["i"], i, rec)
        run.stop()
        self.assertEqual(run.fake.count("list"), 1)
        self.assertEqual(run.fake.count("watch"), 1)
        self.assertEqual(run.fake.count("get"), 0)


class Connection(unittest.TestCase):
    def test_plain_http(self):
        run = K8sRun(self, tls=False, pods=[make_pod("h-1")])
        run.write_cri("h-1", ["over http"])
        self.assertEqual(run.wait_log("over http")["kubernetes"]["pod_name"], "h-1")
        run.stop()

    def test_use_kubelet(self):
        """use_kubelet polls the kubelet's /pods: no LIST or WATCH of the API
        server; a pod that appears is known after the next poll."""
        run = K8sRun(self, pods=[make_pod("k-1")], start=False)
        options = run.config["pipeline"]["filters"][0]
        options.update({"use_kubelet": True, "kubelet_url": run.fake.url, "api_url": "",
                        "kubelet_interval": "300ms"})
        run.start()
        run.write_cri("k-1", ["from the kubelet"])
        self.assertEqual(run.wait_log("from the kubelet")["kubernetes"]["pod_name"], "k-1")
        self.assertIn("labels", run.by_log("from the kubelet")["kubernetes"])
        run.fake.add_pod(make_pod("k-2", labels={"app": "two"}))
        run.write_cri("k-2", ["second pod"])
        self.assertEqual(run.wait_log("second pod")["kubernetes"]["labels"], {"app": "two"})
        run.stop()
        self.assertGreaterEqual(run.fake.count("kubelet"), 1)
        self.assertEqual((run.fake.count("list"), run.fake.count("watch")), (0, 0))

    def test_unreachable_at_start(self):
        """No API server at all: skiff runs, records flow without waiting."""
        tmp = TempDir(self)
        logs = tmp.join("var", "log", "containers")
        os.makedirs(logs)
        out = tmp.join("out.jsonl")
        port = free_port()
        config = harness.pipeline_config(
            [{"name": "tail", "tag": "kube.x", "path": os.path.join(logs, "*.log"),
              "parser": "cri", "read_from_head": True}],
            [{"name": "file", "match": "kube.*", "path": out}], port=port,
            state_dir=tmp.join("state"))
        config["pipeline"]["filters"] = [{
            "name": "kubernetes", "match": "kube.*", "api_url": f"https://127.0.0.1:{free_port()}",
            "token_file": "", "ca_file": "", "node_name": NODE}]
        skiff = Skiff(self, tmp, write_config(tmp, config))
        SkiffHttp(skiff, port).wait_up()
        with open(os.path.join(logs, f"p-1_default_app-{'a' * 64}.log"), "w") as f:
            f.write(cri_line("no api"))
        wait_for(lambda: harness.count_lines(out) >= 1, 15, "the record", alive=skiff)
        rec = read_records(out)[0]
        self.assertEqual(rec["kubernetes"]["pod_name"], "p-1")
        skiff.assert_exit(self, 0, skiff.stop())

    def test_config_errors(self):
        """Bad options stop skiff at load with exit code 2 and a message
        naming the option."""
        tmp = TempDir(self)
        base = {"name": "kubernetes", "match": "*", "node_name": NODE, "token_file": "",
                "ca_file": "", "api_url": "https://127.0.0.1:6443"}
        cases = [({"api_url": "ftp://x"}, "option 'api_url': 'ftp://x' is not an http"),
                 ({"token_file": tmp.join("nope")}, "option 'token_file': cannot read"),
                 ({"ca_file": tmp.join("nope.crt")}, "option 'ca_file': cannot read"),
                 ({"node_name": ""}, "node_name is not set and NODE_NAME"),
                 ({"api_url": ""}, "api_url is not set and KUBERNETES_SERVICE_HOST")]
        for change, message in cases:
            options = dict(base)
            options.update(change)
            config = harness.pipeline_config(
                [{"name": "dummy", "tag": "t", "rate": 1}],
                [{"name": "null", "match": "*"}])
            config["pipeline"]["filters"] = [options]
            proc = harness.run_cli(["--dry-run", "-c", write_config(tmp, config)],
                                   unset=("NODE_NAME", "KUBERNETES_SERVICE_HOST"))
            self.assertEqual(proc.returncode, 2, proc.stderr)
            self.assertIn(message, proc.stderr)


if __name__ == "__main__":
    unittest.main()
