"""ClickHouse's compressed block framing (`compress=1`, `decompress=1`), written here from its
description, independently of the endpoint's own code: a 16-byte CityHash128 of the block,
then method byte 0x82 (LZ4), the compressed size (+9) and the raw size, then the LZ4 data."""

from __future__ import annotations

import struct

import lz4.block
from clickhouse_cityhash.cityhash import CityHash128


def cityhash(data: bytes) -> bytes:
    value = CityHash128(data)
    return struct.pack("<QQ", value >> 64, value & (2**64 - 1))


def unframe(data: bytes) -> bytes:
    """ClickHouse's compressed block framing, decoded here from its description."""
    out, offset = b"", 0
    while offset < len(data):
        checksum, (method, size, raw) = data[offset:offset + 16], struct.unpack_from(
            "<BII", data, offset + 16)
        block = data[offset + 16:offset + 16 + size]
        assert method == 0x82 and cityhash(block) == checksum
        out += lz4.block.decompress(block[9:], uncompressed_size=raw)
        offset += 16 + size
    return out
