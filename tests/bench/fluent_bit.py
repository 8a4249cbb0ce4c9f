"""Fluent Bit run beside skiff in bench_e2e.py --compare-fluent-bit: a
classic-format config equivalent to bench_e2e.py's skiff config, and the
process started with it.

Build a release Fluent Bit (jemalloc) with
`sh ../shared/tools/build-fluent-bit.sh GIT_DIR` (the binary lands in
/tmp/fluent-bit-v5.1.1/build/bin/fluent-bit). The option names below are
Fluent Bit's documented ones (docs.fluentbit.io: pipeline/inputs/tail,
pipeline/filters/kubernetes, pipeline/outputs/elasticsearch,
administration/buffering-and-storage).
"""

import os
import subprocess
import time
import urllib.request

HOST = "127.0.0.1"


def kube_tag_prefix(folder):
    """The tail input's tag for `folder`/x.log is kube.<path, '/' as '.'>
    (plugins/in_tail/tail_file.c, tag expansion); the kubernetes filter
    strips this prefix before reading pod, namespace and container from the
    file name."""
    return "kube." + folder.strip("/").replace("/", ".") + "."


def config_text(folder, state, k8s_url, token_file, sink_url, http_port, gzip, storage):
    """The equivalent of bench_e2e.skiff_config: tail with the cri multiline
    parser, a checkpoint database, an 8 MB memory limit (skiff's
    default buffer_limit), the kubernetes filter on the same API server, the es output
    to the same kind of sink with ids (skiff's `id: origin`), one-second
    flush, retries without limit."""
    sink_host, sink_port = sink_url.rsplit("/", 1)[1].split(":")
    service = [
        "[SERVICE]",
        "    Flush        1",
        "    Grace        5",
        "    Log_Level    warn",
        "    HTTP_Server  On",
        f"    HTTP_Listen  {HOST}",
        f"    HTTP_Port    {http_port}",
    ]
    if storage == "filesystem":
        service += [f"    storage.path {os.path.join(state, 'storage')}",
                    "    storage.sync normal"]
    tail = [
        "[INPUT]",
        "    Name              tail",
        "    Tag               kube.*",
        f"    Path              {os.path.join(folder, '*.log')}",
        "    multiline.parser  cri",
        f"    DB                {os.path.join(state, 'tail.db')}",
        "    Read_from_Head    On",
        "    Refresh_Interval  1",
        "    Buffer_Chunk_Size 32k",
        "    Buffer_Max_Size   64k",
        "    Mem_Buf_Limit     8MB",
        "    Skip_Long_Lines   On",
    ]
    if storage == "filesystem":
        tail.append("    storage.type      filesystem")
    kubernetes = [
        "[FILTER]",
        "    Name             kubernetes",
        "    Match            kube.*",
        f"    Kube_URL         {k8s_url}",
        f"    Kube_Token_File  {token_file}",
        f"    Kube_Tag_Prefix  {kube_tag_prefix(folder)}",
        "    tls.verify       Off",
    ]
    es = [
        "[OUTPUT]",
        "    Name               es",
        "    Match              kube.*",
        f"    Host               {sink_host}",
        f"    Port               {sink_port}",
        "    Logstash_Format    On",
        "    Logstash_Prefix    logs",
        "    Suppress_Type_Name On",
        "    Generate_ID        On",
        "    Retry_Limit        False",
    ]
    if gzip:
        es.append("    Compress           gzip")
    return "\n".join(service + [""] + tail + [""] + kubernetes + [""] + es) + "\n"


class FluentBit:
    """A running Fluent Bit; stopped (SIGTERM, then SIGKILL) by the owner's
    cleanups."""

    def __init__(self, owner, binary, folder, state, config, http_port):
        os.makedirs(state, exist_ok=True)
        path = os.path.join(state, "fluent-bit.conf")
        with open(path, "w") as f:
            f.write(config)
        self.stderr_path = os.path.join(state, "fluent-bit.log")
        self.http_port = http_port
        with open(self.stderr_path, "wb") as log:
            self.proc = subprocess.Popen([binary, "-c", path], stdout=log, stderr=log)
        self.pid = self.proc.pid
        owner.addCleanup(self.stop)

    def wait_up(self, timeout=30):
        """Until its HTTP server answers (inputs and filters are initialized
        before it listens)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"fluent-bit exited {self.proc.returncode}:\n{self.stderr_text()}")
            try:
                with urllib.request.urlopen(f"http://{HOST}:{self.http_port}/", timeout=1):
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"fluent-bit did not answer in {timeout}s:\n{self.stderr_text()}")

    def alive(self):
        return self.proc.poll() is None

    def stderr_text(self):
        with open(self.stderr_path, errors="replace") as f:
            return f.read()[-3000:]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def version(binary):
    out = subprocess.run([binary, "--version"], capture_output=True, text=True).stdout
    return out.splitlines()[0] if out else "fluent-bit (version unknown)"
