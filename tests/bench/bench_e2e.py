#!/usr/bin/env python3
"""The end-to-end benchmark suite: tail -> cri -> kubernetes -> elasticsearch,
as on a node, against a fake API server and a fast bulk sink.

    python3 tests/bench/bench_e2e.py [path/to/skiff] [--only a,b,c,d]
        [--size-mib N] [--containers N] [--rate LINES_PER_S] [--seconds S]
        [--flush-interval D] [--redact] [--json FILE]

Scenarios:
  a  max throughput: --size-mib (1024) of CRI lines pre-written into
     --containers (100) files, read from their heads, sent uncompressed
  b  steady: --rate (10,000) lines/s into the 100 files for --seconds (60)
  c  b with gzip request bodies
  d  b with filesystem storage (every chunk also written to disk)

--redact adds the redact filter with every detector after kubernetes, to see
what it costs in the whole pipeline.

Lines are 100..1,000 bytes (tests/bench/bench_tail.py's pool); in b, c and d
each carries the time it was written as its CRI timestamp. The bulk sink
(tests/bench/bulk_sink.c, compiled here with cc) answers _bulk, counts
documents and measures, for every document, now - @timestamp: the
end-to-end latency from the line's CRI timestamp to the sink. Its own
capacity is measured first and printed, to show it is not the bottleneck.

Per scenario: lines/s, MiB/s of log text, CPU seconds per GiB, CPU % of one
core, peak RSS (VmHWM), latency p50/p99 (ms); a table, and one JSON object
per scenario (also into --json FILE) to compare across commits. Run it
against a release build on an idle machine (see README.md, Performance).
"""

import argparse
import json
import os
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
sys.path.insert(0, HERE)
import harness  # noqa: E402
from bench_tail import line_pool  # noqa: E402
from bulk_sink import BulkSink  # noqa: E402
from fake_k8s import FakeK8s, container_id, make_pod  # noqa: E402

MIB = 1024 * 1024
GIB = 1024 * MIB
NODE = "bench-node"
STAMP_LEN = len("2024-05-01T10:15:00.123456789Z")


def cri_now():
    ns = time.time_ns()
    sec, frac = divmod(ns, 10**9)
    return (time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(sec)) + f".{frac:09d}Z").encode()


class Pods:
    """`count` pods with one container each: files in var/log/containers,
    pods in the fake API server."""

    def __init__(self, tmp, count, k8s):
        self.folder = tmp.join("var", "log", "containers")
        os.makedirs(self.folder)
        self.paths = []
        pods = []
        for i in range(count):
            name = f"app-{i:03d}"
            pods.append(make_pod(name, namespace="bench", node=NODE, containers=("app",),
                                 labels={"app": name, "app.kubernetes.io/name": "bench"}))
            self.paths.append(os.path.join(
                self.folder, f"{name}_bench_app-{container_id(name, 'app')}.log"))
            open(self.paths[-1], "ab").close()
        k8s.add_pods(pods)

    def prewrite(self, total_bytes, pool):
        """Writes total_bytes round-robin; returns (bytes, lines)."""
        nbytes = nlines = 0
        per_file = total_bytes // len(self.paths)
        for i, path in enumerate(self.paths):
            written, j = 0, i
            chunks = []
            while written < per_file:
                line = cri_now() + pool[j % len(pool)][STAMP_LEN:]
                chunks.append(line)
                written += len(line)
                j += 7
            with open(path, "ab") as f:
                f.write(b"".join(chunks))
            nbytes += written
            nlines += len(chunks)
        return nbytes, nlines


class SteadyWriter(threading.Thread):
    """`rate` lines/s round-robin into the files for `seconds`, every 10 ms,
    each line stamped with the time it is written."""

    def __init__(self, paths, rate, seconds, pool):
        super().__init__(daemon=True)
        self.paths, self.rate, self.seconds, self.pool = paths, rate, seconds, pool
        self.lines = self.bytes = 0
        self.error = None

    def run(self):
        try:
            fds = [os.open(p, os.O_WRONLY | os.O_APPEND) for p in self.paths]
            t0 = time.monotonic()
            turn = 0
            while time.monotonic() - t0 < self.seconds:
                due = int((time.monotonic() - t0) * self.rate) - self.lines
                stamp = cri_now()
                while due > 0:
                    fd = fds[turn % len(fds)]
                    k = min(due, max(1, self.rate // len(fds) // 100 + 1))
                    data = b"".join(stamp + self.pool[(self.lines + j) % len(self.pool)]
                                    [STAMP_LEN:] for j in range(k))
                    os.write(fd, data)
                    self.lines += k
                    self.bytes += len(data)
                    due -= k
                    turn += 1
                time.sleep(0.01)
            for fd in fds:
                os.close(fd)
        except BaseException as e:
            self.error = e


def skiff_config(tmp, pods, k8s, sink, port, gzip, storage, flush_interval, redact=False):
    config = harness.pipeline_config(
        [{"name": "tail", "tag": "kube.*", "path": [os.path.join(pods.folder, "*.log")],
          "parser": "cri", "read_from_head": True, "refresh_interval": "1s",
          "buffer_limit": "64MiB"}],
        [{"name": "elasticsearch", "alias": "es", "match": "kube.*", "hosts": [sink.url],
          "index": "logs-%Y.%m.%d", "compress": "gzip" if gzip else "none"}],
        port=port, flush_interval=flush_interval, grace="30s", state_dir=tmp.join("state"),
        log_level="warn")
    config["pipeline"]["filters"] = [{
        "name": "kubernetes", "match": "kube.*", "api_url": k8s.url,
        "token_file": tmp.join("token"),
        "ca_file": "", "node_name": NODE}]
    if redact:
        config["pipeline"]["filters"].append({"name": "redact", "match": "kube.*"})
    config["service"]["storage"] = {"type": storage}
    return config


def run_case(args, name, sink):
    owner = harness.Cleanups()
    try:
        tmp = harness.TempDir(owner)
        k8s = FakeK8s(tmpdir=tmp.path, tls=False, node=NODE, token="bench-token")
        with open(tmp.join("token"), "w") as f:
            f.write("bench-token\n")
        owner.addCleanup(k8s.close)
        pods = Pods(tmp, args.containers, k8s)
        pool = line_pool()
        steady = name != "a"
        nbytes = nlines = 0
        if not steady:
            nbytes, nlines = pods.prewrite(args.size_mib * MIB, pool)
        sink.reset()
        port = harness.free_port()
        config = skiff_config(tmp, pods, k8s, sink, port, gzip=name == "c",
                              storage="filesystem" if name == "d" else "memory",
                              flush_interval=args.flush_interval, redact=args.redact)
        started = time.monotonic()
        skiff = harness.Skiff(owner, tmp, harness.write_config(tmp, config))
        http = harness.SkiffHttp(skiff, port)
        http.wait_up(timeout=30)
        cpu0 = harness.proc_cpu_seconds(skiff.pid)
        if steady:
            writer = SteadyWriter(pods.paths, args.rate, args.seconds, pool)
            writer.start()
            writer.join()
            if writer.error:
                raise writer.error
            nbytes, nlines = writer.bytes, writer.lines
        harness.wait_for(lambda: sink.stats()["docs"] >= nlines, args.timeout,
                         f"{nlines} documents in the sink", interval=0.05, alive=skiff)
        wall = time.monotonic() - started
        cpu = harness.proc_cpu_seconds(skiff.pid) - (cpu0 if steady else 0)
        rss = harness.proc_status(skiff.pid)["VmHWM"]
        stats = sink.stats()
        skiff.stop(timeout=60)
        busy = args.seconds if steady else wall
        return {
            "scenario": name, "lines": nlines, "log_bytes": nbytes,
            "lines_per_s": round(nlines / busy), "mib_per_s": round(nbytes / MIB / busy, 1),
            "cpu_s_per_gib": round(cpu / (nbytes / GIB), 2),
            "cpu_percent": round(100 * cpu / busy, 1),
            "peak_rss_mib": round(rss / MIB, 1),
            "latency_p50_ms": stats["latency_ms"]["p50"],
            "latency_p99_ms": stats["latency_ms"]["p99"],
            "documents": stats["docs"],
        }
    finally:
        owner.close()


TITLES = {"a": "max throughput, 1 GiB pre-written", "b": "steady rate",
          "c": "steady rate, gzip", "d": "steady rate, filesystem storage"}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("binary", nargs="?", default="build-release/skiff")
    parser.add_argument("--only", default="a,b,c,d")
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--containers", type=int, default=100)
    parser.add_argument("--rate", type=int, default=10_000)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--flush-interval", default="1s",
                        help="service.flush_interval (default 1s, as config/kubernetes.yaml)")
    parser.add_argument("--timeout", type=float, default=600.0)
    parser.add_argument("--redact", action="store_true",
                        help="add the redact filter (every detector) after kubernetes")
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args()
    if not os.access(args.binary, os.X_OK):
        parser.error(f"{args.binary} is not an executable (meson setup build-release "
                     f"--buildtype=release -Dtests=false && ninja -C build-release)")
    os.environ["SKIFF_BIN"] = os.path.abspath(args.binary)

    owner = harness.Cleanups()
    tmp = harness.TempDir(owner)
    sink = BulkSink(owner, tmp.path)
    for case in sink.capacity():
        print(f"bulk sink capacity ({case['case']}): {case['docs_per_s']:,.0f} docs/s, "
              f"{case['mib_per_s']:.0f} MiB/s of bulk body")
    results = []
    print(f"{'scenario':<36} {'lines/s':>9} {'MiB/s':>7} {'CPU s/GiB':>9} {'CPU %':>6} "
          f"{'RSS MiB':>8} {'p50 ms':>7} {'p99 ms':>7}")
    for name in args.only.split(","):
        r = run_case(args, name, sink)
        results.append(r)
        print(f"{name}) {TITLES[name]:<33} {r['lines_per_s']:>9,} {r['mib_per_s']:>7} "
              f"{r['cpu_s_per_gib']:>9} {r['cpu_percent']:>6} {r['peak_rss_mib']:>8} "
              f"{r['latency_p50_ms']:>7} {r['latency_p99_ms']:>7}", flush=True)
    for r in results:
        print(json.dumps(r))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    owner.close()


if __name__ == "__main__":
    main()
