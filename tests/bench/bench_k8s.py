#!/usr/bin/env python3
"""Benchmark of the kubernetes filter: tail -> cri -> kubernetes -> null, for
200 pods against the fake API server (tests/integration/fake_k8s.py), and the
same run without the filter.

    python3 tests/bench/bench_k8s.py [path/to/skiff] [--pods N] [--size-mib N]
        [--timeout S]

Each pod has one CRI log file under var/log/containers, written before skiff
starts (lines of 100..1,000 bytes, --size-mib in all); read_from_head true.
The fake API server (HTTPS, plain HTTP with --http) holds the pods, each with
a few labels, annotations and an owner. For each case it polls /metrics until
skiff_output_records_total (null) reaches the number of lines and prints
lines/s, MiB/s, CPU seconds per GiB of log text and peak RSS (VmHWM), then
the filter's cost against the run without it. It also prints the API
requests the run made (one LIST, one WATCH expected).

Run it against a release build (see README.md): a sanitizer build measures
the sanitizer.
"""

import argparse
import os
import signal
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
sys.path.insert(0, HERE)
import harness  # noqa: E402
from bench_tail import line_pool  # noqa: E402
from fake_k8s import FakeK8s, container_id, make_pod  # noqa: E402

MIB = 1024 * 1024
GIB = 1024 * MIB
NODE = "bench-node"


def write_files(folder, pods, total_bytes):
    """One file per pod, total_bytes in all; returns (bytes, lines)."""
    pool = line_pool()
    per_file = total_bytes // pods
    nbytes = nlines = 0
    for i in range(pods):
        name = f"app-{i:03d}"
        path = os.path.join(folder, f"{name}_bench_app-{container_id(name, 'app')}.log")
        written = 0
        with open(path, "wb") as f:
            j = i
            while written < per_file:
                line = pool[j % len(pool)]
                f.write(line)
                written += len(line)
                nlines += 1
                j += 7
        nbytes += written
    return nbytes, nlines


def run_case(args, with_filter):
    owner = harness.Cleanups()
    try:
        tmp = harness.TempDir(owner)
        logs = tmp.join("var", "log", "containers")
        os.makedirs(logs)
        nbytes, nlines = write_files(logs, args.pods, args.size_mib * MIB)
        fake = FakeK8s(tmp.path, tls=not args.http, node=NODE, token="bench")
        owner.addCleanup(fake.close)
        fake.add_pods([make_pod(f"app-{i:03d}", namespace="bench", node=NODE,
                                labels={"app": "app", "app.kubernetes.io/instance": f"i{i}",
                                        "pod-template-hash": "7d9f8b6c5d"},
                                annotations={"prometheus.io/scrape": "true"})
                       for i in range(args.pods)])
        token = tmp.join("token")
        with open(token, "w") as f:
            f.write("bench\n")
        port = harness.free_port()
        config = harness.pipeline_config(
            [{"name": "tail", "tag": "kube.*", "path": os.path.join(logs, "*.log"),
              "parser": "cri", "read_from_head": True, "refresh_interval": "1s"}],
            [{"name": "null", "match": "*"}], port=port, grace="30s",
            state_dir=tmp.join("state"), log_level="warn")
        if with_filter:
            config["pipeline"]["filters"] = [{
                "name": "kubernetes", "match": "kube.*", "api_url": fake.url,
                "token_file": token, "ca_file": fake.ca_file or "", "node_name": NODE}]
        started = time.monotonic()
        skiff = harness.Skiff(owner, tmp, harness.write_config(tmp, config))
        http = harness.SkiffHttp(skiff, port)
        http.wait_up(timeout=30)
        http.wait_value("skiff_output_records_total", lambda v: v >= nlines, args.timeout,
                        f"{nlines} records delivered", instance="null.0")
        wall = time.monotonic() - started
        cpu = harness.proc_cpu_seconds(skiff.pid)
        mem = harness.proc_status(skiff.pid)
        samples = http.metrics()
        rc = skiff.stop(signal.SIGTERM, timeout=60)
        if rc != 0:
            raise RuntimeError(f"skiff exited {rc}:\n{harness.tail(skiff.stderr_text())}")
        result = {"wall": wall, "cpu": cpu, "rss": mem["VmHWM"], "bytes": nbytes,
                  "lines": nlines}
        if with_filter:
            result["without"] = {dict(labels)["reason"]: int(v)
                                 for (name, labels), v in samples.items()
                                 if name == "skiff_k8s_records_without_metadata_total" and v}
            result["requests"] = dict(fake.counts)
        return result
    finally:
        owner.close()


def report(name, r):
    print(f"{name:22s} {r['lines'] / r['wall']:12,.0f} lines/s "
          f"{r['bytes'] / MIB / r['wall']:8.1f} MiB/s {r['cpu'] / (r['bytes'] / GIB):7.2f} "
          f"CPU s/GiB {r['rss'] / MIB:7.1f} MiB peak RSS ({r['lines']:,} lines, "
          f"{r['wall']:.2f}s wall, {r['cpu']:.2f}s CPU)", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("skiff", nargs="?", default=os.path.join("build", "skiff"))
    parser.add_argument("--pods", type=int, default=200)
    parser.add_argument("--size-mib", type=int, default=256)
    parser.add_argument("--timeout", type=float, default=600)
    parser.add_argument("--http", action="store_true", help="plain HTTP instead of HTTPS")
    args = parser.parse_args()
    os.environ["SKIFF_BIN"] = os.path.abspath(args.skiff)
    base = run_case(args, False)
    report("tail -> cri -> null", base)
    k8s = run_case(args, True)
    report("... -> kubernetes", k8s)
    extra_cpu = (k8s["cpu"] - base["cpu"]) / (k8s["bytes"] / GIB)
    print(f"kubernetes filter: {k8s['lines'] / k8s['wall'] / (base['lines'] / base['wall']):.2f}x "
          f"the lines/s, {extra_cpu:+.2f} CPU s/GiB, "
          f"{(k8s['rss'] - base['rss']) / MIB:+.1f} MiB peak RSS; records without metadata: "
          f"{k8s['without'] or 0}; API requests: {k8s['requests']}")


if __name__ == "__main__":
    main()
