#!/usr/bin/env python3
"""The end-to-end benchmark suite: tail -> cri -> kubernetes -> elasticsearch,
as on a node, against a fake API server and a fast bulk sink, optionally
beside Fluent Bit on the same files.

    python3 tests/bench/bench_e2e.py [path/to/skiff] [--only SCENARIOS]
        [--containers N] [--rate LINES_PER_S] [--seconds S] [--lines N]
        [--flush-interval D] [--compare-fluent-bit BINARY] [--json FILE]
        [--perf-record FILE]

Scenarios (issue #17's workloads), --only takes a comma-separated list:
  rest          --rate (10,000) lines/s round-robin into --containers (100)
                CRI files for --seconds (30), each line stamped with the time
                it is written: % of a core, peak RSS, latency p50/p99
  backlog       --lines (300,000) pre-written into the 100 files (121 MiB),
                read from their heads: time to drain, CPU seconds, MiB/s per
                core, CPU s/GiB, peak RSS
  rest-gzip, backlog-gzip   the same with gzip request bodies
  rest-fs, backlog-fs       the same with filesystem storage

Lines are 100..750 bytes (424 on average; tests/bench/bench_tail.py's pool).
The files are in a var/log/containers layout and the fake API server
(tests/integration/fake_k8s.py, plain HTTP) serves their pods. The bulk sink
(tests/bench/bulk_sink.c, compiled here with cc) answers _bulk, counts
documents and measures, for every document, now - @timestamp: the end-to-end
latency from the line's CRI timestamp to the sink. Its own capacity is
measured first and printed, to show it is not the bottleneck.

--compare-fluent-bit BINARY also runs Fluent Bit with the equivalent config
(tests/bench/fluent_bit.py), on the same files and the same fake API server,
against a second sink of the same program, and prints its row and the ratio.
rest: both agents tail the same files at the same time (as in issue #17), so
they see the same lines at the same moments; backlog: one after the other,
each reading the same pre-written files from their heads with a cold start.

CPU is utime + stime of the agent's process from /proc/PID/stat (all
threads); peak RSS is VmHWM. Run it against a release build on an idle
machine (see README.md, Performance).
"""

import argparse
import json
import os
import signal
import subprocess
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
from fluent_bit import FluentBit, config_text, version  # noqa: E402

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

    def prewrite(self, total_lines, pool):
        """Writes total_lines round-robin, as whole files; returns (bytes, lines)."""
        nbytes = nlines = 0
        for i, path in enumerate(self.paths):
            count = total_lines // len(self.paths) + (i < total_lines % len(self.paths))
            stamp = cri_now()
            data = b"".join(stamp + pool[(i + 7 * j) % len(pool)][STAMP_LEN:]
                            for j in range(count))
            with open(path, "ab") as f:
                f.write(data)
            nbytes += len(data)
            nlines += count
        return nbytes, nlines


class SteadyWriter(threading.Thread):
    """`rate` lines/s round-robin into the files for `seconds`, every 10 ms,
    each line stamped with the time it is written."""

    def __init__(self, paths, rate, seconds, pool):
        super().__init__(daemon=True)
        self.paths, self.rate, self.seconds, self.pool = paths, rate, seconds, pool
        self.lines = self.bytes = 0
        self.duration = 0.0
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
            self.duration = time.monotonic() - t0
            for fd in fds:
                os.close(fd)
        except BaseException as e:
            self.error = e


def parse_assignments(items, what):
    """KEY=VALUE strings as a dict (digits become numbers)."""
    options = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise SystemExit(f"{what}: expected KEY=VALUE, got {item!r}")
        options[key] = int(value) if value.isdigit() else value
    return options


def skiff_config(tmp, pods, k8s, sink, port, variant, flush_interval, args=None):
    config = harness.pipeline_config(
        [{"name": "tail", "tag": "kube.*", "path": [os.path.join(pods.folder, "*.log")],
          "parser": "cri", "read_from_head": True, "refresh_interval": "1s"}],
        [{"name": "elasticsearch", "alias": "es", "match": "kube.*", "hosts": [sink.url],
          "index": "logs-%Y.%m.%d", "compress": "gzip" if variant == "gzip" else "none"}],
        port=port, flush_interval=flush_interval, grace="30s", state_dir=tmp.join("state"),
        log_level="warn")
    if args is not None:
        config["pipeline"]["inputs"][0].update(parse_assignments(args.input_option, "--input"))
        config["pipeline"]["outputs"][0].update(parse_assignments(args.output_option, "--output"))
    config["pipeline"]["filters"] = [{
        "name": "kubernetes", "match": "kube.*", "api_url": k8s.url,
        "token_file": tmp.join("token"), "ca_file": "", "node_name": NODE}]
    if args is not None and args.redact:
        # The redact filter with its defaults (every built-in detector, on
        # every string), after kubernetes: what it adds to the whole path.
        config["pipeline"]["filters"].append({"name": "redact", "match": "kube.*"})
    config["service"]["storage"] = {"type": "filesystem" if variant == "fs" else "memory"}
    return config


def start_skiff(owner, tmp, pods, k8s, sink, variant, args):
    """A started skiff that answers /metrics (its kubernetes filter has
    listed the pods or is about to)."""
    port = harness.free_port()
    config = skiff_config(tmp, pods, k8s, sink, port, variant, args.flush_interval, args)
    skiff = harness.Skiff(owner, tmp, harness.write_config(tmp, config))
    harness.SkiffHttp(skiff, port).wait_up(timeout=30)
    return skiff


def start_fluent_bit(owner, tmp, pods, k8s, sink, variant, args):
    state = tmp.join("fluent-bit")
    http_port = harness.free_port()
    text = config_text(pods.folder, state, k8s.url, tmp.join("token"), sink.url, http_port,
                       gzip=variant == "gzip",
                       storage="filesystem" if variant == "fs" else "memory")
    agent = FluentBit(owner, args.compare_fluent_bit, pods.folder, state, text, http_port)
    agent.wait_up(timeout=30)
    return agent


def stop(agent):
    if isinstance(agent, harness.Skiff):
        agent.stop(timeout=60)
    else:
        agent.stop()


def setup(owner, args):
    tmp = harness.TempDir(owner)
    k8s = FakeK8s(tmpdir=tmp.path, tls=False, node=NODE, token="bench-token")
    owner.addCleanup(k8s.close)
    with open(tmp.join("token"), "w") as f:
        f.write("bench-token")  # Fluent Bit sends the file's bytes as they are
    return tmp, k8s, Pods(tmp, args.containers, k8s)


class RssSplit:
    """The anonymous and file-backed parts of the agent's largest sampled RSS:
    shared libraries' pages count in VmHWM but are shared by every process
    mapping them, while anonymous memory is the agent's own."""

    def __init__(self, pid):
        self.pid, self.rss, self.anon, self.file = pid, 0, 0, 0

    def sample(self):
        status = harness.proc_status(self.pid)
        if status.get("VmRSS", 0) >= self.rss:
            self.rss = status.get("VmRSS", 0)
            self.anon, self.file = status.get("RssAnon", 0), status.get("RssFile", 0)


def wait_delivered(sink, lines, agent, timeout):
    """Waits for the documents; returns the RssSplit sampled meanwhile."""
    split = RssSplit(agent.pid)

    def delivered():
        split.sample()
        return sink.stats()["docs"] >= lines
    harness.wait_for(delivered, timeout, f"{lines} documents in the sink", interval=0.02,
                     alive=agent)
    return split


def flushes(args, seconds):
    """How many flush_interval periods (e.g. "1s", "500ms") fit in `seconds`."""
    text = args.flush_interval
    unit = 0.001 if text.endswith("ms") else 1.0
    interval = float(text[:-2] if text.endswith("ms") else text.rstrip("s")) * unit
    return max(1.0, seconds / interval)


def run_rest(args, variant, sinks, starters):
    """Every agent follows the same files while one writer appends to them."""
    owner = harness.Cleanups()
    try:
        tmp, k8s, pods = setup(owner, args)
        agents = {}
        for name, start in starters.items():
            sinks[name].reset()
            agents[name] = start(owner, tmp, pods, k8s, sinks[name], variant, args)
        cpu0 = {name: harness.proc_cpu_seconds(a.pid) for name, a in agents.items()}
        writer = SteadyWriter(pods.paths, args.rate, args.seconds, line_pool(max_size=750))
        writer.start()
        writer.join()
        if writer.error:
            raise writer.error
        cpu = {name: harness.proc_cpu_seconds(a.pid) - cpu0[name] for name, a in agents.items()}
        rows = {}
        for name, agent in agents.items():
            split = wait_delivered(sinks[name], writer.lines, agent, args.timeout)
            stats = sinks[name].stats()
            rows[name] = {
                "agent": name, "scenario": f"rest{SUFFIX[variant]}", "lines": writer.lines,
                "log_bytes": writer.bytes, "seconds": round(writer.duration, 2),
                "lines_per_s": round(writer.lines / writer.duration),
                "cpu_percent": round(100 * cpu[name] / writer.duration, 1),
                "peak_rss_mib": round(harness.proc_status(agent.pid)["VmHWM"] / MIB, 1),
                "latency_p50_ms": stats["latency_ms"]["p50"],
                "latency_p99_ms": stats["latency_ms"]["p99"],
                "documents": stats["docs"],
                "bulk_requests": stats["requests"],
                "requests_per_flush": round(stats["requests"] / flushes(args, writer.duration), 1),
                "body_bytes_per_doc": round(stats["body_bytes"] / max(1, stats["docs"])),
                "api_requests": dict(k8s.counts)}
        for agent in agents.values():
            stop(agent)
        return rows
    finally:
        owner.close()


def run_backlog(args, variant, sinks, starters):
    """Each agent in turn reads the same pre-written files from their heads."""
    owner = harness.Cleanups()
    try:
        tmp, k8s, pods = setup(owner, args)
        nbytes, nlines = pods.prewrite(args.lines, line_pool(max_size=750))
        rows = {}
        for name, start in starters.items():
            sinks[name].reset()
            started = time.monotonic()
            agent = start(owner, tmp, pods, k8s, sinks[name], variant, args)
            perf = None
            if args.perf_record and name == "skiff":
                perf = subprocess.Popen(["perf", "record", "--call-graph", args.perf_call_graph,
                                         *args.perf_event,
                                         "-q", "-o", args.perf_record,
                                         "-p", str(agent.pid)])
            split = wait_delivered(sinks[name], nlines, agent, args.timeout)
            drain = time.monotonic() - started
            if perf:
                perf.send_signal(signal.SIGINT)
                perf.wait(timeout=60)
            cpu = harness.proc_cpu_seconds(agent.pid)
            faults = harness.proc_minor_faults(agent.pid)
            rss = harness.proc_status(agent.pid)["VmHWM"]
            stats = sinks[name].stats()
            stop(agent)
            rows[name] = {
                "agent": name, "scenario": f"backlog{SUFFIX[variant]}", "lines": nlines,
                "log_bytes": nbytes, "log_mib": round(nbytes / MIB, 1),
                "drain_s": round(drain, 2), "cpu_s": round(cpu, 2),
                "mib_per_s": round(nbytes / MIB / drain, 1),
                "mib_per_cpu_s": round(nbytes / MIB / cpu, 1),
                "cpu_s_per_gib": round(cpu / (nbytes / GIB), 2),
                "peak_rss_mib": round(rss / MIB, 1), "documents": stats["docs"],
                "sampled_rss_anon_mib": round(split.anon / MIB, 1),
                "sampled_rss_file_mib": round(split.file / MIB, 1),
                "body_bytes_per_doc": round(stats["body_bytes"] / max(1, stats["docs"])),
                "wire_bytes_per_doc": round(stats["wire_bytes"] / max(1, stats["docs"])),
                "minor_faults": faults,
                "api_requests": dict(k8s.counts)}
        return rows
    finally:
        owner.close()


SUFFIX = {"none": "", "gzip": "-gzip", "fs": "-fs"}
SCENARIOS = {f"{kind}{suffix}": (kind, variant) for kind in ("rest", "backlog")
             for variant, suffix in SUFFIX.items()}


def print_rows(kind, rows):
    for r in rows.values():
        if kind == "rest":
            print(f"{r['scenario']:<13} {r['agent']:<10} {r['lines_per_s']:>8,} lines/s "
                  f"{r['cpu_percent']:>6} % of a core {r['peak_rss_mib']:>7} MiB peak RSS "
                  f"latency p50 {r['latency_p50_ms']} ms, p99 {r['latency_p99_ms']} ms, "
                  f"{r['requests_per_flush']} bulk requests per flush", flush=True)
        else:
            print(f"{r['scenario']:<13} {r['agent']:<10} {r['log_mib']} MiB "
                  f"({r['lines']:,} lines) in {r['drain_s']} s, {r['cpu_s']} CPU s "
                  f"({r['mib_per_cpu_s']} MiB/s per core, {r['cpu_s_per_gib']} CPU s/GiB) "
                  f"{r['peak_rss_mib']} MiB peak RSS (largest sample: "
                  f"{r['sampled_rss_anon_mib']} anonymous + {r['sampled_rss_file_mib']} "
                  f"file-backed), {r['minor_faults']:,} page faults", flush=True)
    if "fluent-bit" in rows:
        s, f = rows["skiff"], rows["fluent-bit"]
        cpu = (f["cpu_percent"] / s["cpu_percent"]) if kind == "rest" else f["cpu_s"] / s["cpu_s"]
        print(f"{'':<13} {'ratio':<10} Fluent Bit / skiff: {cpu:.1f}x the CPU, "
              f"{f['peak_rss_mib'] / s['peak_rss_mib']:.1f}x the peak RSS", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("binary", nargs="?", default="build-release/skiff")
    parser.add_argument("--only", default=",".join(SCENARIOS))
    parser.add_argument("--containers", type=int, default=100)
    parser.add_argument("--rate", type=int, default=10_000, help="lines/s in all (rest)")
    parser.add_argument("--seconds", type=float, default=30.0, help="rest: how long")
    parser.add_argument("--lines", type=int, default=300_000, help="backlog: lines in all")
    parser.add_argument("--flush-interval", default="1s",
                        help="service.flush_interval (default 1s, as config/kubernetes.yaml)")
    parser.add_argument("--compare-fluent-bit", metavar="BINARY",
                        help="also run this Fluent Bit on the same files (see fluent_bit.py)")
    parser.add_argument("--perf-record", metavar="FILE",
                        help="backlog: `perf record -g` skiff from its start-up to the last "
                             "document into FILE (read it with perf report -i FILE)")
    parser.add_argument("--perf-event", action="append", default=[], metavar="ARG",
                        help="with --perf-record: an argument for perf record, e.g. "
                        "--perf-event=-e --perf-event=page-faults (where pages are first touched)")
    parser.add_argument("--perf-call-graph", default="fp", metavar="MODE",
                        help="perf record --call-graph MODE: fp (default), or dwarf to see "
                             "the callers of libc functions such as memmove")
    parser.add_argument("--input", dest="input_option", action="append", metavar="KEY=VALUE",
                        help="skiff: set an option of the tail input (buffer_limit=8MiB); "
                             "repeatable")
    parser.add_argument("--output", dest="output_option", action="append",
                        metavar="KEY=VALUE",
                        help="skiff: set an option of the elasticsearch output "
                             "(max_in_flight=2, or compress=gzip over the variant); repeatable")
    parser.add_argument("--redact", action="store_true",
                        help="skiff: add the redact filter, with its defaults, after kubernetes")
    parser.add_argument("--timeout", type=float, default=600.0)
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args()
    for name in args.only.split(","):
        if name not in SCENARIOS:
            parser.error(f"--only: unknown scenario {name!r} (one of {', '.join(SCENARIOS)})")
    if not os.access(args.binary, os.X_OK):
        parser.error(f"{args.binary} is not an executable (meson setup build-release "
                     f"--buildtype=release -Dtests=false && ninja -C build-release)")
    os.environ["SKIFF_BIN"] = os.path.abspath(args.binary)
    starters = {"skiff": start_skiff}
    if args.compare_fluent_bit:
        if not os.access(args.compare_fluent_bit, os.X_OK):
            parser.error(f"--compare-fluent-bit: {args.compare_fluent_bit} is not an "
                         f"executable (sh ../shared/tools/build-fluent-bit.sh GIT_DIR)")
        starters["fluent-bit"] = start_fluent_bit
        print(version(args.compare_fluent_bit))

    owner = harness.Cleanups()
    tmp = harness.TempDir(owner)
    for name in starters:
        os.makedirs(tmp.join(name))
    sinks = {name: BulkSink(owner, tmp.join(name)) for name in starters}
    for case in sinks["skiff"].capacity():
        print(f"bulk sink capacity ({case['case']}): {case['docs_per_s']:,.0f} docs/s, "
              f"{case['mib_per_s']:.0f} MiB/s of bulk body")
    results = []
    for name in args.only.split(","):
        kind, variant = SCENARIOS[name]
        run = run_rest if kind == "rest" else run_backlog
        rows = run(args, variant, sinks, starters)
        print_rows(kind, rows)
        results.extend(rows.values())
    for r in results:
        print(json.dumps(r))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    owner.close()


if __name__ == "__main__":
    main()
