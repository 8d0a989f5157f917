"""Compressed bodies as ClickHouse's HTTP interface speaks them.

Two layers, as on a ClickHouse server:
- HTTP `Content-Encoding` of a request body, and of a response when the request says
  `enable_http_compression=1` and `Accept-Encoding`;
- ClickHouse's own block framing (`decompress=1` for a request body, `compress=1` for a
  response; clickhouse-jdbc sends `compress=1` by default): blocks of
  16-byte CityHash128 checksum | method byte | compressed size (uint32 LE, with the 9-byte
  header) | uncompressed size (uint32 LE) | data; the checksum covers header and data.
"""

from __future__ import annotations

import gzip
import struct
import zlib
from typing import Any

import lz4.block
import lz4.frame
from clickhouse_cityhash.cityhash import CityHash128

_zstd: Any
try:  # what clickhouse-connect itself uses for zstd before Python 3.14
    from backports import zstd as _zstd
except ImportError:  # pragma: no cover
    _zstd = None

NONE_METHOD, LZ4_METHOD, ZSTD_METHOD = 0x02, 0x82, 0x90
HEADER = struct.Struct("<BII")  # method, compressed size incl. header, uncompressed size
CHECKSUM_SIZE = 16
BLOCK_SIZE = 1 << 20  # ClickHouse's max_compress_block_size
_MASK64 = (1 << 64) - 1


class CompressionError(ValueError):
    """A body that does not decode: ClickHouse answers 400 (CANNOT_DECOMPRESS, code 271)."""


def _checksum(data: bytes) -> bytes:
    value = CityHash128(data)
    return struct.pack("<QQ", value >> 64 & _MASK64, value & _MASK64)


def native_compress(data: bytes) -> bytes:
    """`data` in ClickHouse's LZ4 block framing, 1 MiB per block."""
    out = bytearray()
    for start in range(0, max(len(data), 1), BLOCK_SIZE):
        chunk = data[start:start + BLOCK_SIZE]
        packed = lz4.block.compress(chunk, store_size=False)
        framed = HEADER.pack(LZ4_METHOD, HEADER.size + len(packed), len(chunk)) + packed
        out += _checksum(framed) + framed
    return bytes(out)


def native_decompress(data: bytes) -> bytes:
    """The bytes inside ClickHouse's block framing; every checksum verified."""
    out, offset = bytearray(), 0
    while offset < len(data):
        if len(data) - offset < CHECKSUM_SIZE + HEADER.size:
            raise CompressionError("truncated compressed block header")
        checksum = data[offset:offset + CHECKSUM_SIZE]
        method, size, raw_size = HEADER.unpack_from(data, offset + CHECKSUM_SIZE)
        framed = data[offset + CHECKSUM_SIZE:offset + CHECKSUM_SIZE + size]
        if size < HEADER.size or len(framed) != size:
            raise CompressionError("truncated compressed block")
        if _checksum(framed) != checksum:
            raise CompressionError("checksum doesn't match: corrupted data")
        payload = framed[HEADER.size:]
        try:
            if method == LZ4_METHOD:
                out += lz4.block.decompress(payload, uncompressed_size=raw_size)
            elif method == ZSTD_METHOD and _zstd is not None:
                out += _zstd.decompress(payload)
            elif method == NONE_METHOD:
                out += payload
            else:
                raise CompressionError(f"unknown compression method byte {method:#x}")
        except (lz4.block.LZ4BlockError, ValueError) as e:
            raise CompressionError(f"cannot decompress block: {e}") from e
        offset += CHECKSUM_SIZE + size
    return bytes(out)


def http_encodings() -> tuple[str, ...]:
    """The `Content-Encoding`s this endpoint reads and writes."""
    return ("gzip", "deflate", "lz4") + (("zstd",) if _zstd is not None else ())


def decode_body(body: bytes, encoding: str) -> bytes:
    encoding = encoding.strip().lower()
    try:
        if encoding in ("", "identity"):
            return body
        if encoding in ("gzip", "x-gzip"):
            return gzip.decompress(body)
        if encoding == "deflate":
            return zlib.decompress(body)
        if encoding == "lz4":
            return lz4.frame.decompress(body)
        if encoding == "zstd" and _zstd is not None:
            return _zstd.decompress(body)
    except Exception as e:  # every codec has its own error type
        raise CompressionError(f"cannot decode {encoding} request body: {e}") from e
    raise CompressionError(f"unknown Content-Encoding {encoding!r}; this endpoint reads "
                           + ", ".join(http_encodings()))


def choose_encoding(accept_encoding: str) -> str | None:
    """The first encoding of `Accept-Encoding` (in the client's order) this endpoint writes."""
    offered = [part.split(";")[0].strip().lower() for part in accept_encoding.split(",")]
    return next((e for e in offered if e in http_encodings()), None)


def encode_body(body: bytes, encoding: str) -> bytes:
    if encoding == "gzip":
        return gzip.compress(body, compresslevel=3)
    if encoding == "deflate":
        return zlib.compress(body, 3)
    if encoding == "lz4":
        return lz4.frame.compress(body)
    if encoding == "zstd" and _zstd is not None:
        return _zstd.compress(body)
    raise ValueError(encoding)
