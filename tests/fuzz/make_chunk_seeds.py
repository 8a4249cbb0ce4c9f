#!/usr/bin/env python3
"""Writes seed inputs for the chunk fuzz target into corpus/chunk/, encoded by
hand from the grammar in agent/codec.h (an independent check of the format):

    record := u32 body_len | body
    body   := i64 sec | u32 nsec | u64 source_id | u64 offset
              | u8 attachment_count | u16 index * count | map
    map    := varint count | (varint len, key bytes, value) * count
"""

import os
import struct

NULL, FALSE, TRUE, INT, FLOAT, STRING, MAP, ARRAY = range(8)


def varint(n):
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def zigzag(n):
    return (n << 1) ^ (n >> 63)


def string(s):
    data = s if isinstance(s, bytes) else s.encode()
    return varint(len(data)) + data


def value(v):
    if v is None:
        return bytes([NULL])
    if v is True or v is False:
        return bytes([TRUE if v else FALSE])
    if isinstance(v, int):
        return bytes([INT]) + varint(zigzag(v) & 0xFFFFFFFFFFFFFFFF)
    if isinstance(v, float):
        return bytes([FLOAT]) + struct.pack("<d", v)
    if isinstance(v, (str, bytes)):
        return bytes([STRING]) + string(v)
    if isinstance(v, dict):
        return bytes([MAP]) + members(v)
    return bytes([ARRAY]) + varint(len(v)) + b"".join(value(x) for x in v)


def members(fields):
    return varint(len(fields)) + b"".join(string(k) + value(v) for k, v in fields.items())


def record(fields, sec=1714558500, nsec=123456789, source=0, offset=0):
    body = struct.pack("<qIQQB", sec, nsec, source, offset, 0) + members(fields)
    return struct.pack("<I", len(body)) + body


def raw_record(fields_bytes, sec=1714558500, nsec=123456789):
    """A record whose fields are given encoded, well formed or not."""
    body = struct.pack("<qIQQB", sec, nsec, 0, 0, 0) + fields_bytes
    return struct.pack("<I", len(body)) + body


def nested(levels):
    """Maps nested `levels` deep counting the record's own (the decoder's
    limit is 64)."""
    inner = {}
    for _ in range(levels - 2):
        inner = {"n": inner}
    return {"n": inner}


SEEDS = {
    "one": record({"message": "hello", "seq": 0}),
    "types": record({"n": None, "t": True, "f": False, "i": -(2 ** 63), "x": 2.5,
                     "s": b"bad \xff utf-8 \x00 nul", "m": {"a": [1, "two", {"b": None}]}}),
    "several": b"".join(record({"seq": i, "log": "line %d\n" % i}, source=7, offset=100 * i)
                        for i in range(5)),
    "empty_fields": record({}),
    "torn": record({"message": "cut here"})[:-3],
    # Damage inside the fields, lengths and headers intact: what a chunk whose
    # fields are not walked up front (fields_checked) leaves to its walkers.
    "bad_tag_between": record({"seq": 0}) + raw_record(varint(1) + string("log") + b"\xee")
                       + record({"seq": 2}),
    "map_shorter_than_record": raw_record(members({"a": 1}) + b"\x00"),
    "nested_64_then_65": record(nested(64)) + record(nested(65)),
}

if __name__ == "__main__":
    folder = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "chunk")
    os.makedirs(folder, exist_ok=True)
    for name, data in SEEDS.items():
        with open(os.path.join(folder, name), "wb") as f:
            f.write(data)
