"""The IDX reader: round trip, and every kind of damage gives a clear CorruptDataError."""

import gzip

import numpy as np
import pytest

from convlab.data.idx import read_idx, write_idx
from convlab.errors import CorruptDataError


@pytest.mark.parametrize("compress", [False, True])
def test_round_trip(tmp_path, compress):
    array = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    path = tmp_path / "x.idx"
    write_idx(path, array, compress=compress)
    assert read_idx(path, expected_ndim=3).numpy().tolist() == array.tolist()


def test_truncated_file_names_the_sizes(tmp_path):
    path = tmp_path / "x.idx"
    write_idx(path, np.zeros((10, 28, 28), dtype=np.uint8))
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(CorruptDataError, match=r"truncated or corrupt"):
        read_idx(path, expected_ndim=3)


def test_bad_magic(tmp_path):
    path = tmp_path / "x.idx"
    path.write_bytes(b"\x12\x34\x08\x03" + bytes(100))
    with pytest.raises(CorruptDataError, match="magic"):
        read_idx(path, expected_ndim=3)


def test_wrong_dimensions(tmp_path):
    path = tmp_path / "x.idx"
    write_idx(path, np.zeros(5, dtype=np.uint8))
    with pytest.raises(CorruptDataError, match="1 dimensions, expected 3"):
        read_idx(path, expected_ndim=3)


def test_broken_gzip_stream(tmp_path):
    path = tmp_path / "x.idx.gz"
    payload = gzip.compress(bytes([0, 0, 8, 1, 0, 0, 0, 50]) + bytes(50))
    path.write_bytes(payload[:-12])
    with pytest.raises(CorruptDataError, match="cannot decompress"):
        read_idx(path, expected_ndim=1)
