"""Avro single-object encoding of StreamMonitor events (docs/producing.md).

A record is the marker C3 01, the 8-byte little-endian CRC-64-AVRO fingerprint of the writer schema's Parsing
Canonical Form, then the Avro binary body. python3-avro writes and reads the body; it has no fingerprint function,
so this module computes it as the Avro specification defines it.
"""

import glob
import io
import os
import struct

import avro.io
import avro.schema

MARKER = b"\xc3\x01"
HEADER_LENGTH = 10

_EMPTY = 0xC15D213AA4D7A795


def _table():
    table = []
    for byte in range(256):
        fp = byte
        for _ in range(8):
            fp = (fp >> 1) ^ (_EMPTY & -(fp & 1))
        table.append(fp)
    return table


_TABLE = _table()


def fingerprint(schema):
    """CRC-64-AVRO (Rabin) fingerprint of the schema's Parsing Canonical Form, as an unsigned 64-bit int."""
    fp = _EMPTY
    for byte in schema.canonical_form.encode("utf-8"):
        fp = (fp >> 8) ^ _TABLE[(fp ^ byte) & 0xFF]
    return fp


def load_schema(path):
    """Parses one .avsc file."""
    with open(path, encoding="utf-8") as f:
        return avro.schema.parse(f.read())


def load_schemas(directory):
    """Every schema under directory and directory/history (older writer versions), by fingerprint."""
    paths = glob.glob(os.path.join(directory, "*.avsc")) + glob.glob(os.path.join(directory, "history", "*.avsc"))
    return {fingerprint(s): s for s in map(load_schema, paths)}


def encode(schema, record):
    """Single-object encoding of record (a dict with the schema's field names)."""
    buffer = io.BytesIO()
    buffer.write(MARKER)
    buffer.write(struct.pack("<Q", fingerprint(schema)))
    avro.io.DatumWriter(schema).write(record, avro.io.BinaryEncoder(buffer))
    return buffer.getvalue()


def decode(data, reader_schema, writer_schemas=None):
    """Decodes a single-object-encoded record as reader_schema.

    writer_schemas maps fingerprints to the schemas a producer may have written with (load_schemas); Avro schema
    resolution reads an older or newer writer version as reader_schema. Raises ValueError for bytes that are not
    single-object encoding or whose writer schema is unknown.
    """
    if len(data) < HEADER_LENGTH or data[:2] != MARKER:
        raise ValueError("not Avro single-object encoding (no C3 01 marker)")
    writers = writer_schemas or {fingerprint(reader_schema): reader_schema}
    (fp,) = struct.unpack("<Q", data[2:HEADER_LENGTH])
    writer = writers.get(fp)
    if writer is None:
        raise ValueError(f"unknown writer schema fingerprint {fp:016x}")
    reader = avro.io.DatumReader(writer, reader_schema)
    return reader.read(avro.io.BinaryDecoder(io.BytesIO(data[HEADER_LENGTH:])))
