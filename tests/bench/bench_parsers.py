#!/usr/bin/env python3
"""Benchmark of skiff's parsers: tail (parser X) -> null over pre-written
files in each parser's format (not run in CI).

    python3 tests/bench/bench_parsers.py [path/to/skiff] [--size-mib N]
        [--files N] [--only none,cri,docker,json,regex,cri+redact]

For each parser it writes --size-mib (default 1024) of lines of 100..1,000
bytes in that format into --files files (default 16), runs skiff with the tail
input and that parser into the null output, and prints MiB/s, lines/s, CPU
seconds per GiB and peak RSS, like bench_tail.py (whose helpers it uses).
`none` is the tail input without a parser: the difference is the parser's
cost. `cri+redact` is cri with the redact filter (every detector) after it:
the difference with `cri` is the filter's cost. Run it against a release
build.
"""

import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_tail  # noqa: E402
from bench_tail import GIB, MIB, NULL, TAIL, harness  # noqa: E402

REGEX = r'^(?<time>\S+) (?<stream>stdout|stderr) (?<logtag>[PF]) (?<log>.*)$'


def convert(cri_line, fmt, index):
    """One CRI pool line rewritten in `fmt`."""
    text = cri_line.decode().rstrip("\n")
    stamp, stream, _tag, message = text.split(" ", 3)
    if fmt in ("none", "cri", "regex", "cri+redact"):
        return cri_line
    if fmt == "docker":
        entry = {"log": message + "\n", "stream": stream, "time": stamp}
    else:
        entry = {"time": stamp, "level": "info" if index % 7 else "error", "msg": message,
                 "n": index, "ok": index % 2 == 0}
    return (json.dumps(entry, separators=(",", ":")) + "\n").encode()


def tail_input(fmt, logs):
    options = {"name": "tail", "tag": "kube.*", "path": [os.path.join(logs, "*.log")],
               "read_from_head": True}
    if fmt != "none":
        options["parser"] = {"regex": "access", "cri+redact": "cri"}.get(fmt, fmt)
    return options


def run(fmt, args):
    owner = harness.Cleanups()
    try:
        tmp = harness.TempDir(owner)
        logs = tmp.join("logs")
        os.makedirs(logs)
        pool = [convert(line, fmt, i) for i, line in enumerate(bench_tail.line_pool())]
        nbytes, nlines = bench_tail.write_files(logs, args.files, args.size_mib * MIB, pool)
        port = harness.free_port()
        config = harness.pipeline_config([tail_input(fmt, logs)],
                                         [{"name": "null", "match": "*"}], port=port,
                                         flush_interval="1s", grace="30s",
                                         state_dir=tmp.join("state"), log_level="warn")
        config["parsers"] = [{"name": "access", "format": "regex", "regex": REGEX,
                              "time_key": "time"}]
        if fmt == "cri+redact":
            config["pipeline"]["filters"] = [{"name": "redact", "match": "*"}]
        started = time.monotonic()
        skiff = harness.Skiff(owner, tmp, harness.write_config(tmp, config))
        http = harness.SkiffHttp(skiff, port)
        http.wait_up(timeout=30)
        http.wait_value("skiff_output_records_total", lambda v: v >= nlines, args.timeout,
                        f"{nlines} records delivered", **NULL)
        wall = time.monotonic() - started
        cpu = harness.proc_cpu_seconds(skiff.pid)
        peak = harness.proc_status(skiff.pid)["VmHWM"]
        samples = http.metrics()
        bench_tail.stop(skiff)
        failures = sum(v for (name, labels), v in samples.items()
                       if name == "skiff_parser_failures_total" and ("reason", "format") in labels)
        print(f"{fmt:10s} {nbytes / MIB / wall:8.1f} MiB/s {nlines / wall:11,.0f} lines/s "
              f"{cpu / (nbytes / GIB):6.2f} CPU s/GiB {peak / MIB:6.1f} MiB peak RSS "
              f"({nbytes / MIB:.0f} MiB, {nlines:,} lines, {wall:.2f}s wall, "
              f"{failures:.0f} parse failures; lines read "
              f"{harness.metric(samples, 'skiff_tail_lines_read_total', **TAIL):,.0f})",
              flush=True)
    finally:
        owner.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("binary", nargs="?", default="build-release/skiff")
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--files", type=int, default=16)
    parser.add_argument("--only", default="none,cri,docker,json,regex")
    parser.add_argument("--timeout", type=float, default=600)
    args = parser.parse_args()
    os.environ["SKIFF_BIN"] = os.path.abspath(args.binary)
    for fmt in args.only.split(","):
        run(fmt, args)


if __name__ == "__main__":
    main()
