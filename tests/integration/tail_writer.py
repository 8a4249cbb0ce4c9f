"""Helpers for the tail input's integration tests: write numbered lines into
log files the way applications and log rotators do, and check that skiff
delivered each of them exactly once and in order.

Every line is `file=<name> gen=<g> seq=<n> <padding>`:

- `name` is the logical stream (one application's log),
- `gen` the physical file it was written to (0, then 1 after a rotation...),
- `seq` the stream's line number, 0, 1, 2... across rotations,
- the padding is derived from (name, seq), so the whole line can be
  recomputed and compared byte for byte. It varies the length (40..200
  bytes) and contains the characters JSON must escape (`"`, `\\`, tab).

Python 3 standard library only. Every wait is bounded.
"""

import json
import os
import re
import shutil
import threading
import time

import harness

LINE_RE = re.compile(r"^file=(\S+) gen=(\d+) seq=(\d+) ")
_PAD_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789-_.:/ ABCDEFGHIJKLMNOPQRSTUVWXYZ\"\\\t"


def make_line(name, seq, gen=0):
    """The line for (name, gen, seq), without its newline (a str)."""
    head = f"file={name} gen={gen} seq={seq:08d} "
    length = 20 + (seq * 7919 + len(name) * 31) % 160
    start = (seq * 13 + len(name)) % len(_PAD_ALPHABET)
    pad = (_PAD_ALPHABET[start:] + _PAD_ALPHABET * (length // len(_PAD_ALPHABET) + 1))[:length]
    return head + pad + "|end"


def make_lines(name, first, count, gen=0):
    """Lines first..first+count-1 joined with newlines, as bytes (each line
    ends in a newline)."""
    return "".join(make_line(name, s, gen) + "\n" for s in range(first, first + count)).encode()


def ranges(numbers, limit=12):
    """Sorted ints as a short text: "0-99, 150, 200-210" (at most `limit`
    ranges, then "...")."""
    numbers = sorted(set(numbers))
    out = []
    i = 0
    while i < len(numbers):
        j = i
        while j + 1 < len(numbers) and numbers[j + 1] == numbers[j] + 1:
            j += 1
        out.append(str(numbers[i]) if i == j else f"{numbers[i]}-{numbers[j]}")
        i = j + 1
    text = ", ".join(out[:limit])
    if len(out) > limit:
        text += f", ... ({len(out)} ranges, {len(numbers)} values)"
    return text or "none"


# ---- files written synchronously ----

class SeqFile:
    """A log file appended to synchronously, line by line, by the test."""

    def __init__(self, path, name=None, gen=0, first=0):
        self.path = path
        self.name = name or os.path.basename(path).split(".")[0]
        self.gen = gen
        self.next = first      # next seq to write
        self.bytes = 0         # bytes this object wrote

    def append(self, count):
        """Appends lines next..next+count-1 (opening, writing, closing)."""
        data = make_lines(self.name, self.next, count, self.gen)
        with open(self.path, "ab") as f:
            f.write(data)
        self.next += count
        self.bytes += len(data)
        return data


# ---- a writer thread ----

class SeqWriter(threading.Thread):
    """Appends numbered lines to a file at `rate` lines per second, in small
    batches (one write(2) per `tick`), through an O_APPEND descriptor it keeps
    open like an application does.

    Rotations are carried out by the writer thread between two writes, the way
    the writing application and its rotator would interleave:

    - rotate_rename(suffix): the file is renamed; the writer goes on writing
      into the renamed file for `drain_seconds`, then creates a new file at
      the old path (the kubelet / logrotate `create` way);
    - rotate_delete(): the file is unlinked; the writer goes on writing into
      the unlinked file for `drain_seconds`, then creates a new one;
    - rotate_symlink(link, new_target): a new target file is created and the
      symlink `link` is atomically repointed to it (a new symlink renamed over
      it); the writer goes on writing into the old target for
      `drain_seconds`, then writes into the new one;
    - pause() / resume(): for copytruncate, which the test does itself while
      the writer is paused (copytruncate()).

    The generation `gen` in each line is the physical file it went to.
    `lines` records (gen, seq, start offset) of everything written, for the
    checks that need offsets."""

    def __init__(self, path, name=None, rate=3000, tick=0.005, create=True):
        super().__init__(daemon=True)
        self.path = path
        self.name = name or os.path.basename(path).split(".")[0]
        self.rate = rate
        self.tick = tick
        self.gen = 0
        self.seq = 0
        self.file_pos = 0
        self.lines = []            # (gen, seq, start offset in its file)
        self.gen_paths = {}        # gen -> path it was created at
        self.error = None
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._pause = threading.Event()
        self._paused = threading.Event()
        self._request = None       # (action, drain_seconds, new_path)
        self._request_done = threading.Event()
        self._fd = None
        self._open(create)

    def _open(self, create=True):
        flags = os.O_WRONLY | os.O_APPEND | (os.O_CREAT if create else 0)
        self._fd = os.open(self.path, flags, 0o644)
        self.file_pos = os.fstat(self._fd).st_size
        self.gen_paths[self.gen] = self.path

    # -- control, from the test's thread --

    @property
    def written(self):
        """Lines written so far (the next seq)."""
        with self._lock:
            return self.seq

    def pause(self, timeout=5.0):
        """Stops writing; returns once no write is in progress."""
        self._paused.clear()
        self._pause.set()
        if not self._paused.wait(timeout):
            raise AssertionError("writer did not pause")

    def resume(self):
        self._pause.clear()

    def copytruncate(self, copy_path):
        """logrotate's copytruncate, done while the writer is paused: copy the
        file to `copy_path`, truncate it to 0. The writer's next lines (after
        resume) go to offset 0 (O_APPEND) and carry the next generation."""
        shutil.copyfile(self.path, copy_path)
        os.truncate(self.path, 0)
        with self._lock:
            self.gen += 1
            self.file_pos = 0
            self.gen_paths[self.gen] = self.path

    def _rotate(self, action, drain_seconds, new_path, timeout=10.0):
        self._request_done.clear()
        self._request = (action, drain_seconds, new_path)
        if not self._request_done.wait(timeout):
            raise AssertionError("writer did not rotate")
        if self.error:
            raise self.error

    def rotate_rename(self, suffix=".20240501-101500", drain_seconds=0.3):
        path = self.path
        self._rotate(lambda: os.rename(path, path + suffix), drain_seconds, path)

    def rotate_delete(self, drain_seconds=0.3):
        path = self.path
        self._rotate(lambda: os.unlink(path), drain_seconds, path)

    def rotate_symlink(self, link, new_target, drain_seconds=0.3):
        def repoint():
            open(new_target, "ab").close()
            tmp_link = link + ".tmp"
            os.symlink(new_target, tmp_link)
            os.rename(tmp_link, link)
        self._rotate(repoint, drain_seconds, new_target)

    def stop(self, timeout=10.0):
        """Stops the thread, closes the file; raises what the thread raised."""
        self._stopping.set()
        self._pause.clear()
        self.join(timeout)
        if self.is_alive():
            raise AssertionError("writer thread did not stop")
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        if self.error:
            raise self.error
        return self.seq

    # -- the thread --

    def _write_due(self, t0, base):
        due = base + int((time.monotonic() - t0) * self.rate)
        with self._lock:
            n = due - self.seq
            if n <= 0:
                return
            parts = []
            pos = self.file_pos
            for s in range(self.seq, self.seq + n):
                line = (make_line(self.name, s, self.gen) + "\n").encode()
                self.lines.append((self.gen, s, pos))
                pos += len(line)
                parts.append(line)
            data = b"".join(parts)
            written = os.write(self._fd, data)
            if written != len(data):
                raise OSError(f"short write {written} of {len(data)}")
            self.file_pos = pos
            self.seq += n

    def run(self):
        try:
            t0, base = time.monotonic(), 0
            while not self._stopping.is_set():
                if self._pause.is_set():
                    self._paused.set()
                    while self._pause.is_set() and not self._stopping.is_set():
                        time.sleep(0.005)
                    t0, base = time.monotonic(), self.seq  # no burst after a pause
                    continue
                request, self._request = self._request, None
                if request:
                    action, drain_seconds, new_path = request
                    action()
                    end = time.monotonic() + drain_seconds
                    while time.monotonic() < end:
                        self._write_due(t0, base)
                        time.sleep(self.tick)
                    with self._lock:
                        os.close(self._fd)
                        self.gen += 1
                        self.path = new_path
                        self._open()
                    self._request_done.set()
                    continue
                self._write_due(t0, base)
                time.sleep(self.tick)
        except BaseException as e:  # reported by stop()
            self.error = e
            self._request_done.set()
            self._paused.set()


# ---- reading what skiff delivered ----

def read_json_lines(path):
    """The complete lines of `path` parsed as JSON (fails on one that is not).
    A missing file is empty."""
    try:
        lines = harness.read_lines(path)
    except FileNotFoundError:
        return []
    return _parse_json_lines(lines, path)


def parse_json_bytes(data, what="output"):
    """Complete JSON lines in `data` (bytes)."""
    end = data.rfind(b"\n") + 1
    return _parse_json_lines(data[:end].decode("utf-8").splitlines(), what)


def _parse_json_lines(lines, what):
    records = []
    for number, line in enumerate(lines, 1):
        try:
            records.append(json.loads(line))
        except ValueError as e:
            raise AssertionError(f"{what}:{number}: not JSON ({e}): {line[:200]!r}")
    return records


class Delivered:
    """Records delivered by skiff, sorted into streams by the `file=` name of
    their line, in the order they arrived."""

    def __init__(self, records, key="log", path_key="path"):
        self.streams = {}   # name -> [(gen, seq)]
        self.paths = {}     # name -> set of path field values
        self.bad = []       # (index, problem)
        self.count = len(records)
        for index, record in enumerate(records):
            line = record.get(key)
            if not isinstance(line, str):
                self.bad.append((index, f"no string field {key!r}: {str(record)[:200]}"))
                continue
            m = LINE_RE.match(line)
            if not m:
                self.bad.append((index, f"not a numbered line: {line[:120]!r}"))
                continue
            name, gen, seq = m.group(1), int(m.group(2)), int(m.group(3))
            if line != make_line(name, seq, gen):
                self.bad.append((index, f"line altered: {line[:160]!r}"))
                continue
            self.streams.setdefault(name, []).append((gen, seq))
            if path_key:
                self.paths.setdefault(name, set()).add(record.get(path_key))

    @classmethod
    def from_file(cls, path, **kwargs):
        return cls(read_json_lines(path), **kwargs)

    def seqs(self, name):
        return [seq for _, seq in self.streams.get(name, [])]

    def problems(self, expected, paths=None):
        """What is wrong compared with `expected` ({name: count or range}):
        missing, duplicated, unexpected lines, lines out of order within one
        physical file (gen), lines whose text was altered, wrong path field.
        Returns a list of strings (empty = exactly once, in order)."""
        out = [f"record {i}: {why}" for i, why in self.bad[:10]]
        if len(self.bad) > 10:
            out.append(f"... {len(self.bad)} bad records in all")
        for name in sorted(set(self.streams) - set(expected)):
            out.append(f"{name}: {len(self.streams[name])} records of an unexpected stream "
                       f"(seq {ranges(self.seqs(name))})")
        for name, want in sorted(expected.items()):
            want = range(want) if isinstance(want, int) else want
            got = self.seqs(name)
            counts = {}
            for s in got:
                counts[s] = counts.get(s, 0) + 1
            missing = [s for s in want if s not in counts]
            dups = [s for s, c in counts.items() if c > 1]
            extra = [s for s in counts if s not in want]
            if missing:
                out.append(f"{name}: missing {len(missing)} of {len(want)}: seq {ranges(missing)}")
            if dups:
                out.append(f"{name}: {sum(counts[s] - 1 for s in dups)} duplicates: "
                           f"seq {ranges(dups)}")
            if extra:
                out.append(f"{name}: unexpected seq {ranges(extra)}")
            last = {}
            disorder = []
            for gen, seq in self.streams.get(name, []):
                if gen in last and seq <= last[gen]:
                    disorder.append((gen, last[gen], seq))
                last[gen] = seq
            if disorder:
                gen, before, after = disorder[0]
                out.append(f"{name}: {len(disorder)} lines out of order, first in gen {gen}: "
                           f"seq {after} after {before}")
            if paths and name in paths and self.paths.get(name, set()) != {paths[name]}:
                out.append(f"{name}: path field {sorted(map(str, self.paths.get(name, [])))}, "
                           f"expected {paths[name]!r}")
        return out


def shorten(problems, limit=25):
    """At most `limit` problem lines, then how many more."""
    if len(problems) <= limit:
        return problems
    return problems[:limit] + [f"... and {len(problems) - limit} more problems"]


def assert_exactly_once(test, delivered, expected, paths=None, what="delivered records"):
    """Fails `test` listing the problems if `delivered` (a Delivered or a
    path to a file output) is not exactly `expected`, each line once, in order
    per physical file."""
    if isinstance(delivered, str):
        delivered = Delivered.from_file(delivered)
    problems = delivered.problems(expected, paths)
    if problems:
        test.fail(f"{what}: {delivered.count} records, not exactly once in order:\n  "
                  + "\n  ".join(shorten(problems)))


def wait_delivered(out, total, timeout, skiff, expected=None):
    """Waits until the file output `out` holds at least `total` lines. On
    timeout, fails with what is missing or duplicated (if `expected` is
    given) instead of only the count."""
    try:
        harness.wait_for(lambda: harness.count_lines(out) >= total, timeout,
                         f"{total} records in {out}", interval=0.1, alive=skiff)
    except AssertionError as e:
        detail = ""
        if expected is not None:
            try:
                detail = "\n  " + "\n  ".join(shorten(Delivered.from_file(out)
                                                        .problems(expected)))
            except AssertionError as parse_error:
                detail = f"\n  {parse_error}"
        raise AssertionError(f"{e}; {harness.count_lines(out)} arrived{detail}\n"
                             f"--- skiff stderr ---\n{harness.tail(skiff.stderr_text())}") \
            from None


# ---- configs ----

def tail_input(paths, **options):
    """A tail input tagged kube.* reading `paths` (a glob or a list), with
    short intervals for tests."""
    config = {"name": "tail", "tag": "kube.*", "path": paths if isinstance(paths, list)
              else [paths], "refresh_interval": "500ms", "rotate_wait": "2s",
              "checkpoint_interval": "500ms"}
    config.update(options)
    return config


def tail_config(tmp, inputs, out, port=None, outputs=None, parsers=None, **service):
    """tail input(s) -> file output `out` (matching everything), state in
    tmp/state, with `parsers` (a list of parser dicts) if given."""
    if isinstance(inputs, dict):
        inputs = [inputs]
    outputs = outputs or [{"name": "file", "match": "*", "path": out}]
    config = harness.pipeline_config(inputs, outputs, port=port,
                                     state_dir=tmp.join("state"), **service)
    if parsers:
        config["parsers"] = parsers
    return config


def checkpoint_path(tmp, alias="tail.0"):
    return tmp.join("state", "tail", f"{alias}.checkpoints")


def read_checkpoints(path):
    """The checkpoint file as {(dev, ino): (offset, path)}; {} if missing."""
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines()
    except FileNotFoundError:
        return {}
    if not lines or not lines[0].startswith("skiff-tail-checkpoints"):
        raise AssertionError(f"{path}: not a checkpoint file: {lines[:3]}")
    entries = {}
    for line in lines[1:]:
        fields = line.split(" ")
        if fields[0] == "end":
            break
        dev, ino, _fp_len, _fp_crc, offset, where = fields[:6]
        where = re.sub(r"%([0-9A-Fa-f]{2})", lambda m: chr(int(m.group(1), 16)), where)
        entries[(int(dev), int(ino))] = (int(offset), where)
    return entries


def fds_to_deleted_files(pid):
    """Descriptors of `pid` open on deleted files, as their link texts."""
    found = []
    fd_dir = f"/proc/{pid}/fd"
    for fd in os.listdir(fd_dir):
        try:
            target = os.readlink(os.path.join(fd_dir, fd))
        except OSError:
            continue
        if target.endswith(" (deleted)"):
            found.append(target)
    return found


def fds_to(pid, prefix):
    """Descriptors of `pid` open on paths under `prefix`."""
    found = []
    fd_dir = f"/proc/{pid}/fd"
    for fd in os.listdir(fd_dir):
        try:
            target = os.readlink(os.path.join(fd_dir, fd))
        except OSError:
            continue
        if target.startswith(prefix):
            found.append(target)
    return found


# ---- running skiff with a tail input ----

class _RunDir:
    """A sub-folder of a TempDir where one skiff run keeps its stderr/stdout
    (so that a restarted skiff does not overwrite the first one's)."""

    def __init__(self, tmp, name):
        self.path = tmp.join(name)
        os.makedirs(self.path, exist_ok=True)

    def join(self, *parts):
        return os.path.join(self.path, *parts)


class TailRun:
    """skiff running `inputs` (tail input dicts) -> file output `out`, with
    /metrics on a free port and its state in tmp/state. Waits until /readyz
    answers 200 (the inputs have started)."""

    def __init__(self, test, tmp, inputs, out=None, run="run1", outputs=None, stdout=None,
                 parsers=None, **service):
        self.test = test
        self.tmp = tmp
        self.out = out or tmp.join("out.jsonl")
        self.port = harness.free_port()
        self.dir = _RunDir(tmp, run)
        config = tail_config(tmp, inputs, self.out, port=self.port, outputs=outputs,
                             parsers=parsers, **service)
        self.config_path = harness.write_config(self.dir, config)
        self.skiff = harness.Skiff(test, self.dir, self.config_path, stdout=stdout)
        self.http = harness.SkiffHttp(self.skiff, self.port)
        self.http.wait_up()
        harness.wait_for(lambda: self.http.get("/readyz", timeout=2.0)[0] == 200, 15,
                         "/readyz 200", alive=self.skiff)

    @property
    def pid(self):
        return self.skiff.pid

    def metrics(self):
        return self.http.metrics()

    def value(self, name, instance="tail.0", **labels):
        return self.http.value(name, instance=instance, **labels)

    def wait_value(self, name, predicate, timeout, what, instance="tail.0", **labels):
        return self.http.wait_value(name, predicate, timeout, what, instance=instance, **labels)

    def wait_watched(self, count, timeout=15, instance="tail.0"):
        """Waits until skiff_tail_files_watched == count."""
        return self.wait_value("skiff_tail_files_watched", lambda v: v == count, timeout,
                               f"skiff_tail_files_watched == {count}", instance=instance)

    def wait_delivered(self, total, timeout=20, expected=None):
        wait_delivered(self.out, total, timeout, self.skiff, expected)

    def stderr(self):
        return self.skiff.stderr_text()

    def stop(self, timeout=15):
        """SIGTERM; asserts exit 0 (and no sanitizer report)."""
        self.skiff.assert_exit(self.test, 0, self.skiff.stop(timeout=timeout))
