"""Helpers for skiff's integration tests: run the real binary as a process,
talk to its HTTP endpoints, read its metrics and its memory use.

Python 3 standard library only. Every wait is bounded, every socket binds to
127.0.0.1, and every skiff run is checked for sanitizer reports when it ends.

The binary comes from the environment variable SKIFF_BIN (run.py sets it from
its first argument).
"""

import atexit
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import unittest
import urllib.error
import urllib.request

# The same settings meson's test() passes, for runs outside meson.
DEFAULT_SANITIZER_ENV = {
    "ASAN_OPTIONS": "detect_leaks=1:abort_on_error=0:exitcode=23",
    "UBSAN_OPTIONS": "halt_on_error=1:print_stacktrace=1",
}

# Text in stderr that means a sanitizer found a bug.
SANITIZER_MARKERS = ("runtime error:", "ERROR: AddressSanitizer", "LeakSanitizer")

HOST = "127.0.0.1"


def skiff_bin():
    """The path of the skiff binary under test (env SKIFF_BIN)."""
    path = os.environ.get("SKIFF_BIN")
    if not path:
        raise unittest.SkipTest("SKIFF_BIN is not set (run through run.py)")
    return os.path.abspath(path)


def skiff_env(extra=None, unset=()):
    """The environment for a skiff process: ours, sanitizer defaults, `extra`,
    without the variables named in `unset`."""
    env = {k: v for k, v in os.environ.items() if k not in unset}
    for key, value in DEFAULT_SANITIZER_ENV.items():
        env.setdefault(key, value)
    if extra:
        env.update(extra)
    return env


def sanitizer_report(stderr_text):
    """The first line of a sanitizer report in `stderr_text`, or None."""
    for line in stderr_text.splitlines():
        if any(marker in line for marker in SANITIZER_MARKERS):
            return line
    return None


def assert_no_sanitizer_report(stderr_text, what="skiff"):
    """Fails if a sanitizer wrote a report to `stderr_text`."""
    line = sanitizer_report(stderr_text)
    if line is not None:
        raise AssertionError(f"{what}: sanitizer report: {line}\n--- stderr ---\n"
                             f"{tail(stderr_text)}")


def tail(text, lines=40):
    """The last `lines` lines of `text`, for failure messages."""
    return "\n".join(text.splitlines()[-lines:])


# ---- temporary directories and configs ----

class Cleanups:
    """Stands in for a unittest.TestCase outside the tests (the benchmarks):
    collects cleanups and runs them at close()."""

    def __init__(self):
        self._cleanups = []

    def addCleanup(self, fn, *args):
        self._cleanups.append((fn, args))

    def close(self):
        while self._cleanups:
            fn, args = self._cleanups.pop()
            fn(*args)


class TempDir:
    """A temporary directory removed at the end of the test that made it."""

    def __init__(self, test):
        self._tmp = tempfile.TemporaryDirectory(prefix="skiff-it-")
        self.path = self._tmp.name
        test.addCleanup(self._tmp.cleanup)

    def join(self, *parts):
        return os.path.join(self.path, *parts)


def yaml_scalar(value):
    """A Python value as flow-style YAML: numbers, booleans and null plain,
    strings double-quoted (JSON escapes are valid YAML escapes), dicts and
    lists in braces and brackets."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        # YAML forbids raw DEL and C1 controls that JSON leaves unescaped.
        return re.sub(r"[\x7f-\x9f]", lambda m: f"\\u{ord(m.group()):04x}",
                      json.dumps(value, ensure_ascii=False))
    if isinstance(value, dict):
        items = (f"{yaml_scalar(k)}: {yaml_scalar(v)}" for k, v in value.items())
        return "{" + ", ".join(items) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(yaml_scalar(v) for v in value) + "]"
    raise TypeError(f"cannot write {value!r} as YAML")


def to_yaml(value, indent=0):
    """Block-style YAML for nested dicts and lists of dicts (configs only)."""
    pad = " " * indent
    lines = []
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, (dict, list)) and item and not _is_flow(key):
                lines.append(f"{pad}{key}:")
                lines.append(to_yaml(item, indent + 2))
            else:
                lines.append(f"{pad}{key}: {yaml_scalar(item)}")
    elif isinstance(value, list):
        for item in value:
            body = to_yaml(item, indent + 2).lstrip(" ")
            lines.append(f"{pad}- {body}")
    else:
        lines.append(pad + yaml_scalar(value))
    return "\n".join(lines)


def _is_flow(key):
    """Keys whose dict value is written inline (a dummy input's record)."""
    return key == "record"


def scratch_state_dir():
    """A state folder for a config that names none: skiff's default,
    /var/lib/skiff, is the machine's (and scripts/check-deb.sh refuses to
    purge a package over one a test left). Removed when the run ends."""
    path = tempfile.mkdtemp(prefix="skiff-it-state-")
    atexit.register(shutil.rmtree, path, True)
    return path


def pipeline_config(inputs, outputs, port=None, flush_interval="200ms", grace="5s",
                    state_dir=None, log_level="info"):
    """A config dict with a service section and the given instances."""
    service = {"log_level": log_level, "flush_interval": flush_interval, "grace": grace,
               "state_dir": state_dir or scratch_state_dir()}
    if port is not None:
        service["http"] = {"listen": f"{HOST}:{port}"}
    return {"service": service, "pipeline": {"inputs": inputs, "outputs": outputs}}


def write_config(tmp, config, name="skiff.yaml"):
    """Writes `config` (YAML text or a dict) into the TempDir; returns the path."""
    text = config if isinstance(config, str) else to_yaml(config) + "\n"
    path = tmp.join(name)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    return path


# ---- waiting ----

def wait_for(condition, timeout, what, interval=0.05, alive=None):
    """Polls `condition()` until it returns something true, and returns that.

    Fails after `timeout` seconds naming `what`. If `alive` (a Skiff) has
    exited meanwhile, fails at once with its stderr."""
    deadline = time.monotonic() + timeout
    last_error = None
    while True:
        try:
            result = condition()
            if result:
                return result
        except (OSError, ValueError) as e:  # not up yet, half-written file...
            last_error = e
        if alive is not None and alive.proc.poll() is not None:
            raise AssertionError(f"skiff exited ({alive.proc.returncode}) while waiting for "
                                 f"{what}\n--- stderr ---\n{tail(alive.stderr_text())}")
        if time.monotonic() >= deadline:
            detail = f" (last error: {last_error})" if last_error else ""
            raise AssertionError(f"timed out after {timeout}s waiting for {what}{detail}")
        time.sleep(interval)


# ---- HTTP and metrics ----

def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def http_get(port, path, timeout=5.0):
    """GET http://127.0.0.1:port/path; returns (status, headers, body text).

    HTTP error statuses are returned, not raised; connection errors raise."""
    url = f"http://{HOST}:{port}{path}"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.headers, response.read().decode("utf-8")
    except urllib.error.HTTPError as e:
        with e:
            body = e.read().decode("utf-8", "replace")
        return e.code, e.headers, body


_SAMPLE_RE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\S+)?$")
_LABEL_RE = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*(?:,|$)')


def _unescape_label(text):
    return re.sub(r"\\(.)", lambda m: "\n" if m.group(1) == "n" else m.group(1), text)


def parse_labels(text):
    """`a="x",b="y"` -> frozenset({("a", "x"), ("b", "y")})."""
    labels = []
    pos = 0
    text = text.strip()
    while pos < len(text):
        m = _LABEL_RE.match(text, pos)
        if not m:
            raise ValueError(f"bad label set: {text!r}")
        labels.append((m.group(1), _unescape_label(m.group(2))))
        pos = m.end()
    return frozenset(labels)


def parse_prometheus(text):
    """Prometheus text format -> {(name, frozenset(labels)): float}."""
    samples = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        m = _SAMPLE_RE.match(line)
        if not m:
            raise ValueError(f"bad metrics line: {line!r}")
        name, labels, value = m.groups()
        key = (name, parse_labels(labels or ""))
        if key in samples:
            raise ValueError(f"duplicate series: {line!r}")
        samples[key] = float(value)
    return samples


def find_series(samples, name, **labels):
    """The {labels: value} of family `name` whose labels include `labels`."""
    wanted = set(labels.items())
    return {key[1]: value for key, value in samples.items()
            if key[0] == name and wanted <= key[1]}


def metric(samples, name, **labels):
    """The value of the one series of `name` that has `labels`; fails if there
    is none or several."""
    found = find_series(samples, name, **labels)
    if len(found) != 1:
        raise AssertionError(f"expected one series {name}{labels}, found {len(found)}: "
                             f"{sorted(found.items(), key=repr)}")
    return next(iter(found.values()))


# ---- /proc ----

def proc_status(pid):
    """VmRSS, VmHWM, RssAnon and RssFile of `pid` in bytes, as {"VmRSS": n, ...}."""
    result = {}
    with open(f"/proc/{pid}/status", encoding="ascii") as f:
        for line in f:
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM", "RssAnon", "RssFile"):
                result[key] = int(rest.split()[0]) * 1024  # reported in kB
    return result


def proc_cpu_seconds(pid):
    """utime + stime of `pid` in seconds, from /proc/PID/stat."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as f:
        stat = f.read()
    fields = stat[stat.rindex(")") + 2:].split()  # after "pid (comm) "
    utime, stime = int(fields[11]), int(fields[12])
    return (utime + stime) / os.sysconf("SC_CLK_TCK")


def proc_minor_faults(pid):
    """Minor page faults of `pid` so far (every thread), from /proc/PID/stat:
    pages the kernel had to map (and zero) when first touched."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as f:
        stat = f.read()
    return int(stat[stat.rindex(")") + 2:].split()[7])


# ---- running skiff ----

def run_cli(args, timeout=30, env=None, unset=(), wrapper=()):
    """Runs skiff with `args` to completion; returns CompletedProcess (text).
    `wrapper` is a command that runs skiff (e.g. InCluster.wrapper()).

    Fails on a sanitizer report or if it does not exit within `timeout`."""
    proc = subprocess.run(list(wrapper) + [skiff_bin()] + list(args), capture_output=True,
                          text=True,
                          timeout=timeout, env=skiff_env(env, unset), stdin=subprocess.DEVNULL)
    assert_no_sanitizer_report(proc.stderr, f"skiff {' '.join(args)}")
    return proc


class Skiff:
    """A running skiff: `-c config`, stderr captured to a file in `tmp`.

    stdout goes to a file too, unless `stdout` is given (subprocess.PIPE for
    the stdout output). Registered for cleanup: a test that fails midway still
    kills its skiff."""

    def __init__(self, test, tmp, config_path, env=None, stdout=None, args=(), unset=(),
                 wrapper=()):
        self.tmp = tmp
        self.stderr_path = tmp.join("skiff.stderr")
        self.stdout_path = tmp.join("skiff.stdout")
        self._stderr = open(self.stderr_path, "wb")
        self._stdout = None
        if stdout is None:
            self._stdout = open(self.stdout_path, "wb")
            stdout = self._stdout
        self.proc = subprocess.Popen(list(wrapper) + [skiff_bin(), "-c", config_path] + list(args),
                                     stdin=subprocess.DEVNULL, stdout=stdout,
                                     stderr=self._stderr, env=skiff_env(env, unset))
        self.checked = False
        test.addCleanup(self._cleanup)

    @property
    def pid(self):
        return self.proc.pid

    def stderr_text(self):
        """What skiff has written to stderr so far."""
        with open(self.stderr_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def stop(self, sig=signal.SIGTERM, timeout=15.0):
        """Sends `sig`, waits up to `timeout` s, returns the exit code.

        If skiff hangs it is killed with SIGKILL and the test fails. Fails too
        on any sanitizer report in its stderr."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        return self.wait_exit(timeout, f"after {signal.Signals(sig).name}")

    def wait_exit(self, timeout, why="on its own"):
        """Waits up to `timeout` s for skiff to exit; returns the exit code.

        Kills it and fails if it does not; fails on sanitizer reports."""
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
            self._close_files()
            raise AssertionError(f"skiff did not exit within {timeout}s {why}; killed it\n"
                                 f"--- stderr ---\n{tail(self.stderr_text())}")
        self._close_files()
        self.checked = True
        assert_no_sanitizer_report(self.stderr_text())
        return rc

    def assert_exit(self, test, expected, rc):
        """Asserts exit code `rc` == `expected`, showing stderr if not."""
        test.assertEqual(rc, expected, f"skiff exit code\n--- stderr ---\n"
                                       f"{tail(self.stderr_text())}")

    def _close_files(self):
        for f in (self._stderr, self._stdout):
            if f is not None and not f.closed:
                f.close()

    def _cleanup(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self._close_files()
        for stream in (self.proc.stdout,):
            if stream is not None:
                stream.close()


class SkiffHttp:
    """Reads a running skiff's HTTP endpoints on `port`."""

    def __init__(self, skiff, port):
        self.skiff = skiff
        self.port = port

    def get(self, path, timeout=5.0):
        return http_get(self.port, path, timeout)

    def metrics(self):
        """The parsed /metrics, failing unless it answers 200."""
        status, _, body = self.get("/metrics")
        if status != 200:
            raise AssertionError(f"/metrics answered {status}: {body[:200]}")
        return parse_prometheus(body)

    def value(self, name, **labels):
        """One series' current value."""
        return metric(self.metrics(), name, **labels)

    def wait_up(self, timeout=15.0):
        """Waits until /healthz answers 200."""
        wait_for(lambda: self.get("/healthz", timeout=1.0)[0] == 200, timeout,
                 f"/healthz on port {self.port}", alive=self.skiff)

    def wait_value(self, name, predicate, timeout, what, **labels):
        """Polls one series until `predicate(value)`; returns the value. A
        series that does not exist yet is waited for: many appear on first
        use (a drop reason's at the first drop)."""
        def check():
            samples = self.metrics()
            if not find_series(samples, name, **labels):
                return None
            value = metric(samples, name, **labels)
            return (True, value) if predicate(value) else None
        return wait_for(check, timeout, what, interval=0.1, alive=self.skiff)[1]


def read_lines(path):
    """The complete lines of a file (a trailing partial line is left out)."""
    with open(path, "rb") as f:
        data = f.read()
    end = data.rfind(b"\n") + 1
    return data[:end].decode("utf-8").splitlines()


def count_lines(path):
    """Number of newline characters in `path` (0 if it does not exist)."""
    try:
        with open(path, "rb") as f:
            return sum(block.count(b"\n") for block in iter(lambda: f.read(1 << 20), b""))
    except FileNotFoundError:
        return 0


class PipeCollector:
    """Reads a pipe to its end in a background thread, keeping what it read
    (for tests that hold skiff's stdout back, then let it flow)."""

    def __init__(self, pipe):
        import threading
        self.pipe = pipe
        self._chunks = []
        self._lock = threading.Lock()
        self.bytes = 0
        self.newlines = 0
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self):
        self._thread.start()
        return self

    def _run(self):
        for block in iter(lambda: self.pipe.read1(1 << 16), b""):
            with self._lock:
                self._chunks.append(block)
                self.bytes += len(block)
                self.newlines += block.count(b"\n")

    def data(self):
        """Everything read so far, as bytes."""
        with self._lock:
            return b"".join(self._chunks)

    def join(self, timeout):
        """Waits up to `timeout` s for the end of the pipe; True if reached."""
        self._thread.join(timeout)
        return not self._thread.is_alive()
