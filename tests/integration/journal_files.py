"""Journal files for the systemd input's tests, written by the real writer:
systemd-journal-remote (Debian package systemd-journal-remote) reads entries
in the journal export format on standard input and writes them to
`--output=DIR/NAME.journal`, appending when the file exists.

The export format (https://systemd.io/JOURNAL_EXPORT_FORMATS/): an entry is
its fields, one per line as FIELD=value, and ends with an empty line; a value
with a newline or other control bytes is written as FIELD, a newline, its
length as a 64-bit little-endian integer, the bytes, and a newline.
__REALTIME_TIMESTAMP and __MONOTONIC_TIMESTAMP (microseconds) give the
entry's times; systemd-journal-remote numbers entries itself (seqnum)."""

import os
import struct
import subprocess

JOURNAL_REMOTE = "/lib/systemd/systemd-journal-remote"
BOOT_ID = "0123456789abcdef0123456789abcdef"
# In the past: systemd-journal-remote does not append to a file whose last
# entry is from the future (it renames it `.journal~` and starts a new one).
BASE_USEC = 1_700_000_000_000_000  # 2023-11-14T22:13:20Z


def need_journal_remote():
    """Fails (not skips: CI installs it) when the writer is missing."""
    if not os.access(JOURNAL_REMOTE, os.X_OK):
        raise AssertionError(f"{JOURNAL_REMOTE} is missing: apt-get install "
                             "systemd-journal-remote (scripts/test.sh installs it)")


def _field(name, value):
    data = value if isinstance(value, bytes) else value.encode("utf-8")
    if all(0x20 <= b or b == 0x09 for b in data) and b"\x7f" not in data:
        return name.encode() + b"=" + data + b"\n"
    return name.encode() + b"\n" + struct.pack("<Q", len(data)) + data + b"\n"


def export(entries):
    """The export format of `entries`: each a dict (or a list of (name,
    value) pairs, for a field given twice) with a `seq` number that sets its
    times, and optional `usec` for __REALTIME_TIMESTAMP."""
    out = bytearray()
    for entry in entries:
        pairs = list(entry.items()) if isinstance(entry, dict) else list(entry)
        fields = dict(pairs)
        seq = int(fields.get("seq", 0))
        usec = int(fields.get("usec", BASE_USEC + seq * 1000))
        out += _field("__REALTIME_TIMESTAMP", str(usec))
        out += _field("__MONOTONIC_TIMESTAMP", str(1_000_000 + seq))
        out += _field("_BOOT_ID", BOOT_ID)
        for name, value in pairs:
            if name not in ("seq", "usec"):
                out += _field(name, value)
        out += b"\n"
    return bytes(out)


def write(path, entries):
    """Appends `entries` to the journal file `path` (made if missing)."""
    need_journal_remote()
    proc = subprocess.run([JOURNAL_REMOTE, f"--output={path}", "-"], input=export(entries),
                          capture_output=True, timeout=60)
    if proc.returncode != 0:
        raise AssertionError(f"{JOURNAL_REMOTE} --output={path}: exit {proc.returncode}: "
                             f"{proc.stderr.decode('utf-8', 'replace')}")


def unit_entries(unit, first, count, **extra):
    """`count` entries of `unit` numbered from `first`: MESSAGE "UNIT line
    N", seq N, and `extra` fields."""
    return [dict({"seq": n, "MESSAGE": f"{unit} line {n}", "_SYSTEMD_UNIT": unit,
                  "PRIORITY": "6", "_HOSTNAME": "node-1"}, **extra)
            for n in range(first, first + count)]


def systemd_input(path, **options):
    """A systemd input reading the folder `path` from its head."""
    return dict({"name": "systemd", "tag": "host.*", "path": path, "read_from_head": True,
                 "checkpoint_interval": "100ms"}, **options)
