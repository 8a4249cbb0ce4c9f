"""The kubernetes filter where Fluent Bit users depend on its behaviour:
fluentbit.io/ annotations in every form (per container, per stream, a
container's "false" over the pod's exclude), pod_ip, container_hash without
the runtime's scheme, docker_id (the file's container first),
kubernetes_namespace, ownerReferences, merge_log_trim, and container log
files recognised by name in any folder. Fluent Bit's behaviour is from its
kubernetes filter (kube_property.c, kube_meta.c, kubernetes.c) and
documentation."""

import json
import os
import unittest

from fake_k8s import container_id, make_namespace, make_pod
from test_kubernetes import K8sRun


def cri(stream, text):
    return f"2026-11-23T05:00:00.000000001Z {stream} F {text}\n"


def write_streams(run, pod, container, lines):
    """Appends (stream, text) lines to the container's CRI file."""
    with open(run.cri_file(pod, container), "a") as f:
        f.writelines(cri(stream, text) for stream, text in lines)


class FluentBitAnnotations(unittest.TestCase):
    def test_exclude_forms_and_container_override(self):
        """fluentbit.io/exclude on the pod, "false" for one container, and
        exclude_stderr-<container> for another: exactly the records Fluent
        Bit keeps reach the output; the others are counted as dropped."""
        pod = make_pod("mixed-1", containers=("app", "proxy", "debug"), annotations={
            "fluentbit.io/exclude": "True",
            "fluentbit.io/exclude-app": "false",
            "fluentbit.io/exclude-proxy": "no",
            "fluentbit.io/exclude_stderr-proxy": "yes",
        })
        run = K8sRun(self, pods=[pod])
        run.fake.wait_watch()
        write_streams(run, "mixed-1", "app", [("stdout", "app out"), ("stderr", "app err")])
        write_streams(run, "mixed-1", "proxy", [("stdout", "proxy out"),
                                                ("stderr", "proxy err")])
        write_streams(run, "mixed-1", "debug", [("stdout", "debug out"),
                                                ("stderr", "debug err")])
        run.http.wait_value("skiff_records_dropped_total", lambda v: v == 3, 20,
                            "3 excluded records", instance="kubernetes.0", reason="k8s_exclude")
        run.wait_records(lambda r: len(r) >= 3, "the kept records")
        run.stop()
        kept = sorted(r["log"].rstrip("\n") for r in run.records())
        self.assertEqual(kept, ["app err", "app out", "proxy out"])

    def test_parser_per_stream_and_container(self):
        """fluentbit.io/parser_stdout for the pod and parser_stderr-<container>:
        each stream is parsed with its own parser, or not at all."""
        pod = make_pod("parsed-1", annotations={
            "fluentbit.io/parser_stdout": "json",
            "fluentbit.io/parser_stderr-app": "logfmt",
        })
        run = K8sRun(self, pods=[pod])
        run.fake.wait_watch()
        write_streams(run, "parsed-1", "app", [("stdout", '{"level":"info","n":1}'),
                                               ("stderr", "level=warn msg=slow")])
        records = run.wait_records(lambda r: len(r) >= 2, "both records")
        run.stop()
        by_stream = {r["stream"]: r for r in records}
        self.assertEqual((by_stream["stdout"]["level"], by_stream["stdout"]["n"]), ("info", 1))
        self.assertEqual((by_stream["stderr"]["level"], by_stream["stderr"]["msg"]),
                         ("warn", "slow"))

    def test_parser_time(self):
        """An annotation's parser with a time_key gives the record its time;
        one without keeps the time the runtime wrote (where Fluent Bit would
        give the time it parsed the line)."""
        pods = [make_pod("t-1", annotations={"fluentbit.io/parser": "logfmt"}),
                make_pod("t-2", annotations={"fluentbit.io/parser": "stamped"})]
        run = K8sRun(self, pods=pods, start=False)
        run.config["parsers"] = [{"name": "stamped", "format": "regex",
                                  "regex": r"^\[(?<time>[^\]]+)\] (?<message>.+)$",
                                  "time_key": "time", "time_format": "%Y-%m-%dT%H:%M:%S.%L"}]
        run.start()
        run.write_cri("t-1", ["level=info msg=plain"])
        run.write_cri("t-2", ["[2019-04-05T14:54:23.584269761] stamped"])
        records = run.wait_records(lambda r: len(r) >= 2, "both records")
        run.stop()
        by_pod = {r["kubernetes"]["pod_name"]: r for r in records}
        self.assertEqual((by_pod["t-1"]["msg"], by_pod["t-1"]["@timestamp"]),
                         ("plain", "2026-11-23T05:00:00.000000001Z"))
        self.assertEqual((by_pod["t-2"]["message"], by_pod["t-2"]["@timestamp"]),
                         ("stamped", "2019-04-05T14:54:23.584269761Z"))

    def test_malformed_annotation_is_warned_once(self):
        pod = make_pod("odd-1", annotations={"fluentbit.io/exclude_stdin": "true"})
        run = K8sRun(self, pods=[pod])
        run.fake.wait_watch()
        run.write_cri("odd-1", ["one", "two"])
        run.wait_records(lambda r: len(r) >= 2, "the records")
        run.stop()
        self.assertEqual(run.skiff.stderr_text().count("'fluentbit.io/exclude_stdin' is not"), 1)


class Fields(unittest.TestCase):
    def test_pod_ip_and_container_hash_without_scheme(self):
        """pod_ip from status.podIP; a docker imageID loses its
        docker-pullable:// scheme, as in Fluent Bit's records."""
        pod = make_pod("web-1", runtime="docker")
        status = pod["status"]["containerStatuses"][0]
        status["imageID"] = "docker-pullable://registry.example/app@sha256:" + "ab" * 32
        run = K8sRun(self, pods=[pod])
        run.write_cri("web-1", ["hello"])
        meta = run.wait_log("hello")["kubernetes"]
        run.stop()
        self.assertEqual(meta["pod_ip"], "10.244.0.10")
        self.assertEqual(meta["container_hash"], "registry.example/app@sha256:" + "ab" * 32)
        self.assertEqual(meta["docker_id"], container_id("web-1", "app"))

    def test_merge_log_trim(self):
        """merge_log_trim (on by default): line breaks and written \\n that
        end the merged strings are removed; off, they stay."""
        line = json.dumps({"msg": "done\\n", "raw": "a\n"})
        for trim, expected in ((None, ("done", "a")), (False, ("done\\n", "a\n"))):
            options = {"merge_log": True, "merge_log_key": "app"}
            if trim is not None:
                options["merge_log_trim"] = trim
            run = K8sRun(self, pods=[make_pod("m-1")], filter_options=options)
            run.write_cri("m-1", [line])
            rec = run.wait_records(lambda r: len(r) >= 1, "the record")[0]
            run.stop()
            self.assertEqual((rec["app"]["msg"], rec["app"]["raw"]), expected, trim)

    def test_annotation_parser_fields_follow_merge_log_key_and_trim(self):
        """The fields of a parser named by an annotation go where merge_log's
        go: under merge_log_key, trimmed with merge_log_trim, as Fluent Bit
        does with both; an empty object adds no key."""
        pod = make_pod("p-1", annotations={"fluentbit.io/parser": "json"})
        run = K8sRun(self, pods=[pod],
                     filter_options={"merge_log": True, "merge_log_key": "app"})
        run.write_cri("p-1", [json.dumps({"level": "warn", "msg": "slow\\n"}), "{}"])
        records = run.wait_records(lambda r: len(r) >= 2, "both records")
        run.stop()
        self.assertEqual(records[0]["app"], {"level": "warn", "msg": "slow"})
        self.assertNotIn("level", records[0])
        self.assertEqual(records[1]["log"], "{}")
        self.assertNotIn("app", records[1])

    def test_container_log_named_as_kubelet_does_in_any_folder(self):
        """A file named <pod>_<namespace>_<container>-<64 hex>.log outside a
        folder called containers (a DaemonSet that mounts it elsewhere) is
        recognised by its name."""
        run = K8sRun(self, pods=[make_pod("web-1")], start=False)
        elsewhere = run.tmp.join("mnt", "node-logs")
        os.makedirs(elsewhere)
        run.config["pipeline"]["inputs"][0]["path"] = os.path.join(elsewhere, "*.log")
        run.start()
        name = f"web-1_default_app-{container_id('web-1', 'app')}.log"
        with open(os.path.join(elsewhere, name), "w") as f:
            f.write(cri("stdout", "from elsewhere"))
        rec = run.wait_log("from elsewhere")
        run.stop()
        self.assertEqual(rec["kubernetes"]["pod_name"], "web-1")
        self.assertEqual(rec["kubernetes"]["pod_ip"], "10.244.0.10")


class FluentBitShape(unittest.TestCase):
    def test_docker_id_is_the_container_that_wrote_the_file(self):
        """After a restart the pod's status names the new container; lines
        still read from the old container's file keep the old id (the one in
        the file's name), as Fluent Bit takes docker_id from the name first."""
        pod = make_pod("web-1")
        new_id = "ab" * 32
        pod["status"]["containerStatuses"][0]["containerID"] = f"containerd://{new_id}"
        run = K8sRun(self, pods=[pod])
        run.write_cri("web-1", ["from the old container"])
        with open(run.cri_file("web-1").replace(container_id("web-1", "app"), new_id), "w") as f:
            f.write(cri("stdout", "from the new container"))
        old = run.wait_log("from the old container")["kubernetes"]
        new = run.wait_log("from the new container")["kubernetes"]
        run.stop()
        self.assertEqual(old["docker_id"], container_id("web-1", "app"))
        self.assertEqual(new["docker_id"], new_id)
        self.assertNotIn("container_id", old)
        self.assertEqual(old["pod_ip"], new["pod_ip"])

    def test_namespace_metadata_under_kubernetes_namespace(self):
        """namespace_labels and namespace_annotations go to a record's
        kubernetes_namespace: {name, labels, annotations}, as Fluent Bit
        writes them; also for a pod the API does not know."""
        run = K8sRun(self, pods=[make_pod("web-1", namespace="team")], start=False,
                     filter_options={"namespace_labels": True, "namespace_annotations": True,
                                     "metadata_wait": "1s"})
        run.fake.add_namespace(make_namespace("team", labels={"tier": "gold"},
                                              annotations={"owner.io/contact": "sre"}))
        run.start()
        run.write_cri("web-1", ["known pod"], namespace="team")
        run.write_cri("ghost-1", ["unknown pod"], namespace="team")
        known = run.wait_log("known pod")
        unknown = run.wait_log("unknown pod")
        run.stop()
        expected = {"name": "team", "labels": {"tier": "gold"},
                    "annotations": {"owner_io/contact": "sre"}}
        self.assertEqual(known["kubernetes_namespace"], expected)
        self.assertEqual(unknown["kubernetes_namespace"], expected)
        self.assertNotIn("namespace_labels", known["kubernetes"])
        self.assertNotIn("labels", unknown["kubernetes"])

    def test_owner_references(self):
        """owner_references: the pod's ownerReferences as they are, under
        kubernetes.ownerReferences (Fluent Bit's Owner_References); off by
        default, as there."""
        pod = make_pod("web-1", owner=("DaemonSet", "agent"))
        for options, expected in (({}, None),
                                  ({"owner_references": True},
                                   pod["metadata"]["ownerReferences"])):
            run = K8sRun(self, pods=[pod], filter_options=options)
            run.write_cri("web-1", ["owned"])
            meta = run.wait_log("owned")["kubernetes"]
            run.stop()
            self.assertEqual(meta.get("ownerReferences"), expected, options)
            self.assertEqual(meta["owner"], {"kind": "DaemonSet", "name": "agent"})


if __name__ == "__main__":
    unittest.main()
