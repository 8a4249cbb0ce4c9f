"""Just enough MessagePack for the fake Fluentd (fake_fluentd.py) and the
tests, after the specification's "Formats" section
(https://github.com/msgpack/msgpack/blob/master/spec.md), Python 3 standard
library only. Strings decode as str (bytes if they are not UTF-8), bin as
bytes, ext type 0 as EventTime (Fluentd's nanosecond time)."""

import struct


class Incomplete(Exception):
    """The data ends inside a value: more bytes are needed."""


class Malformed(Exception):
    """Bytes that are not MessagePack."""


class EventTime:
    """Fluentd's EventTime (forward protocol v1, "EventTime Ext Format")."""

    def __init__(self, sec, nsec):
        self.sec, self.nsec = sec, nsec

    def __eq__(self, other):
        return isinstance(other, EventTime) and (self.sec, self.nsec) == (other.sec, other.nsec)

    def __repr__(self):
        return f"EventTime({self.sec}, {self.nsec})"


def _sized(prefix_small, codes, n):
    """A header for a length n: fixed form (prefix_small, max) or one of
    codes = [(code, struct format, max), ...]."""
    small, limit = prefix_small
    if small is not None and n <= limit:
        return bytes([small | n])
    for code, fmt, top in codes:
        if n <= top:
            return bytes([code]) + struct.pack(fmt, n)
    raise ValueError("too long")


def pack(v):
    if v is None:
        return b"\xc0"
    if v is True:
        return b"\xc3"
    if v is False:
        return b"\xc2"
    if isinstance(v, EventTime):
        return b"\xd7\x00" + struct.pack(">II", v.sec, v.nsec)
    if isinstance(v, int):
        if 0 <= v < 128:
            return bytes([v])
        if -32 <= v < 0:
            return struct.pack(">b", v)
        if v >= 0:
            for code, fmt, top in ((0xcc, ">B", 0xff), (0xcd, ">H", 0xffff),
                                   (0xce, ">I", 0xffffffff), (0xcf, ">Q", 2**64 - 1)):
                if v <= top:
                    return bytes([code]) + struct.pack(fmt, v)
        for code, fmt, low in ((0xd0, ">b", -128), (0xd1, ">h", -2**15), (0xd2, ">i", -2**31),
                               (0xd3, ">q", -2**63)):
            if v >= low:
                return bytes([code]) + struct.pack(fmt, v)
    if isinstance(v, float):
        return b"\xcb" + struct.pack(">d", v)
    if isinstance(v, str):
        b = v.encode()
        return _sized((0xa0, 31), [(0xd9, ">B", 0xff), (0xda, ">H", 0xffff),
                                   (0xdb, ">I", 0xffffffff)], len(b)) + b
    if isinstance(v, (bytes, bytearray)):
        return _sized((None, 0), [(0xc4, ">B", 0xff), (0xc5, ">H", 0xffff),
                                  (0xc6, ">I", 0xffffffff)], len(v)) + bytes(v)
    if isinstance(v, (list, tuple)):
        head = _sized((0x90, 15), [(0xdc, ">H", 0xffff), (0xdd, ">I", 0xffffffff)], len(v))
        return head + b"".join(pack(x) for x in v)
    if isinstance(v, dict):
        head = _sized((0x80, 15), [(0xde, ">H", 0xffff), (0xdf, ">I", 0xffffffff)], len(v))
        return head + b"".join(pack(k) + pack(x) for k, x in v.items())
    raise TypeError(f"cannot pack {type(v)}")


class _Reader:
    def __init__(self, data, pos=0):
        self.data, self.pos = data, pos

    def take(self, n):
        if self.pos + n > len(self.data):
            raise Incomplete()
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def number(self, fmt):
        return struct.unpack(fmt, self.take(struct.calcsize(fmt)))[0]


def _text(raw):
    try:
        return raw.decode()
    except UnicodeDecodeError:
        return raw


# Fixed-width formats: first byte -> struct format.
_NUMBERS = {0xca: ">f", 0xcb: ">d", 0xcc: ">B", 0xcd: ">H", 0xce: ">I", 0xcf: ">Q",
            0xd0: ">b", 0xd1: ">h", 0xd2: ">i", 0xd3: ">q"}
_LENGTHS = {0xc4: ">B", 0xc5: ">H", 0xc6: ">I", 0xd9: ">B", 0xda: ">H", 0xdb: ">I",
            0xdc: ">H", 0xdd: ">I", 0xde: ">H", 0xdf: ">I", 0xc7: ">B", 0xc8: ">H", 0xc9: ">I"}


def _ext(kind, payload):
    if kind == 0 and len(payload) == 8:
        return EventTime(*struct.unpack(">II", payload))
    return ("ext", kind, payload)


def _read(r, depth=0):
    if depth > 64:
        raise Malformed("nested too deep")
    b = r.take(1)[0]
    if b <= 0x7f:
        return b
    if b >= 0xe0:
        return b - 256
    if 0x80 <= b <= 0x8f:
        return _read_map(r, b & 0x0f, depth)
    if 0x90 <= b <= 0x9f:
        return [_read(r, depth + 1) for _ in range(b & 0x0f)]
    if 0xa0 <= b <= 0xbf:
        return _text(r.take(b & 0x1f))
    if b == 0xc0:
        return None
    if b in (0xc2, 0xc3):
        return b == 0xc3
    if b in _NUMBERS:
        return r.number(_NUMBERS[b])
    if 0xd4 <= b <= 0xd8:
        kind = struct.unpack(">b", r.take(1))[0]
        return _ext(kind, r.take(1 << (b - 0xd4)))
    if b not in _LENGTHS:
        raise Malformed(f"byte 0x{b:02x}")
    n = r.number(_LENGTHS[b])
    if b in (0xc4, 0xc5, 0xc6):
        return r.take(n)
    if b in (0xd9, 0xda, 0xdb):
        return _text(r.take(n))
    if b in (0xdc, 0xdd):
        return [_read(r, depth + 1) for _ in range(n)]
    if b in (0xde, 0xdf):
        return _read_map(r, n, depth)
    kind = struct.unpack(">b", r.take(1))[0]
    return _ext(kind, r.take(n))


def _read_map(r, n, depth):
    out = {}
    for _ in range(n):
        k = _read(r, depth + 1)
        out[k if not isinstance(k, list) else tuple(k)] = _read(r, depth + 1)
    return out


def unpack(data, pos=0):
    """(value, bytes used) of the value at data[pos:]; Incomplete if it does
    not end there."""
    r = _Reader(data, pos)
    value = _read(r)
    return value, r.pos - pos


def unpack_all(data):
    """Every value of a stream of values (a MessagePackEventStream)."""
    out, pos = [], 0
    while pos < len(data):
        value, used = unpack(data, pos)
        out.append(value)
        pos += used
    return out
