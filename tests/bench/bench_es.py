#!/usr/bin/env python3
"""Benchmark of the elasticsearch output: tail (cri) -> elasticsearch against
a local bulk sink, with gzip and without (not run in CI).

    python3 tests/bench/bench_es.py [path/to/skiff] [--size-mib N]
        [--files N] [--only null,gzip,none]

Writes --size-mib (default 256) of CRI lines of 100..1,000 bytes (the pool
of bench_tail.py) into --files files, then for each case runs skiff: tail
with the cri parser into `null` (the ceiling of everything before the
output), or into `elasticsearch` with compress gzip or none. Prints
documents/s, MiB/s of log files read, MiB/s of bulk NDJSON built, CPU seconds
per GiB of NDJSON, and peak RSS.

The sink is bulk_sink.c (bulk_sink.py compiles and starts it): it reads each
request whole, inflates gzip bodies, counts the documents and answers one
success item per document. Its own capacity is measured first (local clients
posting a pre-built body) and printed, so that a figure near it says the
sink, not skiff, was the limit. Run it against a release build.
"""

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_tail  # noqa: E402
from bench_tail import GIB, MIB, harness  # noqa: E402
from bulk_sink import BulkSink  # noqa: E402

ES = {"instance": "es"}


def run(case, args, logs, nbytes, nlines, sink):
    owner = harness.Cleanups()
    try:
        tmp = harness.TempDir(owner)
        port = harness.free_port()
        if case == "null":
            output = {"name": "null", "alias": "es", "match": "*"}
        else:
            output = {"name": "elasticsearch", "alias": "es", "match": "*",
                      "hosts": [sink.url], "compress": case}
        tail = {"name": "tail", "tag": "kube.*", "path": [os.path.join(logs, "*.log")],
                "read_from_head": True, "parser": "cri"}
        config = harness.pipeline_config([tail], [output], port=port, flush_interval="1s",
                                         grace="30s", state_dir=tmp.join("state"),
                                         log_level="warn")
        started = time.monotonic()
        skiff = harness.Skiff(owner, tmp, harness.write_config(tmp, config))
        http = harness.SkiffHttp(skiff, port)
        http.wait_up(timeout=30)
        http.wait_value("skiff_output_records_total", lambda v: v >= nlines, args.timeout,
                        f"{nlines} records delivered", **ES)
        wall = time.monotonic() - started
        cpu = harness.proc_cpu_seconds(skiff.pid)
        peak = harness.proc_status(skiff.pid)["VmHWM"]
        samples = http.metrics()
        bench_tail.stop(skiff)
        line = (f"{case:5s} {nlines / wall:11,.0f} docs/s {nbytes / MIB / wall:7.1f} MiB/s read")
        if case != "null":
            body = harness.metric(samples, "skiff_es_body_bytes_total", **ES)
            sent = harness.metric(samples, "skiff_es_sent_bytes_total", **ES)
            line += (f" {body / MIB / wall:7.1f} MiB/s NDJSON {cpu / (body / GIB):6.2f} CPU s/GiB"
                     f" (NDJSON) ratio {body / sent:4.1f}")
        else:
            line += f" {cpu / (nbytes / GIB):6.2f} CPU s/GiB (read)"
        line += (f" {peak / MIB:6.1f} MiB peak RSS ({nlines:,} lines, {wall:.2f}s wall, "
                 f"{cpu:.2f}s CPU)")
        print(line, flush=True)
    finally:
        owner.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("binary", nargs="?", default="build-release/skiff")
    parser.add_argument("--size-mib", type=int, default=256)
    parser.add_argument("--files", type=int, default=16)
    parser.add_argument("--only", default="null,gzip,none")
    parser.add_argument("--timeout", type=float, default=600)
    args = parser.parse_args()
    os.environ["SKIFF_BIN"] = os.path.abspath(args.binary)
    owner = harness.Cleanups()
    try:
        tmp = harness.TempDir(owner)
        sink = BulkSink(owner, tmp.path)
        for c in sink.capacity():
            print(f"sink capacity ({c['case']} bodies, 2 local clients): "
                  f"{c['docs_per_s']:,.0f} docs/s, {c['mib_per_s']:.0f} MiB/s of NDJSON",
                  flush=True)
        logs = tmp.join("logs")
        os.makedirs(logs)
        nbytes, nlines = bench_tail.write_files(logs, args.files, args.size_mib * MIB,
                                                bench_tail.line_pool())
        for case in args.only.split(","):
            run(case, args, logs, nbytes, nlines, sink)
    finally:
        owner.close()


if __name__ == "__main__":
    main()
