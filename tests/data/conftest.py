"""A stand-in for the Fashion-MNIST download: no network in the tests."""

import gzip
import hashlib
import urllib.error
from typing import ClassVar

import pytest

from convlab.data import fashion_mnist
from tests.conftest import make_fashion_fixture


@pytest.fixture
def fake_download(monkeypatch, tmp_path_factory):
    """Replace ``fashion_mnist.fetch``: each file fetched is recorded by name and is the tiny
    fixture's, whose MD5s stand in for the published ones; ``fake_download.fail = True`` makes
    it fail as a machine without internet does."""
    mirror = make_fashion_fixture(tmp_path_factory.mktemp("mirror"))
    for name in fashion_mnist.MD5:  # the mirror has every file gzipped
        if not (mirror / name).is_file():
            (mirror / name).write_bytes(gzip.compress((mirror / name[:-3]).read_bytes()))

    class FakeMirror:
        calls: ClassVar[list[str]] = []
        fail = False

    def fetch(url, path):
        FakeMirror.calls.append(url.removeprefix(fashion_mnist.MIRROR))
        if FakeMirror.fail:
            raise urllib.error.URLError("no route to host")
        path.write_bytes((mirror / path.name).read_bytes())

    md5 = {
        name: hashlib.md5((mirror / name).read_bytes()).hexdigest() for name in fashion_mnist.MD5
    }
    monkeypatch.setattr(fashion_mnist, "fetch", fetch)
    monkeypatch.setattr(fashion_mnist, "MD5", md5)
    FakeMirror.calls = []
    return FakeMirror
