"""Reading W&B's offline run files (`run-<id>.wandb`) back, for tests.

They are a LevelDB-style log (W&B's `datastore`: a 7-byte file header, 32 KiB blocks of
chunks with a 7-byte header each: checksum, length, type) of protobuf `Record`s, the messages
W&B's own `wandb sync` uploads; its Python reader left the package with wandb-core."""

from __future__ import annotations

import json
import struct
from pathlib import Path

BLOCK, HEADER = 32768, 7
FULL, LAST = 1, 4  # chunk types: a whole record, or the last piece of one


def records(path: Path) -> list:
    """Every protobuf Record of one offline run file."""
    from wandb.proto import wandb_internal_pb2

    data = Path(path).read_bytes()
    assert data[:4] == b":W&B", f"{path} is no W&B run file"
    out, pos, pending = [], HEADER, b""
    while pos + HEADER <= len(data):
        left = BLOCK - pos % BLOCK
        if left < HEADER:  # a block's tail too short for a header is padding
            pos += left
            continue
        _, length, kind = struct.unpack("<IHB", data[pos:pos + HEADER])
        if kind == 0:  # zero padding to the end of the block
            pos += left
            continue
        pending += data[pos + HEADER:pos + HEADER + length]
        pos += HEADER + length
        if kind in (FULL, LAST):
            record = wandb_internal_pb2.Record()
            record.ParseFromString(pending)
            out.append(record)
            pending = b""
    return out


def summary(path: Path) -> dict:
    """The run summary's top-level values that a file's summary records set (later wins)."""
    out = {}
    for record in records(path):
        if record.WhichOneof("record_type") == "summary":
            for item in record.summary.update:
                key = item.key or "/".join(item.nested_key)
                out[key] = json.loads(item.value_json)
    return out


def history_keys(path: Path) -> set[str]:
    """Every key a file's history (stepped) records hold."""
    return {item.key or "/".join(item.nested_key) for record in records(path)
            if record.WhichOneof("record_type") == "history" for item in record.history.item}


def exit_code(path: Path) -> int | None:
    """The exit code a file's run ended with (None: the file has no exit record)."""
    codes = [r.exit.exit_code for r in records(path) if r.WhichOneof("record_type") == "exit"]
    return codes[-1] if codes else None
