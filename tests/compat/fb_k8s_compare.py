"""Compares a record skiff wrote with the record a Fluent Bit case expects,
field by field, leaving out only what differs legitimately. Each such
difference is named here with its reason (LEGITIMATE); the comparison says
which of them it met, so nothing is waved through unseen.

Objects are compared as maps: the order of keys is not compared (JSON
objects are unordered, and Elasticsearch indexes them the same)."""

import datetime
import re

# What may differ, and why. Keys are what `compare` reports in `notes`.
LEGITIMATE = {
    "path": "skiff adds the log file's path (the tail input's path_key, `path`), which "
            "its kubernetes filter reads the pod from; Fluent Bit's test reads it from "
            "the tag",
    "time": "the time is compared as a number: Fluent Bit's .out writes seconds with "
            "6 decimals, skiff `@timestamp` in RFC 3339 with nanoseconds; they must "
            "agree within a microsecond",
    "log_newline": "skiff's docker parser removes the newline that ends the entry's "
                   "`log` (README, Parsing); Fluent Bit's json parser keeps it",
    "time_field": "skiff's docker parser keeps the entry's `time` text, as Fluent Bit's "
                  "shipped docker parser does (Time_Keep On in conf/parsers.conf); the "
                  "test's own parsers.conf drops it",
    "docker_id_from_name": "the test names its files <namespace>_<pod>_<container>.log, "
                           "without the container id a kubelet's name carries, and its "
                           "pod has no containerID: the tool writes the kubelet's "
                           "<pod>_<namespace>_<container>-<id>.log, and skiff, like "
                           "Fluent Bit with its default Regex_Parser, takes docker_id "
                           "from that name",
    "owner": "skiff adds kubernetes.owner, the kind and name of the pod's controller "
             "(README, Kubernetes metadata)",
}

_RFC3339 = re.compile(r"^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?Z$")


def timestamp_seconds(text):
    """Seconds since the epoch of an RFC 3339 UTC time, as a float with the
    nanoseconds kept (the integer part and the fraction added apart)."""
    m = _RFC3339.match(text)
    if not m:
        raise ValueError(f"not an RFC 3339 UTC time: {text!r}")
    whole = datetime.datetime(*map(int, m.groups()[:6]), tzinfo=datetime.timezone.utc)
    fraction = int((m.group(7) or "0").ljust(9, "0")) / 1e9
    return int(whole.timestamp()) + fraction


def _show(value, limit=70):
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


class Comparison:
    """The differences and the legitimate differences met, for one record."""

    def __init__(self, file_container_id):
        self.file_container_id = file_container_id
        self.diffs = []
        self.notes = set()

    def _legitimate_extra(self, path, value):
        if path == "path":
            return "path"
        if path == "time":
            return "time_field"
        if path == "kubernetes.owner":
            return "owner"
        if path == "kubernetes.docker_id" and value == self.file_container_id:
            return "docker_id_from_name"
        return None

    def _values(self, path, expected, got):
        if path == "log" and isinstance(expected, str) and expected.endswith("\n") and \
                got == expected[:-1]:
            self.notes.add("log_newline")
            return
        if isinstance(expected, dict) and isinstance(got, dict):
            self._maps(path, expected, got)
        elif type(expected) is not type(got) or expected != got:
            self.diffs.append(f"{path}: expected {_show(expected)}, got {_show(got)}")

    def _maps(self, prefix, expected, got):
        for key, value in expected.items():
            path = f"{prefix}.{key}" if prefix else key
            if key not in got:
                self.diffs.append(f"{path}: missing (expected {_show(value)})")
            else:
                self._values(path, value, got[key])
        for key, value in got.items():
            if key in expected:
                continue
            path = f"{prefix}.{key}" if prefix else key
            reason = self._legitimate_extra(path, value)
            if reason:
                self.notes.add(reason)
            else:
                self.diffs.append(f"{path}: not expected (got {_show(value)})")


def compare(expected_time, expected, record, file_container_id):
    """Compares skiff's `record` (as written by its file output) with Fluent
    Bit's expected (time, record). Returns a Comparison."""
    result = Comparison(file_container_id)
    got = dict(record)
    stamp = got.pop("@timestamp", None)
    if stamp is None:
        result.diffs.append("@timestamp: missing")
    else:
        seconds = timestamp_seconds(stamp)
        result.notes.add("time")
        # 1 µs: the .out's 6 decimals are a double rounded, skiff's are exact.
        if abs(seconds - expected_time) > 1.5e-6:
            result.diffs.append(f"time: expected {expected_time:.6f}, got {seconds:.9f} "
                                f"({stamp})")
    result._maps("", expected, got)
    return result
