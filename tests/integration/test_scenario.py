"""The whole path as a DaemonSet runs it: a simulated node (50 pods writing
JSON, plain and Java-stack-trace logs in CRI format, laid out and rotated the
kubelet's way, and the node's journal, where the kubelet, containerd and sshd
write), a fake Kubernetes API server (HTTPS, bearer token), a fake
Elasticsearch (HTTPS, basic auth), and skiff with the shipped
config/kubernetes.yaml, its paths and addresses given by environment. While
the pods and services write, files are rotated, Elasticsearch is restarted,
and skiff is SIGKILLed and started again."""

import json
import os
import re
import signal
import threading
import time
import unittest

import harness
import journal_files
from fake_es import FakeElasticsearch, make_certs
from fake_k8s import FakeK8s
from harness import Skiff, SkiffHttp, TempDir, wait_for
from node_sim import JAVA_FRAMES, Node

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
CONFIG = os.path.join(ROOT, "config", "kubernetes.yaml")
PODS = 50
RATE = 600          # events per second over all pods
SECONDS = float(os.environ.get("SKIFF_SCENARIO_SECONDS", "24"))
SEQ_RE = re.compile(r"seq=(\d+)")
HOST_INDEX = "logs-host-"
# The node's services, in the journal: the shipped config reads the first two.
UNITS = {"kubelet.service": 3, "containerd.service": 2, "sshd.service": 1}  # per batch


class Writers(threading.Thread):
    """Writes events round-robin into every container at RATE, and rotates
    files when asked (between two writes, as the kubelet would)."""

    def __init__(self, node):
        super().__init__(daemon=True)
        self.node = node
        self.stopping = threading.Event()
        self.rotate_next = []
        self.lock = threading.Lock()
        self.error = None

    def rotate(self, containers):
        with self.lock:
            self.rotate_next.extend(containers)

    def run(self):
        try:
            tick = 0.05
            per_tick = max(1, int(RATE * tick))
            i = 0
            while not self.stopping.is_set():
                for _ in range(per_tick):
                    self.node.containers[i % len(self.node.containers)].write(1)
                    i += 1
                with self.lock:
                    due, self.rotate_next = self.rotate_next, []
                for c in due:
                    c.rotate()
                time.sleep(tick)
        except Exception as e:  # reported by the test
            self.error = e

    def stop(self):
        self.stopping.set()
        self.join(10)


class JournalWriters(threading.Thread):
    """Appends a batch of entries of each unit to the node's journal every
    0.1 s (systemd-journal-remote, journal_files.py), numbering each unit's
    entries from 0 in its MESSAGE."""

    def __init__(self, path):
        super().__init__(daemon=True)
        self.path = path
        self.written = {unit: 0 for unit in UNITS}
        self.stopping = threading.Event()
        self.error = None

    def run(self):
        try:
            while not self.stopping.is_set():
                entries = []
                for unit, count in UNITS.items():
                    entries += journal_files.unit_entries(unit, self.written[unit], count)
                    self.written[unit] += count
                journal_files.write(self.path, entries)
                time.sleep(0.1)
        except Exception as e:  # reported by the test
            self.error = e

    def stop(self):
        self.stopping.set()
        self.join(30)


def doc_event(doc):
    """(namespace, pod, seq) of a document, from its metadata and text."""
    k8s = doc.get("kubernetes", {})
    if "app" in doc and isinstance(doc["app"], dict) and "seq" in doc["app"]:
        seq = doc["app"]["seq"]
    else:
        m = SEQ_RE.search(doc.get("log", ""))
        seq = int(m.group(1)) if m else None
    return k8s.get("namespace_name"), k8s.get("pod_name"), seq


class Scenario(unittest.TestCase):
    def setUp(self):
        self.tmp = TempDir(self)
        self.node = Node(self.tmp.join("node"), PODS)
        certs = make_certs(self.tmp.join("es-certs"))
        self.es_tls = {"cert": certs["server_cert"], "key": certs["server_key"]}
        self.es_ca = certs["ca"]
        self.es = FakeElasticsearch(tls=self.es_tls, user="elastic", password="s3cret").start()
        self.addCleanup(lambda: self.es.stop())
        self.k8s = FakeK8s(tmpdir=self.tmp.path, token="node-token", node=self.node.name)
        self.addCleanup(self.k8s.close)
        self.k8s.add_pods(self.node.pods())
        # Entries from before skiff's first start on the node are not read.
        journal_files.need_journal_remote()
        self.journal = self.tmp.join("journal")
        os.makedirs(self.journal)
        journal_files.write(os.path.join(self.journal, "system.journal"),
                            [{"seq": n, "MESSAGE": "before the first start",
                              "_SYSTEMD_UNIT": "kubelet.service"} for n in range(5)])
        for name, text in (("es-password", "s3cret\n"), ("token", "node-token\n")):
            with open(self.tmp.join(name), "w") as f:
                f.write(text)

    def env(self, port):
        return {
            "SKIFF_CONTAINER_LOGS": self.node.containers_glob,
            "SKIFF_JOURNAL_PATH": self.journal,
            "SKIFF_STATE_DIR": self.tmp.join("state"),
            "SKIFF_HTTP_LISTEN": f"127.0.0.1:{port}",
            "NODE_NAME": self.node.name,
            "KUBERNETES_API_URL": self.k8s.url,
            "SKIFF_K8S_TOKEN_FILE": self.tmp.join("token"),
            "SKIFF_K8S_CA_FILE": self.k8s.ca_file,
            "ES_URL": self.es.url,
            "ES_USER": "elastic",
            "ES_PASSWORD_FILE": self.tmp.join("es-password"),
            "ES_CA_FILE": self.es_ca,
            "ES_INDEX": "logs-%Y.%m.%d",
        }

    def start_skiff(self, run):
        port = harness.free_port()
        folder = self.tmp.join(run)
        os.makedirs(folder)

        class RunDir:
            path = folder

            @staticmethod
            def join(*parts):
                return os.path.join(folder, *parts)

        skiff = Skiff(self, RunDir, CONFIG, env=self.env(port))
        http = SkiffHttp(skiff, port)
        http.wait_up()
        wait_for(lambda: http.get("/readyz", timeout=2.0)[0] == 200, 20, "/readyz",
                 alive=skiff)
        return skiff, http

    def restart_es(self, down_seconds):
        port = self.es.port
        self.es.stop()
        time.sleep(down_seconds)
        old = self.es
        self.es = FakeElasticsearch(tls=self.es_tls, user="elastic", password="s3cret",
                                    port=port).start()
        # The cluster keeps its data over a restart.
        self.es.docs.update(old.docs)
        self.es.writes.update(old.writes)

    def missing(self, expected):
        """What has not arrived, per container, as text."""
        got = {}
        for (index, _), doc in list(self.es.docs.items()):
            if index.startswith(HOST_INDEX):
                continue
            namespace, pod, seq = doc_event(doc)
            got.setdefault((namespace, pod), set()).add(seq)
        out = []
        for c in self.node.containers:
            lost = sorted(set(range(c.seq)) - got.get((c.namespace, c.pod), set()))
            if lost:
                out.append(f"{c.pod} ({c.kind}, rotated {c.rotations}x): {len(lost)} missing, "
                           f"seq {lost[0]}..{lost[-1]}")
        return f"{len(out)} containers miss events:\n  " + "\n  ".join(out[:20])

    def test_daemonset_scenario(self):
        skiff, http = self.start_skiff("run1")
        writers = Writers(self.node)
        writers.start()
        journal = JournalWriters(os.path.join(self.journal, "system.journal"))
        journal.start()
        step = SECONDS / 6
        time.sleep(step)
        writers.rotate(self.node.containers[::5])
        time.sleep(step)
        self.restart_es(down_seconds=step / 2)
        time.sleep(step)
        skiff.proc.send_signal(signal.SIGKILL)
        skiff.wait_exit(10, "after SIGKILL")
        time.sleep(0.5)
        writes_before = sum(self.es.writes.values())
        conflicts_before = self.es.item_statuses[409]
        skiff, http = self.start_skiff("run2")
        time.sleep(step)
        writers.rotate(self.node.containers[1::5])
        time.sleep(step * 2)
        writers.stop()
        journal.stop()
        self.assertIsNone(writers.error)
        self.assertIsNone(journal.error)
        expected = self.node.expected_events()
        host_expected = {u: journal.written[u] for u in ("kubelet.service", "containerd.service")}
        total = sum(expected.values()) + sum(host_expected.values())

        # Every event is a document, once: stack traces are flushed after
        # flush_timeout, so allow for that.
        try:
            wait_for(lambda: self.es.doc_count() >= total, 90, f"{total} documents",
                     interval=0.5, alive=skiff)
        except AssertionError as e:
            raise AssertionError(f"{e}: {self.missing(expected)}\n--- skiff stderr ---\n"
                                 f"{harness.tail(skiff.stderr_text())}") from None
        time.sleep(3)  # anything more would be a duplicate
        samples = http.metrics()
        sent = sum(harness.metric(samples, "skiff_output_records_total", instance=alias)
                   for alias in ("es", "es-host"))
        skiff.assert_exit(self, 0, skiff.stop())

        seen = {}
        by_pod = {(c.namespace, c.pod): c for c in self.node.containers}
        host = {}
        for (index, doc_id), doc in self.es.docs.items():
            if index.startswith(HOST_INDEX):
                self.check_host_doc(doc, doc_id, host)
                continue
            namespace, pod, seq = doc_event(doc)
            self.assertIn((namespace, pod), by_pod, f"document without pod metadata: {doc}")
            c = by_pod[(namespace, pod)]
            key = (namespace, pod, seq)
            self.assertNotIn(key, seen, f"event twice, ids {seen.get(key)} and {doc_id}")
            seen[key] = doc_id
            k8s = doc["kubernetes"]
            self.assertEqual(k8s["container_name"], c.container)
            self.assertEqual(k8s["docker_id"], c.container_id)
            self.assertEqual(k8s["labels"]["app"], c.container)
            self.assertEqual(k8s["host"], self.node.name)
            if c.kind == "java":
                self.assertEqual(doc["log"].count("\tat "), JAVA_FRAMES, doc["log"][:300])
            if c.kind == "json":
                self.assertEqual(doc["app"]["level"], "info")
        for (namespace, pod, container), count in expected.items():
            got = sorted(seq for (ns, p, seq) in seen if (ns, p) == (namespace, pod))
            self.assertEqual(got, list(range(count)), f"{namespace}/{pod}")
        for unit, count in host_expected.items():
            got = sorted(seq for (u, seq) in host if u == unit)
            self.assertEqual(got, list(range(count)), unit)
        dead = self.tmp.join("state", "dead-letter")
        self.assertFalse(os.path.exists(dead) and os.listdir(dead), "dead-lettered documents")
        # The second run's count of documents sent equals what the fake
        # took: written, or answered 409 because the first run (killed before
        # its checkpoint moved) had delivered them already (create op).
        conflicts = self.es.item_statuses[409] - conflicts_before
        self.assertEqual(sent, sum(self.es.writes.values()) - writes_before + conflicts)
        print(f"\n  {PODS} pods and {len(host_expected)} services, {total} events, "
              f"{len(self.es.docs)} documents, "
              f"{sum(self.es.writes.values()) - len(self.es.docs)} rewrites of the same _id, "
              f"{conflicts} answered 409 after the restart", end=" ")

    def check_host_doc(self, doc, doc_id, seen):
        """A journal entry of the kubelet or containerd, once, in the shape
        the shipped config gives it (strip_underscores, lowercase)."""
        unit = doc.get("systemd_unit")
        self.assertIn(unit, ("kubelet.service", "containerd.service"), doc)
        match = re.fullmatch(re.escape(unit) + r" line (\d+)", doc["message"])
        self.assertIsNotNone(match, f"an entry from before the first start: {doc}")
        key = (unit, int(match.group(1)))
        self.assertNotIn(key, seen, f"entry twice, ids {seen.get(key)} and {doc_id}")
        seen[key] = doc_id
        self.assertEqual(doc["hostname"], "node-1")
        self.assertEqual(doc["priority"], "6")


if __name__ == "__main__":
    unittest.main()
