"""The shipped audit pipeline, config/audit.yaml, on generated Kubernetes
audit events (audit.k8s.io/v1 Event, as the API server's log backend writes
them: one JSON object per line, each request once per stage with the same
auditID; https://kubernetes.io/docs/reference/config-api/apiserver-audit.v1/).
The events include both stages, Secrets (data and stringData), a card
number in a ConfigMap, an event nested deeper than 64 levels and a 3 MiB
event. skiff runs with mutual TLS to
a fake Elasticsearch, is SIGKILLed midway and started again after the log
rotated: every event must be one document with its own id, no field may come
from inside the request/response objects, no secret value or card number
may reach Elasticsearch, and @timestamp must be the event's stageTimestamp."""

import json
import os
import signal
import unittest
import uuid

import harness
from fake_es import FakeElasticsearch, make_certs
from harness import Skiff, SkiffHttp, TempDir, wait_for

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
CONFIG = os.path.join(ROOT, "config", "audit.yaml")
STREAM = "logs-kubernetes.audit_logs-default"
SECRET_VALUE = "aHVudGVyMg=="          # base64 of a password, in a Secret's data
SECRET_STRING = "plain-text-password"  # in a Secret's stringData
CARD = "4111 1111 1111 1111"           # a test Visa number (passes Luhn), in a ConfigMap
ORDER_ID = "1234567812345678"          # 16 digits that fail Luhn: not a card, kept


def stamp(i, micros=0):
    return f"2026-11-20T08:{i // 60 % 60:02d}:{i % 60:02d}.{micros:06d}Z"


def nested(depth):
    value = {"leaf": "bottom"}
    for _ in range(depth):
        value = {"d": value}
    return value


class Events:
    """Generates requests; each is written as its RequestReceived and
    ResponseComplete events."""

    def __init__(self):
        self.count = 0
        self.expected = {}  # (auditID, stage) -> stageTimestamp

    def request(self, resource, verb, body, code=200, decision="allow"):
        i = self.count
        self.count += 1
        audit_id = str(uuid.UUID(int=i + 1))
        base = {
            "kind": "Event", "apiVersion": "audit.k8s.io/v1", "level": "RequestResponse",
            "auditID": audit_id,
            "requestURI": f"/api/v1/namespaces/default/{resource}",
            "verb": verb,
            "user": {"username": "kubernetes-admin",
                     "groups": ["system:masters", "system:authenticated"]},
            "sourceIPs": ["172.18.0.1"],
            "userAgent": "kubectl/v1.30.0 (linux/amd64) kubernetes/7c48c2b",
            "objectRef": {"resource": resource, "namespace": "default",
                          "name": f"obj-{i}", "apiVersion": "v1"},
            "requestReceivedTimestamp": stamp(i, 100),
        }
        received = dict(base, stage="RequestReceived", stageTimestamp=stamp(i, 100))
        if body is not None:
            received["requestObject"] = body
        complete = dict(base, stage="ResponseComplete", stageTimestamp=stamp(i, 900),
                        responseStatus={"metadata": {}, "code": code},
                        annotations={"authorization.k8s.io/decision": decision,
                                     "authorization.k8s.io/reason": ""})
        if body is not None:
            complete["requestObject"] = body
            complete["responseObject"] = body
        lines = []
        for event in (received, complete):
            self.expected[(audit_id, event["stage"])] = event["stageTimestamp"]
            lines.append(json.dumps(event, separators=(",", ":")) + "\n")
        return "".join(lines)


def configmap(name, data):
    return {"kind": "ConfigMap", "apiVersion": "v1",
            "metadata": {"name": name, "namespace": "default"}, "data": data}


def secret(name):
    return {"kind": "Secret", "apiVersion": "v1", "type": "Opaque",
            "metadata": {"name": name, "namespace": "default", "annotations": {
                "kubectl.kubernetes.io/last-applied-configuration":
                    json.dumps({"data": {"password": SECRET_VALUE}})}},
            "data": {"password": SECRET_VALUE}, "stringData": {"user": SECRET_STRING}}


def iso_to_es(ts):
    """2026-11-20T08:00:01.000900Z -> the nanosecond form skiff writes."""
    head, frac = ts[:-1].split(".")
    return f"{head}.{frac:0<9}Z"


def leaf_of(text):
    """The leaf of a nested() body encoded as JSON, where the part past 64
    levels is itself a string of JSON."""
    value = json.loads(text)
    while True:
        if isinstance(value, str):
            value = json.loads(value)
        elif "d" in value:
            value = value["d"]
        else:
            return value["leaf"]


class AuditPipeline(unittest.TestCase):
    def setUp(self):
        self.tmp = TempDir(self)
        certs = make_certs(self.tmp.join("certs"))
        self.es = FakeElasticsearch(
            tls={"cert": certs["server_cert"], "key": certs["server_key"],
                 "client_ca": certs["ca"]},
            user="elastic", password="s3cret").start()
        self.addCleanup(self.es.stop)
        self.certs = certs
        with open(self.tmp.join("es-password"), "w") as f:
            f.write("s3cret\n")
        self.log_dir = self.tmp.join("audit")
        os.makedirs(self.log_dir)
        self.log = os.path.join(self.log_dir, "audit.log")

    def env(self, port):
        return {
            "SKIFF_AUDIT_LOG": self.log,
            "SKIFF_AUDIT_ROTATED": os.path.join(self.log_dir, "audit-*.log"),
            "SKIFF_STATE_DIR": self.tmp.join("state"),
            "SKIFF_HTTP_LISTEN": f"127.0.0.1:{port}",
            "ES_URL": self.es.url,
            "ES_USER": "elastic",
            "ES_PASSWORD_FILE": self.tmp.join("es-password"),
            "ES_CA_FILE": self.certs["ca"],
            "ES_CLIENT_CERT": self.certs["client_cert"],
            "ES_CLIENT_KEY": self.certs["client_key"],
        }

    def start(self, run):
        port = harness.free_port()
        folder = self.tmp.join(run)
        os.makedirs(folder)

        class RunDir:
            @staticmethod
            def join(*parts):
                return os.path.join(folder, *parts)

        skiff = Skiff(self, RunDir, CONFIG, env=self.env(port))
        http = SkiffHttp(skiff, port)
        http.wait_up()
        return skiff, http

    def append(self, text):
        with open(self.log, "a") as f:
            f.write(text)

    def docs(self):
        with self.es.lock:
            return {key: dict(doc) for key, doc in self.es.docs.items()}

    def test_every_event_once_without_secrets(self):
        events = Events()
        first = [events.request("configmaps", "create", configmap(f"cm-{i}", {"k": str(i)}))
                 for i in range(40)]
        first.append(events.request("secrets", "create", secret("db")))
        first.append(events.request("configmaps", "create", configmap(
            "billing", {"note": f"card {CARD} for order {ORDER_ID}"})))
        first.append(events.request("configmaps", "get", nested(70)))
        first.append(events.request("pods", "delete", None, code=403, decision="forbid"))
        self.append("".join(first))

        skiff, http = self.start("run1")
        wait_for(lambda: self.es.doc_count() >= 20, 30, "some events indexed", alive=skiff)
        skiff.stop(signal.SIGKILL)

        # While skiff is down: more events, a 3 MiB one, and a rotation.
        self.append(events.request("configmaps", "update",
                                   configmap("big", {"blob": "x" * (3 << 20)})))
        os.rename(self.log, os.path.join(self.log_dir, "audit-2026-11-20T08-10-00.000.log"))
        self.append("".join(events.request("secrets", "update", secret(f"s-{i}"))
                            for i in range(5)))
        self.append("".join(events.request("configmaps", "list", None) for _ in range(10)))

        skiff, http = self.start("run2")
        try:
            wait_for(lambda: self.es.doc_count() >= len(events.expected), 60,
                     f"{len(events.expected)} events indexed", alive=skiff)
        except AssertionError as e:
            have = {(d["kubernetes"]["audit"]["auditID"], d["kubernetes"]["audit"]["stage"])
                    for d in self.docs().values() if "kubernetes" in d}
            missing = sorted(set(events.expected) - have)
            raise AssertionError(f"{e}: {self.es.doc_count()} indexed, missing {missing}\n"
                                 f"{harness.tail(skiff.stderr_text())}") from None
        # The 3 MiB event's requestObject (twice) and responseObject were cut.
        self.assertEqual(http.value("skiff_modify_encode_cut_total", instance="audit-bodies"), 3)
        self.assertEqual(skiff.stop(), 0)

        docs = self.docs()
        self.assertEqual(len(docs), len(events.expected))
        seen = {}
        for (stream, doc_id), doc in docs.items():
            self.assertEqual(stream, STREAM)
            audit = doc["kubernetes"]["audit"]
            key = (audit["auditID"], audit["stage"])
            self.assertNotIn(key, seen, "two documents for one event")
            seen[key] = doc_id
            self.assertEqual(doc["@timestamp"], iso_to_es(events.expected[key]))
            self.assertEqual(audit["requestReceivedTimestamp"][:19],
                             events.expected[key][:19])
            for body in ("requestObject", "responseObject"):
                if body in audit:
                    self.assertIsInstance(audit[body], str, "a body became mapped fields")
            if audit["objectRef"]["resource"] == "secrets":
                self.assertNotIn("requestObject", audit)
                self.assertNotIn("responseObject", audit)
            self.assertEqual(doc["event"]["action"], audit["verb"])
            self.assertEqual(doc["user"]["name"], "kubernetes-admin")
            self.assertEqual(doc["source"]["ip"], "172.18.0.1")
            self.assertTrue(doc["user_agent"]["original"].startswith("kubectl/"))
        self.assertEqual(set(seen), set(events.expected))
        self.assertEqual(len(set(seen.values())), len(seen), "ids collide")

        text = json.dumps(list(docs.values()))
        self.assertNotIn(SECRET_VALUE, text)
        self.assertNotIn(SECRET_STRING, text)
        self.assertNotIn(CARD, text)
        self.assertNotIn(CARD.replace(" ", ""), text)
        self.assertIn(ORDER_ID, text, "a number that fails Luhn was masked")
        self.assertIn("[REDACTED:card]", text)

        outcomes = {(d["kubernetes"]["audit"]["verb"], d["kubernetes"]["audit"]["stage"]):
                    d["event"]["outcome"] for d in docs.values()}
        self.assertEqual(outcomes[("delete", "ResponseComplete")], "failure")
        self.assertEqual(outcomes[("delete", "RequestReceived")], "unknown")
        self.assertEqual(outcomes[("create", "ResponseComplete")], "success")

        # The deep event kept its top-level fields; the 3 MiB one was cut.
        deep = [d for d in docs.values()
                if d["kubernetes"]["audit"]["verb"] == "get"
                and d["kubernetes"]["audit"]["stage"] == "ResponseComplete"][0]
        self.assertEqual(leaf_of(deep["kubernetes"]["audit"]["requestObject"]), "bottom")
        big = [d for d in docs.values() if d["kubernetes"]["audit"]["verb"] == "update"
               and d["kubernetes"]["audit"]["objectRef"]["resource"] == "configmaps"]
        self.assertEqual(len(big), 2)
        for d in big:
            self.assertLess(len(d["kubernetes"]["audit"]["requestObject"]), 300 * 1024)
            self.assertRegex(d["kubernetes"]["audit"]["requestObject"], r"\.\.\.\[cut \d+ bytes\]$")


if __name__ == "__main__":
    unittest.main()
