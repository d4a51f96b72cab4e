"""The IDX reader: round trip, and every kind of damage gives a clear CorruptDataError."""

import gzip
import struct

import numpy as np
import pytest
import torch

from convlab.data.idx import read_idx, write_idx
from convlab.errors import CorruptDataError


def _idx_bytes(array: np.ndarray) -> bytes:
    """A valid IDX file, written by hand from the format: 0, 0, 0x08, ndim, big-endian sizes."""
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(np.uint8).tobytes()


@pytest.mark.parametrize("compress", [False, True])
def test_round_trip(tmp_path, compress):
    array = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    path = tmp_path / "x.idx"
    write_idx(path, array, compress=compress)
    assert read_idx(path, expected_ndim=3).numpy().tolist() == array.tolist()


def test_writer_follows_the_format(tmp_path):
    array = np.arange(6, dtype=np.uint8).reshape(2, 3)
    write_idx(tmp_path / "x.idx", array)
    assert (tmp_path / "x.idx").read_bytes() == _idx_bytes(array)
    write_idx(tmp_path / "x.idx.gz", array, compress=True)
    assert gzip.decompress((tmp_path / "x.idx.gz").read_bytes()) == _idx_bytes(array)


def test_reads_a_hand_written_file(tmp_path):
    array = np.array([[0, 255, 7], [1, 2, 3]], dtype=np.uint8)
    (tmp_path / "x.idx").write_bytes(_idx_bytes(array))
    tensor = read_idx(tmp_path / "x.idx", expected_ndim=2)
    assert tensor.dtype == torch.uint8 and tensor.tolist() == array.tolist()


def test_empty_and_non_uint8_arrays(tmp_path):
    write_idx(tmp_path / "empty.idx", np.zeros(0, dtype=np.uint8))
    assert read_idx(tmp_path / "empty.idx", expected_ndim=1).shape == (0,)
    write_idx(tmp_path / "ints.idx", np.array([1, 2, 250]))  # int64 in, bytes on disk
    assert (tmp_path / "ints.idx").stat().st_size == 8 + 3
    assert read_idx(tmp_path / "ints.idx", expected_ndim=1).tolist() == [1, 2, 250]


def test_truncated_file_names_the_sizes(tmp_path):
    path = tmp_path / "x.idx"
    write_idx(path, np.zeros((10, 28, 28), dtype=np.uint8))
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(CorruptDataError, match=r"\(10, 28, 28\) \(7840 bytes\) but the file holds "
                       r"7740 bytes of data \(truncated or corrupt\)"):  # fmt: skip
        read_idx(path, expected_ndim=3)


def test_trailing_bytes_are_corrupt_too(tmp_path):
    path = tmp_path / "x.idx"
    path.write_bytes(_idx_bytes(np.zeros((2, 3), dtype=np.uint8)) + b"\x00")
    with pytest.raises(CorruptDataError, match=r"\(6 bytes\) but the file holds 7 bytes"):
        read_idx(path, expected_ndim=2)


@pytest.mark.parametrize(
    "magic",
    [
        b"\x12\x34\x08\x03",  # not IDX at all
        b"\x01\x00\x08\x03",  # first byte not zero
        b"\x00\x01\x08\x03",  # second byte not zero
        b"\x00\x00\x0d\x03",  # IDX, but of float32 (type 0x0D), not unsigned bytes
        b"\x00\x00\x09\x03",  # signed bytes
    ],
)
def test_bad_magic(tmp_path, magic):
    path = tmp_path / "x.idx"
    # A header otherwise valid for 1x2x2 bytes, so only the magic number can be at fault.
    path.write_bytes(magic + struct.pack(">3I", 1, 2, 2) + bytes(4))
    message = rf"bad IDX magic number {magic.hex()} \(expected 0000 08 03\)"
    with pytest.raises(CorruptDataError, match=message):
        read_idx(path, expected_ndim=3)


def test_wrong_dimensions(tmp_path):
    path = tmp_path / "x.idx"
    write_idx(path, np.zeros(5, dtype=np.uint8))
    with pytest.raises(CorruptDataError, match="1 dimensions, expected 3"):
        read_idx(path, expected_ndim=3)


@pytest.mark.parametrize("size_bytes", [0, 4, 11])
def test_truncated_header(tmp_path, size_bytes):
    # Three dimensions need 4 + 3 * 4 = 16 header bytes; the file ends inside the sizes.
    path = tmp_path / "x.idx"
    path.write_bytes(b"\x00\x00\x08\x03" + bytes(size_bytes))
    with pytest.raises(CorruptDataError, match="truncated IDX header"):
        read_idx(path, expected_ndim=3)


@pytest.mark.parametrize("content", [b"", b"\x00\x00\x08"])
def test_file_shorter_than_a_magic_number(tmp_path, content):
    path = tmp_path / "x.idx"
    path.write_bytes(content)
    with pytest.raises(CorruptDataError, match=f"too short to be IDX \\({len(content)} bytes\\)"):
        read_idx(path, expected_ndim=1)


def test_broken_gzip_stream(tmp_path):
    path = tmp_path / "x.idx.gz"
    payload = gzip.compress(bytes([0, 0, 8, 1, 0, 0, 0, 50]) + bytes(50))
    path.write_bytes(payload[:-12])
    with pytest.raises(CorruptDataError, match="cannot decompress"):
        read_idx(path, expected_ndim=1)


def test_errors_name_the_file(tmp_path):
    path = tmp_path / "train-labels-idx1-ubyte"
    path.write_bytes(b"\x00\x00\x08\x01")
    with pytest.raises(CorruptDataError) as raised:
        read_idx(path, expected_ndim=1)
    assert str(raised.value).startswith(f"{path}: ")
