"""The IDX format of (Fashion-)MNIST: two zero bytes, a type code (0x08 = uint8), the number of
dimensions, one big-endian int32 per dimension, then the data; possibly gzipped."""

import gzip
import struct
import zlib
from pathlib import Path

import numpy as np
import torch

from convlab.errors import CorruptDataError

_UINT8 = 0x08


def read_idx(path: str | Path, expected_ndim: int) -> torch.Tensor:
    """Decode an IDX file of unsigned bytes; a damaged one raises ``CorruptDataError``."""
    path = Path(path)
    stored = path.read_bytes()
    try:
        raw = gzip.decompress(stored) if stored[:2] == b"\x1f\x8b" else stored
    except (OSError, EOFError, zlib.error) as error:
        raise CorruptDataError(f"{path}: cannot decompress ({error})") from error
    if len(raw) < 4:
        raise CorruptDataError(f"{path}: file too short to be IDX ({len(raw)} bytes)")
    zero1, zero2, dtype, ndim = raw[0], raw[1], raw[2], raw[3]
    if zero1 != 0 or zero2 != 0 or dtype != _UINT8:
        raise CorruptDataError(
            f"{path}: bad IDX magic number {raw[:4].hex()} (expected 0000 08 0{expected_ndim})"
        )
    if ndim != expected_ndim:
        raise CorruptDataError(f"{path}: IDX file has {ndim} dimensions, expected {expected_ndim}")
    header_len = 4 + 4 * ndim
    if len(raw) < header_len:
        raise CorruptDataError(f"{path}: truncated IDX header")
    shape = struct.unpack(f">{ndim}I", raw[4:header_len])
    expected = int(np.prod(shape))
    actual = len(raw) - header_len
    if actual != expected:
        raise CorruptDataError(
            f"{path}: header promises shape {tuple(shape)} ({expected} bytes) "
            f"but the file holds {actual} bytes of data (truncated or corrupt)"
        )
    data = np.frombuffer(raw, dtype=np.uint8, offset=header_len).reshape(shape)
    return torch.from_numpy(data.copy())


def write_idx(path: str | Path, array: np.ndarray | torch.Tensor, compress: bool = False) -> None:
    """Write a ``uint8`` array as an IDX file (used for test fixtures and small subsets)."""
    array = np.asarray(array, dtype=np.uint8)
    header = bytes([0, 0, _UINT8, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    payload = header + array.tobytes()
    Path(path).write_bytes(gzip.compress(payload) if compress else payload)
