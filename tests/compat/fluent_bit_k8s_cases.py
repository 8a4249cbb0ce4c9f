#!/usr/bin/env python3
"""Runs Fluent Bit's own kubernetes-filter cases against skiff and compares
skiff's records with the records Fluent Bit's tests expect.

    python3 tests/compat/fluent_bit_k8s_cases.py SKIFF_BINARY FLUENT_BIT_GIT_DIR
        [--rev REV] [--keep] [-v] [CASE_NAME_PART...]

For each case of FLUENT_BIT_GIT_DIR's tests/runtime/filter_kubernetes.c (read
at REV, HEAD by default, with `git show`: nothing is copied into skiff) it
serves the case's pod (and namespace) JSON from tests/integration/fake_k8s.py,
writes its log lines into a file named as the kubelet names the case's
container, runs skiff (tail with the docker parser -> kubernetes with the
case's options under skiff's names -> file), and compares each record with
the case's .out file (fb_k8s_compare.py, which lists what may differ and why).

Prints one line per case: match, differs (with the fields), or not
applicable (why); then the totals and the legitimate differences met.
Exits 1 if a case differs. Not run in CI: it needs a Fluent Bit checkout."""

import argparse
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "integration"))

import fb_k8s_compare  # noqa: E402
import fb_k8s_options  # noqa: E402
import fb_k8s_suite  # noqa: E402
import harness  # noqa: E402
from fake_k8s import FakeK8s  # noqa: E402

NODE = "node-compat"
SETTLE_S = 1.5        # no new record for this long: the group is done
MIN_RUN_S = 3.0       # > metadata_wait (2s): a record held for a pod is out
GROUP_TIMEOUT_S = 30.0


def skiff_filter_options(binary):
    """The option names of the binary's kubernetes filter (--describe)."""
    text = subprocess.run([binary, "--describe", "kubernetes"], capture_output=True,
                          text=True, check=True, env=harness.skiff_env()).stdout
    own = text.split("Options of kubernetes:", 1)[-1]
    return {m.group(1) for m in re.finditer(r"^([a-z_]+)\s", own, re.M)}


def container_id(pods, namespace, pod, container, target):
    """The 64-hex id the file name carries: the container's containerID in
    the pod's status when it has one, else one made from the case."""
    for obj in pods or ():
        metadata = obj.get("metadata") or {}
        if metadata.get("name") != pod or metadata.get("namespace") != namespace:
            continue
        for status in (obj.get("status") or {}).get("containerStatuses") or ():
            if status.get("name") == container:
                found = str(status.get("containerID", "")).rpartition("://")[2]
                if re.fullmatch(r"[0-9a-f]{64}", found):
                    return found
    return hashlib.sha256(f"fluent-bit-case/{target}".encode()).hexdigest()


class Group:
    """Cases that run with the same skiff options, in one skiff."""

    def __init__(self, options):
        self.options = options
        self.cases = []
        self.pods = {}        # (namespace, name) -> Pod object
        self.namespaces = {}  # name -> Namespace object
        self.files = {}       # target -> (file name, container id, log text)


def plan(checkout, cases, skiff_names):
    """Groups the runnable cases; sets case.not_applicable on the others."""
    defaults = fb_k8s_suite.read_filter_defaults(checkout)
    groups = {}
    for case in cases:
        if case.not_applicable:
            continue
        ident = case.identity()
        log_text = fb_k8s_suite.read_lines(checkout, case)
        if ident is None or log_text is None:
            case.not_applicable = f"no log file {case.log_path} named <ns>_<pod>_<container>"
            continue
        namespace, pod, container = ident
        pods = fb_k8s_suite.pod_objects(checkout, namespace, pod)
        options, why = fb_k8s_options.skiff_options(case, defaults, skiff_names, pods)
        if why:
            case.not_applicable = why
            continue
        group = groups.setdefault(fb_k8s_options.group_key(options), Group(options))
        group.cases.append(case)
        for obj in pods or ():
            meta = obj.get("metadata") or {}
            group.pods[(meta.get("namespace"), meta.get("name"))] = obj
        ns = fb_k8s_suite.namespace_object(checkout, namespace)
        if ns is not None:
            group.namespaces[namespace] = ns
        cid = container_id(pods, namespace, pod, container, case.target)
        if not log_text.endswith("\n"):
            log_text += "\n"
        group.files[case.target] = (f"{pod}_{namespace}_{container}-{cid}.log", cid, log_text)
    return list(groups.values())


def expected_records(group):
    """How many records the group's files give at least, by Fluent Bit."""
    per_file = {}
    for case in group.cases:
        counts = per_file.setdefault(case.target, {})
        counts[case.suffix] = case.expected_count
    return sum(c[None] if None in c else sum(c.values()) for c in per_file.values())


class Run:
    """One group's fake API server, files and skiff process."""

    def __init__(self, group, parsers, workdir, verbose):
        self.group = group
        self.verbose = verbose
        self.cleanups = harness.Cleanups()
        self.dir = workdir
        self.logs = os.path.join(workdir, "logs")
        os.makedirs(self.logs)
        self.out = os.path.join(workdir, "out.jsonl")
        self.fake = FakeK8s(workdir, tls=False, token=None, node=self._node())
        self.cleanups.addCleanup(self.fake.close)
        self.fake.add_pods(list(group.pods.values()))
        for ns in group.namespaces.values():
            self.fake.add_namespace(ns)
        for name, _, text in group.files.values():
            with open(os.path.join(self.logs, name), "w", encoding="utf-8") as f:
                f.write(text)
        self.port = harness.free_port()
        self.config = self._config(parsers)

    def _node(self):
        nodes = [(p.get("spec") or {}).get("nodeName") for p in self.group.pods.values()]
        nodes = [n for n in nodes if isinstance(n, str) and n]
        return nodes[0] if nodes else NODE

    def _config(self, parsers):
        kubernetes = {"name": "kubernetes", "match": "kube.*", "api_url": self.fake.url,
                      "token_file": "", "ca_file": "", "node_name": self.fake.node,
                      "kubelet_url": self.fake.url,
                      # Most of the cases' pods have no spec.nodeName, so the
                      # node's LIST leaves them out and skiff GETs each one:
                      # time and rate enough for all, which change no record.
                      "metadata_wait": "10s", "pod_get_rate": 100}
        kubernetes.update(self.group.options)
        config = harness.pipeline_config(
            [{"name": "tail", "tag": "kube.cases", "path": os.path.join(self.logs, "*.log"),
              "parser": "docker", "read_from_head": True, "refresh_interval": "200ms"}],
            [{"name": "file", "match": "kube.*", "path": self.out}], port=self.port,
            flush_interval="100ms", state_dir=os.path.join(self.dir, "state"),
            log_level="warn")
        config["pipeline"]["filters"] = [kubernetes]
        if parsers:
            config = {"service": config["service"], "parsers": parsers,
                      "pipeline": config["pipeline"]}
        return config

    def records(self):
        try:
            return [json.loads(line) for line in harness.read_lines(self.out)]
        except FileNotFoundError:
            return []

    def run(self):
        """Runs skiff until the records settle; returns them by file name."""
        tmp = _Folder(self.dir)
        skiff = harness.Skiff(self.cleanups, tmp, harness.write_config(tmp, self.config))
        harness.SkiffHttp(skiff, self.port).wait_up()
        started = time.monotonic()
        wanted = expected_records(self.group)
        last_count, last_change = -1, started
        while time.monotonic() - started < GROUP_TIMEOUT_S:
            count = len(self.records())
            now = time.monotonic()
            if count != last_count:
                last_count, last_change = count, now
            if count >= wanted and now - started >= MIN_RUN_S and now - last_change >= SETTLE_S:
                break
            if skiff.proc.poll() is not None:
                break
            time.sleep(0.1)
        rc = skiff.stop()
        stderr = skiff.stderr_text()
        if rc != 0:
            raise RuntimeError(f"skiff exited {rc}\n{harness.tail(stderr)}")
        if self.verbose and stderr.strip():
            print(harness.tail(stderr, 20), file=sys.stderr)
        by_file = {}
        for record in self.records():
            by_file.setdefault(os.path.basename(str(record.get("path"))), []).append(record)
        return by_file

    def close(self):
        self.cleanups.close()


class _Folder:
    """What harness.Skiff and write_config need of a TempDir."""

    def __init__(self, path):
        self.path = path

    def join(self, *parts):
        return os.path.join(self.path, *parts)


def judge(checkout, case, file_info, records):
    """("match" | "differs", [differences], {legitimate notes})."""
    name, cid, _ = file_info
    picked = [r for r in records.get(name, [])
              if case.suffix is None or r.get("stream") == case.suffix]
    diffs, notes = [], set()
    which = f"{case.suffix} " if case.suffix else ""
    if len(picked) != case.expected_count:
        diffs.append(f"records: expected {case.expected_count} {which}record(s), "
                     f"got {len(picked)}")
    if case.expected_count and picked:
        expected = fb_k8s_suite.read_expected(checkout, case)
        if expected is None:
            return "differs", [f"no {case.out_path}"], notes
        for record in picked:
            result = fb_k8s_compare.compare(expected[0], expected[1], record, cid)
            diffs.extend(d for d in result.diffs if d not in diffs)
            notes |= result.notes
    return ("differs" if diffs else "match"), diffs, notes


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("skiff")
    parser.add_argument("fluent_bit_git_dir")
    parser.add_argument("--rev", default="HEAD")
    parser.add_argument("--keep", action="store_true", help="keep the work folders")
    parser.add_argument("-v", "--verbose", action="store_true", help="print skiff's warnings")
    parser.add_argument("names", nargs="*", help="run only cases whose name contains one")
    args = parser.parse_intermixed_args(argv)
    binary = os.path.abspath(args.skiff)
    os.environ["SKIFF_BIN"] = binary
    checkout = fb_k8s_suite.Checkout(args.fluent_bit_git_dir, args.rev)
    cases = [c for c in fb_k8s_suite.read_cases(checkout)
             if not args.names or any(n in c.name for n in args.names)]
    parsers = fb_k8s_options.skiff_parsers(fb_k8s_suite.read_parsers(checkout))
    groups = plan(checkout, cases, skiff_filter_options(binary))
    verdicts, met = {}, set()
    work = tempfile.mkdtemp(prefix="skiff-fb-k8s-")
    for number, group in enumerate(groups):
        run = Run(group, parsers, os.path.join(work, f"group-{number}"), args.verbose)
        try:
            records = run.run()
        finally:
            run.close()
        for case in group.cases:
            verdict, diffs, notes = judge(checkout, case, group.files[case.target], records)
            verdicts[case.name] = (verdict, diffs)
            met |= notes
    counts = {"match": 0, "differs": 0, "not applicable": 0}
    print(f"Fluent Bit {checkout.commit[:12]}: {fb_k8s_suite.TEST_FILE}")
    for case in cases:
        verdict, diffs = verdicts.get(case.name, ("not applicable", [case.not_applicable]))
        counts[verdict] += 1
        detail = "" if verdict == "match" else ": " + "; ".join(diffs)
        print(f"{case.name:<62} {verdict}{detail}")
    print(f"total {len(cases)}: {counts['match']} match, {counts['differs']} differ, "
          f"{counts['not applicable']} not applicable")
    for note in sorted(met):
        print(f"  legitimately different ({note}): {fb_k8s_compare.LEGITIMATE[note]}")
    if args.keep:
        print(f"work folders kept in {work}")
    else:
        subprocess.run(["rm", "-rf", work], check=False)
    return 1 if counts["differs"] else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
