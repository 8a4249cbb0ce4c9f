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

The sink (in this file) reads each request whole, inflates gzip bodies with
zlib, counts the documents and answers a canned success item per document; it
runs in threads of this Python process. Its own capacity is measured first
(fed by local clients with a pre-built body) and printed, so that a figure
near it says the sink, not skiff, was the limit. Run it against a release
build.
"""

import argparse
import gzip
import os
import socket
import socketserver
import sys
import threading
import time
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_tail  # noqa: E402
from bench_tail import GIB, MIB, harness  # noqa: E402

ES = {"instance": "es"}
ITEM = b'{"index":{"_index":"bench","status":201}}'


class Sink(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), SinkHandler)
        self.lock = threading.Lock()
        self.documents = 0
        self.bytes = 0
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)
        self.thread.start()

    def count(self, documents, nbytes):
        with self.lock:
            self.documents += documents
            self.bytes += nbytes

    def stop(self):
        self.shutdown()
        self.server_close()


class SinkHandler(socketserver.StreamRequestHandler):
    rbufsize = 1 << 20

    def handle(self):
        while True:
            length, zipped = None, False
            line = self.rfile.readline()
            if not line:
                return
            while line not in (b"\r\n", b""):
                name, _, value = line.partition(b":")
                name = name.strip().lower()
                if name == b"content-length":
                    length = int(value)
                elif name == b"content-encoding":
                    zipped = value.strip() == b"gzip"
                line = self.rfile.readline()
            body = self.rfile.read(length or 0)
            if zipped:
                body = zlib.decompress(body, 31)
            documents = body.count(b"\n") // 2
            self.server.count(documents, len(body))
            answer = (b'{"took":1,"errors":false,"items":[' + b",".join([ITEM] * documents) +
                      b"]}")
            self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                             b"Content-Length: %d\r\n\r\n" % len(answer) + answer)


def sink_capacity(seconds=3.0, clients=4):
    """Documents/s and MiB/s (inflated) the sink answers, fed gzip bodies of
    2,000 documents of ~500 bytes by local clients."""
    sink = Sink()
    doc = b'{"index":{"_index":"bench","_id":"x"}}\n{"@timestamp":"2026-01-01T00:00:00Z","log":"' \
        + b"x" * 400 + b'"}\n'
    body = gzip.compress(doc * 2000, 1)
    request = (b"POST /_bulk HTTP/1.1\r\nHost: x\r\nContent-Encoding: gzip\r\n"
               b"Content-Length: %d\r\n\r\n" % len(body)) + body
    deadline = time.monotonic() + seconds

    def client():
        with socket.create_connection(sink.server_address) as s:
            f = s.makefile("rb")
            while time.monotonic() < deadline:
                s.sendall(request)
                length = 0
                line = f.readline()
                while line != b"\r\n":
                    if line.lower().startswith(b"content-length"):
                        length = int(line.split(b":")[1])
                    line = f.readline()
                f.read(length)

    started = time.monotonic()
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.monotonic() - started
    sink.stop()
    return sink.documents / wall, sink.bytes / MIB / wall


def run(case, args, logs, nbytes, nlines):
    owner = harness.Cleanups()
    sink = None
    try:
        tmp = harness.TempDir(owner)
        port = harness.free_port()
        if case == "null":
            output = {"name": "null", "alias": "es", "match": "*"}
        else:
            sink = Sink()
            output = {"name": "elasticsearch", "alias": "es", "match": "*",
                      "hosts": [f"http://127.0.0.1:{sink.server_address[1]}"],
                      "compress": case}
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
        if sink:
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
        if sink:
            sink.stop()
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
    docs, mib = sink_capacity()
    print(f"sink capacity: {docs:,.0f} docs/s, {mib:.1f} MiB/s of NDJSON (gzip bodies, "
          f"4 local clients)", flush=True)
    owner = harness.Cleanups()
    try:
        tmp = harness.TempDir(owner)
        logs = tmp.join("logs")
        os.makedirs(logs)
        nbytes, nlines = bench_tail.write_files(logs, args.files, args.size_mib * MIB,
                                                bench_tail.line_pool())
        for case in args.only.split(","):
            run(case, args, logs, nbytes, nlines)
    finally:
        owner.close()


if __name__ == "__main__":
    main()
