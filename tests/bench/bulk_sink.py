"""The benchmarks' Elasticsearch stand-in: bulk_sink.c compiled with cc and
run on a free port of 127.0.0.1 (see the C file for what it answers and
measures). Used by bench_e2e.py and bench_es.py."""

import json
import os
import subprocess
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))


class BulkSink:
    """Compiles bulk_sink.c into `folder` and starts it; stopped by the
    owner's cleanups (harness.Cleanups or a TestCase)."""

    def __init__(self, owner, folder):
        self.binary = os.path.join(folder, "bulk_sink")
        subprocess.run(["cc", "-O2", "-o", self.binary, os.path.join(HERE, "bulk_sink.c"),
                        "-lz", "-lpthread"], check=True)
        self.proc = subprocess.Popen([self.binary], stdout=subprocess.PIPE)
        owner.addCleanup(self.proc.wait)
        owner.addCleanup(self.proc.kill)
        self.port = int(self.proc.stdout.readline())
        self.url = f"http://127.0.0.1:{self.port}"

    def capacity(self, seconds=2):
        """[{case: plain|gzip, docs_per_s, mib_per_s}] from local clients."""
        out = subprocess.run([self.binary, "--selftest", str(seconds)], capture_output=True,
                             text=True, check=True).stdout
        return [json.loads(line) for line in out.splitlines()]

    def stats(self):
        """requests, docs, wire_bytes, body_bytes, latency_ms {p50, p99, max}."""
        with urllib.request.urlopen(f"{self.url}/_stats", timeout=5) as r:
            return json.loads(r.read())

    def reset(self):
        request = urllib.request.Request(f"{self.url}/_stats/reset", data=b"", method="POST")
        urllib.request.urlopen(request, timeout=5).read()
