"""A stand-in for torchvision's Fashion-MNIST downloader: no network in the tests."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import pytest

from tests.conftest import make_fashion_fixture


@pytest.fixture
def fake_download(monkeypatch):
    """Replace ``torchvision.datasets.FashionMNIST``: each call is recorded as ``(root, train,
    download)`` and writes the tiny fixture where torchvision puts its files
    (``<root>/FashionMNIST/raw``); ``fake_download.fail = True`` makes it raise instead."""
    import torchvision.datasets

    class FakeFashionMNIST:
        calls: ClassVar[list[tuple]] = []
        fail = False

        def __init__(self, root, train=True, download=False):
            FakeFashionMNIST.calls.append((root, train, download))
            if FakeFashionMNIST.fail:
                raise RuntimeError("no route to host")
            if download:
                make_fashion_fixture(Path(root) / "FashionMNIST" / "raw")

    FakeFashionMNIST.calls = []
    monkeypatch.setattr(torchvision.datasets, "FashionMNIST", FakeFashionMNIST)
    return FakeFashionMNIST
