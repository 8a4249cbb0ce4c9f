#!/usr/bin/env python3
"""Benchmark of the tail input in a rotation storm: files that live only
milliseconds under a matched name.

    python3 tests/bench/bench_tail_storm.py [path/to/skiff] [--creations N]
        [--rounds N] [--lines N] [--only storm|pickup]

Two figures:

storm   for each watcher (inotify; poll every 20ms) and each gap G (0, 1 ms,
        10 ms, 50 ms): `--rounds` times, write `--lines` numbered lines to
        a.log, wait G, rename it to a.log.N (no longer matched); then a last
        a.log stays. Prints the lines written, delivered (once each) and lost,
        and how long delivery took. With poll, a file is only guaranteed to be
        found when it stays under its name longer than one poll interval: the
        G = 0 and 1 ms rows show what is lost below that.
pickup  `--creations` times (1,000 by default): create a.log with one line,
        then watch /proc/PID/fd until skiff has it open; rename it away and
        go on. Prints the time from creation to open: p50, p99 and max (inotify
        only; with poll it is up to one poll interval by construction).

skiff writes to a file output in a temporary folder; rotate_wait is 1s. Run it
against a release build (see README.md); a sanitizer build measures the
sanitizer.
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
import harness  # noqa: E402  (the integration tests' helpers)
import tail_writer as tw  # noqa: E402


class Run:
    """skiff tailing folder/*.log into folder/out.jsonl."""

    def __init__(self, binary, folder, **options):
        self.folder = folder
        self.logs = os.path.join(folder, "logs")
        os.makedirs(self.logs)
        self.out = os.path.join(folder, "out.jsonl")
        self.port = harness.free_port()
        tail = tw.tail_input(os.path.join(self.logs, "*.log"), rotate_wait="1s", **options)
        config = harness.pipeline_config(
            [tail], [{"name": "file", "match": "*", "path": self.out}], port=self.port,
            state_dir=os.path.join(folder, "state"), flush_interval="100ms", log_level="warn")
        path = os.path.join(folder, "skiff.yaml")
        with open(path, "w", encoding="utf-8") as f:
            f.write(harness.to_yaml(config))
        self.stderr = open(os.path.join(folder, "stderr.log"), "wb")
        self.proc = subprocess.Popen([binary, "-c", path], stdout=subprocess.DEVNULL,
                                     stderr=self.stderr)
        harness.wait_for(lambda: self.ready(), 15, "/readyz")

    def ready(self):
        try:
            return harness.http_get(self.port, "/readyz", timeout=1.0)[0] == 200
        except OSError:
            return False

    def stop(self):
        self.proc.terminate()
        self.proc.wait(15)
        self.stderr.close()


def storm(run, gap, rounds, lines):
    path = os.path.join(run.logs, "a.log")
    seq = 0
    for r in range(rounds):
        with open(path, "ab") as f:
            f.write(tw.make_lines("a", seq, lines, gen=r))
        seq += lines
        if gap:
            time.sleep(gap)
        os.rename(path, f"{path}.{r + 1}")
    with open(path, "ab") as f:
        f.write(tw.make_lines("a", seq, lines, gen=rounds))
    return seq + lines


def delivered_seqs(out):
    try:
        return set(tw.Delivered.from_file(out).seqs("a"))
    except FileNotFoundError:
        return set()


def run_storm(binary, watcher, gap, rounds, lines):
    options = {"watcher": "poll", "poll_interval": "20ms"} if watcher == "poll" else {}
    with tempfile.TemporaryDirectory(prefix="skiff-storm-") as folder:
        run = Run(binary, folder, **options)
        start = time.monotonic()
        total = storm(run, gap, rounds, lines)
        deadline = time.monotonic() + 10
        got = set()
        while time.monotonic() < deadline:
            got = delivered_seqs(run.out)
            if len(got) >= total:
                break
            time.sleep(0.1)
        took = time.monotonic() - start
        run.stop()
    return total, len(got & set(range(total))), took


def opened(pid, path):
    fd_dir = f"/proc/{pid}/fd"
    for fd in os.listdir(fd_dir):
        try:
            if os.readlink(os.path.join(fd_dir, fd)) == path:
                return True
        except OSError:
            pass
    return False


def run_pickup(binary, creations):
    latencies = []
    missed = 0
    with tempfile.TemporaryDirectory(prefix="skiff-pickup-") as folder:
        run = Run(binary, folder)
        path = os.path.join(run.logs, "a.log")
        for i in range(creations):
            t0 = time.monotonic()
            with open(path, "wb") as f:
                f.write(tw.make_lines("a", i, 1))
            while not opened(run.proc.pid, path):
                if time.monotonic() - t0 > 2:
                    missed += 1
                    break
            else:
                latencies.append(time.monotonic() - t0)
            os.rename(path, f"{path}.{i}")
        run.stop()
    return latencies, missed


def percentile(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p / 100))]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("skiff", nargs="?", default="build/skiff")
    parser.add_argument("--creations", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--lines", type=int, default=3000)
    parser.add_argument("--only", choices=("storm", "pickup"))
    args = parser.parse_args()
    binary = os.path.abspath(args.skiff)

    if args.only != "pickup":
        print(f"storm: {args.rounds} files of {args.lines} lines, each renamed away after G, "
              f"then one more")
        print(f"{'watcher':<8} {'G':>6} {'written':>8} {'delivered':>10} {'lost':>6} {'took':>7}")
        for watcher in ("inotify", "poll"):
            for gap in (0.0, 0.001, 0.010, 0.050):
                total, got, took = run_storm(binary, watcher, gap, args.rounds, args.lines)
                print(f"{watcher:<8} {gap * 1000:>4.0f}ms {total:>8} {got:>10} {total - got:>6} "
                      f"{took:>6.2f}s", flush=True)
    if args.only != "storm":
        latencies, missed = run_pickup(binary, args.creations)
        ms = [x * 1000 for x in latencies]
        print(f"pickup (inotify): {len(ms)} of {args.creations} creations opened "
              f"({missed} not within 2s); time from creation to open: "
              f"p50 {percentile(ms, 50):.2f}ms, p99 {percentile(ms, 99):.2f}ms, "
              f"max {max(ms):.2f}ms")


if __name__ == "__main__":
    main()
