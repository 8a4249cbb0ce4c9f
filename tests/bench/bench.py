#!/usr/bin/env python3
"""Throughput benchmark of skiff's core: dummy -> null and dummy -> file.

    python3 tests/bench/bench.py [path/to/skiff] [--records N] [--only null|file]

For each case it runs skiff with a dummy input (rate 0, count N), polls
/metrics until skiff_output_records_total reaches N, then reads skiff's CPU
time (utime + stime from /proc/PID/stat), its peak RSS (VmHWM) and the wall
time since start, stops it with SIGTERM and prints records/s, MiB/s of
output, CPU seconds per GiB of output and peak RSS. Run it against a release
build (see README.md); a sanitizer build measures the sanitizer.
"""

import argparse
import os
import signal
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
import harness  # noqa: E402  (the integration tests' helpers)

RECORD = {"message": "GET /api/v1/orders/12345 HTTP/1.1 200 512 0.004",
          "level": "info", "service": "checkout", "pod": "checkout-7d9f8b6c5d-x2x4z"}
MIB = 1024 * 1024
GIB = 1024 * MIB


def output_bytes(case, samples, out_path):
    """Bytes the output produced: the file's size, or the output's counter."""
    if out_path:
        return os.path.getsize(out_path)
    return harness.metric(samples, "skiff_output_bytes_total", instance=f"{case}.0")


def run_case(case, records, timeout):
    """Runs one case to completion; returns a dict of figures."""
    owner = harness.Cleanups()
    try:
        tmp = harness.TempDir(owner)
        out_path = tmp.join("out.log") if case == "file" else None
        output = {"name": case, "match": "bench.*"}
        if out_path:
            output["path"] = out_path
        port = harness.free_port()
        config = harness.pipeline_config(
            [{"name": "dummy", "tag": "bench.x", "rate": 0, "count": records,
              "record": RECORD}],
            [output], port=port, flush_interval="100ms", grace="30s", log_level="warn")
        started = time.monotonic()
        skiff = harness.Skiff(owner, tmp, harness.write_config(tmp, config))
        http = harness.SkiffHttp(skiff, port)
        http.wait_up(timeout=30)
        http.wait_value("skiff_output_records_total", lambda v: v >= records, timeout,
                        f"{records} records delivered", instance=f"{case}.0")
        wall = time.monotonic() - started
        cpu = harness.proc_cpu_seconds(skiff.pid)
        mem = harness.proc_status(skiff.pid)
        nbytes = output_bytes(case, http.metrics(), out_path)
        rc = skiff.stop(signal.SIGTERM, timeout=60)
        if rc != 0:
            raise RuntimeError(f"skiff exited {rc}:\n{harness.tail(skiff.stderr_text())}")
        return {"case": f"dummy -> {case}", "records": records, "wall": wall, "cpu": cpu,
                "bytes": nbytes, "peak_rss": mem["VmHWM"]}
    finally:
        owner.close()


def report(r):
    """One line of figures for a case."""
    return (f"{r['case']:<15} {r['records'] / r['wall']:>12,.0f} records/s "
            f"{r['bytes'] / MIB / r['wall']:>9.1f} MiB/s "
            f"{r['cpu'] / (r['bytes'] / GIB):>8.2f} CPU s/GiB "
            f"{r['peak_rss'] / MIB:>8.1f} MiB peak RSS "
            f"({r['records']:,} records, {r['bytes'] / MIB:.1f} MiB, "
            f"{r['wall']:.2f} s wall, {r['cpu']:.2f} s CPU)")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("binary", nargs="?", default="build/skiff")
    parser.add_argument("--records", type=int, default=2_000_000)
    parser.add_argument("--only", choices=["null", "file"])
    parser.add_argument("--timeout", type=float, default=600.0,
                        help="seconds to wait for each case to deliver every record")
    args = parser.parse_args()
    if not os.access(args.binary, os.X_OK):
        parser.error(f"{args.binary} is not an executable (build with "
                     f"`meson setup build --buildtype=release && meson compile -C build`)")
    os.environ["SKIFF_BIN"] = os.path.abspath(args.binary)

    cases = [args.only] if args.only else ["null", "file"]
    for case in cases:
        print(report(run_case(case, args.records, args.timeout)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
