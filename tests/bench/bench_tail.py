#!/usr/bin/env python3
"""Benchmark of skiff's tail input: tail -> null.

    python3 tests/bench/bench_tail.py [path/to/skiff] [--size-mib N] [--files N]
        [--only read|follow] [--rate LINES_PER_S] [--seconds S]
        [--follow-files N] [--flush-interval D] [--buffer-limit SIZE]
        [--storage memory|filesystem] [--sync normal|full]

Two cases:

read    pre-written CRI-format files (`2024-05-01T10:15:00.123456789Z stdout F
        <message>`, lines of 100..1,000 bytes; 1 GiB in 64 files by default),
        read_from_head true. Polls /metrics until skiff_tail_bytes_read_total
        reaches the total and skiff_output_records_total (null) the number of
        lines; prints MiB/s, lines/s, CPU seconds per GiB and peak RSS (VmHWM).
follow  a writer appends CRI lines at a fixed rate (50,000 lines/s for 10 s by
        default) round-robin into 8 files (--follow-files) that skiff follows
        (inotify);
        prints skiff's CPU use while following, the read lag (lines written
        but not yet read by skiff, sampled every 100 ms, also as time at the
        write rate) and the delivery lag (written but not yet taken by the
        null output: includes the wait for flush_interval), the time to catch
        up after the writer stops, and peak RSS.

Run it against a release build (see README.md); a sanitizer build measures the
sanitizer. The files are written through the page cache, so the read case
measures skiff, not the disk. They go to a temporary folder under $TMPDIR
(default /tmp), removed at the end: set TMPDIR to a folder with room.
"""

import argparse
import os
import random
import signal
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
import harness  # noqa: E402  (the integration tests' helpers)

MIB = 1024 * 1024
GIB = 1024 * MIB
TAIL = {"instance": "tail.0"}
NULL = {"instance": "null.0"}


_WORDS = ("GET POST PUT /api/v1/orders /api/v1/users /healthz 200 201 404 500 user_id "
          "order_id latency_ms=12 trace=4bf92f3577b34da6a3ce929d0e0e4736 level=info "
          "level=warn msg=\"request served\" service=checkout pod=checkout-7d9f8b6c5d-x2x4z "
          "{\"key\":\"value\",\"n\":42} connection reset by peer retrying").split()


def line_pool(count=4096, seed=1, max_size=1000):
    """`count` CRI lines of 100..max_size bytes (newline included), as bytes."""
    rng = random.Random(seed)
    lines = []
    for i in range(count):
        size = rng.randint(100, max_size)
        head = f"2024-05-01T10:15:{i % 60:02d}.{rng.randrange(10**9):09d}Z " \
               f"{'stdout' if i % 5 else 'stderr'} F "
        words = []
        length = len(head) + 1
        while length < size:
            word = rng.choice(_WORDS)
            words.append(word)
            length += len(word) + 1
        text = (head + " ".join(words))[:size - 1]
        lines.append((text + "\n").encode())
    return lines


def write_files(folder, files, total_bytes, pool):
    """Writes `files` files of about total_bytes/files each (up to one
    ~110 KB block more) from blocks of pooled lines; returns (bytes, lines)
    written."""
    rng = random.Random(2)
    blocks = []
    for _ in range(64):
        picked = [pool[rng.randrange(len(pool))] for _ in range(200)]
        blocks.append((b"".join(picked), len(picked)))
    per_file = total_bytes // files
    nbytes = nlines = 0
    for i in range(files):
        written = 0
        with open(os.path.join(folder, f"pod-{i:03d}_ns_app-{i:03d}.log"), "wb") as f:
            while written < per_file:
                data, count = blocks[rng.randrange(len(blocks))]
                f.write(data)
                written += len(data)
                nlines += count
        nbytes += written
    return nbytes, nlines


def start_skiff(owner, tmp, logs, read_from_head, args):
    port = harness.free_port()
    config = harness.pipeline_config(
        [{"name": "tail", "tag": "kube.*", "path": [os.path.join(logs, "*.log")],
          "read_from_head": read_from_head, "refresh_interval": "1s",
          "buffer_limit": args.buffer_limit}],
        [{"name": "null", "match": "*"}], port=port, flush_interval=args.flush_interval,
        grace="30s",
        state_dir=tmp.join("state"), log_level="warn")
    config["service"]["storage"] = {"type": args.storage, "sync": args.sync}
    started = time.monotonic()
    skiff = harness.Skiff(owner, tmp, harness.write_config(tmp, config))
    http = harness.SkiffHttp(skiff, port)
    http.wait_up(timeout=30)
    return skiff, http, started


def stop(skiff):
    rc = skiff.stop(signal.SIGTERM, timeout=60)
    if rc != 0:
        raise RuntimeError(f"skiff exited {rc}:\n{harness.tail(skiff.stderr_text())}")


def case_read(args):
    owner = harness.Cleanups()
    try:
        tmp = harness.TempDir(owner)
        logs = tmp.join("logs")
        os.makedirs(logs)
        print(f"writing {args.size_mib} MiB in {args.files} files...", end=" ", flush=True)
        t = time.monotonic()
        nbytes, nlines = write_files(logs, args.files, args.size_mib * MIB, line_pool())
        print(f"{nbytes / MIB:.0f} MiB, {nlines:,} lines in {time.monotonic() - t:.1f}s",
              flush=True)
        skiff, http, started = start_skiff(owner, tmp, logs, True, args)
        http.wait_value("skiff_tail_bytes_read_total", lambda v: v >= nbytes, args.timeout,
                        f"{nbytes} bytes read", **TAIL)
        read_wall = time.monotonic() - started
        http.wait_value("skiff_output_records_total", lambda v: v >= nlines, args.timeout,
                        f"{nlines} records delivered", **NULL)
        wall = time.monotonic() - started
        cpu = harness.proc_cpu_seconds(skiff.pid)
        mem = harness.proc_status(skiff.pid)
        samples = http.metrics()
        stop(skiff)
        read = harness.metric(samples, "skiff_tail_lines_read_total", **TAIL)
        pauses = harness.metric(samples, "skiff_input_pauses_total", **TAIL)
        if read != nlines:
            print(f"WARNING: skiff_tail_lines_read_total {read:.0f} != {nlines} lines written")
        print(f"read    tail -> null {nbytes / MIB / wall:9.1f} MiB/s {nlines / wall:12,.0f} "
              f"lines/s {cpu / (nbytes / GIB):7.2f} CPU s/GiB {mem['VmHWM'] / MIB:7.1f} MiB "
              f"peak RSS ({nbytes / MIB:.0f} MiB, {nlines:,} lines, {args.files} files; "
              f"{wall:.2f}s wall to the last delivery, {read_wall:.2f}s to the last byte read, "
              f"{cpu:.2f}s CPU; input paused {pauses:.0f} times)", flush=True)
    finally:
        owner.close()


class RateWriter(threading.Thread):
    """Appends pooled CRI lines round-robin into files at `rate` lines/s, one
    write per file every 10 ms."""

    def __init__(self, paths, rate, seconds, pool):
        super().__init__(daemon=True)
        self.paths, self.rate, self.seconds, self.pool = paths, rate, seconds, pool
        self.lines = 0
        self.bytes = 0
        self.late = 0.0  # worst lag of the writer behind its schedule, seconds
        self.error = None

    def run(self):
        try:
            fds = [os.open(p, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
                   for p in self.paths]
            pool, n = self.pool, len(self.pool)
            t0 = time.monotonic()
            while True:
                now = time.monotonic() - t0
                if now >= self.seconds:
                    break
                due = int(now * self.rate) - self.lines
                if due > 0:
                    per = due // len(fds) + 1
                    for fd in fds:
                        k = min(per, due)
                        if k <= 0:
                            break
                        data = b"".join(pool[(self.lines + j) % n] for j in range(k))
                        os.write(fd, data)
                        self.lines += k
                        self.bytes += len(data)
                        due -= k
                    self.late = max(self.late, time.monotonic() - t0 - now)
                time.sleep(0.01)
            for fd in fds:
                os.close(fd)
        except BaseException as e:
            self.error = e


def case_follow(args):
    owner = harness.Cleanups()
    try:
        tmp = harness.TempDir(owner)
        logs = tmp.join("follow")
        os.makedirs(logs)
        paths = [os.path.join(logs, f"pod-{i:03d}_ns_app-{i:03d}.log")
                 for i in range(args.follow_files)]
        for p in paths:
            open(p, "wb").close()
        pool = line_pool(seed=3)
        skiff, http, _ = start_skiff(owner, tmp, logs, False, args)
        http.wait_value("skiff_tail_files_watched", lambda v: v == len(paths), 30,
                        "files watched", **TAIL)
        writer = RateWriter(paths, args.rate, args.seconds, pool)
        cpu0 = harness.proc_cpu_seconds(skiff.pid)
        t0 = time.monotonic()
        writer.start()
        lags, dlags = [], []
        while writer.is_alive():
            written = writer.lines
            samples = http.metrics()
            read = harness.metric(samples, "skiff_tail_lines_read_total", **TAIL)
            delivered = harness.metric(samples, "skiff_output_records_total", **NULL)
            lags.append(max(0.0, written - read))
            dlags.append(max(0.0, written - delivered))
            time.sleep(0.1)
        written_end = time.monotonic()
        if writer.error:
            raise writer.error
        http.wait_value("skiff_tail_lines_read_total", lambda v: v >= writer.lines, 120,
                        f"{writer.lines} lines read", **TAIL)
        caught_up = time.monotonic() - written_end
        http.wait_value("skiff_output_records_total", lambda v: v >= writer.lines, 120,
                        f"{writer.lines} records delivered", **NULL)
        cpu = harness.proc_cpu_seconds(skiff.pid) - cpu0
        elapsed = written_end - t0
        mem = harness.proc_status(skiff.pid)
        pauses = harness.metric(http.metrics(), "skiff_input_pauses_total", **TAIL)
        stop(skiff)
        actual_rate = writer.lines / elapsed
        def ms(lines):
            return lines / actual_rate * 1000

        def lag(values):
            mean = sum(values) / len(values) if values else 0.0
            top = max(values or [0])
            return (f"mean {mean:,.0f} lines ({ms(mean):.0f} ms), "
                    f"max {top:,.0f} ({ms(top):.0f} ms)")

        print(f"follow  tail -> null {actual_rate:,.0f} lines/s "
              f"({writer.bytes / MIB / elapsed:.1f} MiB/s) into {len(paths)} files for "
              f"{elapsed:.1f}s: skiff CPU {100 * cpu / elapsed:.1f}% of a core "
              f"({cpu / (writer.bytes / GIB):.2f} CPU s/GiB); "
              f"read lag {lag(lags)}; delivery lag {lag(dlags)}; "
              f"read caught up {caught_up * 1000:.0f} ms after the writer stopped; "
              f"input paused {pauses:.0f} times; "
              f"{mem['VmHWM'] / MIB:.1f} MiB peak RSS; writer at worst "
              f"{writer.late * 1000:.0f} ms behind its schedule", flush=True)
    finally:
        owner.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("binary", nargs="?", default="build-release/skiff")
    parser.add_argument("--size-mib", type=int, default=1024,
                        help="total size of the pre-written files (default 1024)")
    parser.add_argument("--files", type=int, default=64)
    parser.add_argument("--only", choices=["read", "follow"])
    parser.add_argument("--rate", type=int, default=50_000, help="follow: lines/s")
    parser.add_argument("--seconds", type=float, default=10.0, help="follow: seconds")
    parser.add_argument("--follow-files", type=int, default=8, help="follow: files")
    parser.add_argument("--flush-interval", default="100ms",
                        help="service.flush_interval (default 100ms, as bench.py)")
    parser.add_argument("--buffer-limit", default="8MiB",
                        help="the tail input's buffer_limit (default 8MiB, skiff's default)")
    parser.add_argument("--storage", choices=["memory", "filesystem"], default="memory",
                        help="service.storage.type (filesystem: every chunk is also written "
                             "under the temporary state folder)")
    parser.add_argument("--sync", choices=["normal", "full"], default="normal",
                        help="service.storage.sync, with --storage filesystem")
    parser.add_argument("--timeout", type=float, default=600.0)
    args = parser.parse_args()
    if not os.access(args.binary, os.X_OK):
        parser.error(f"{args.binary} is not an executable (build with `meson setup "
                     f"build-release --buildtype=release -Dtests=false && "
                     f"meson compile -C build-release`)")
    os.environ["SKIFF_BIN"] = os.path.abspath(args.binary)
    if args.only in (None, "read"):
        case_read(args)
    if args.only in (None, "follow"):
        case_follow(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
