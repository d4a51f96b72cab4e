"""FashionMNISTDataModule on a tiny generated fixture and on the real data set."""

import hashlib
import logging
import os
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from convlab.data.fashion_mnist import (
    CLASS_NAMES,
    FILES,
    FashionMNISTDataModule,
    file_digest,
    load_fashion_mnist,
    locate_fashion_mnist,
    locate_in,
)
from convlab.data.idx import read_idx, write_idx
from convlab.errors import CorruptDataError, DataNotFoundError
from tests.conftest import locate_real_fashion_mnist


def _module(data_dir, **kwargs):
    defaults = {"system_dir": None, "download": False, "val_size": 100, "batch_size": 32}
    return FashionMNISTDataModule(data_dir=str(data_dir), **{**defaults, **kwargs})


def test_fixture_splits_shapes_and_ranges(fashion_fixture):
    dm = _module(fashion_fixture)
    dm.prepare_data()
    dm.setup("fit")
    sizes = {split: len(x) for split, (x, _) in dm.splits.items()}
    assert sizes == {"train": 500, "val": 100, "test": 200}
    x, y = next(iter(dm.train_dataloader()))
    assert x.shape == (32, 1, 28, 28) and x.dtype == torch.float32
    assert float(x.min()) >= 0.0 and float(x.max()) <= 1.0
    assert y.dtype == torch.int64 and int(y.max()) < 10


def test_split_is_fixed_by_split_seed_not_run_seed(fashion_fixture):
    def val_images(seed):
        torch.manual_seed(seed)
        dm = _module(fashion_fixture)
        dm.setup("fit")
        return dm.splits["val"][0]

    assert torch.equal(val_images(0), val_images(1))


def test_images_are_the_file_bytes_over_255(fashion_fixture):
    dm = _module(fashion_fixture)
    dm.setup("test")
    raw = read_idx(fashion_fixture / "t10k-images-idx3-ubyte.gz", expected_ndim=3)
    assert dm.splits["test"][0].shape == (200, 1, 28, 28)
    torch.testing.assert_close(dm.splits["test"][0][:, 0], raw.float() / 255, rtol=0, atol=0)
    expected = read_idx(fashion_fixture / "t10k-labels-idx1-ubyte", expected_ndim=1).long()
    assert torch.equal(dm.splits["test"][1], expected)


def test_normalize_standardises(fashion_fixture):
    """(x / 255 - 0.2860) / 0.3530: the training set's mean and std, for every split."""
    plain, standard = _module(fashion_fixture), _module(fashion_fixture, normalize=True)
    plain.setup("fit")
    standard.setup("fit")
    for split in ("train", "val", "test"):
        expected = (plain.splits[split][0] - 0.2860) / 0.3530
        torch.testing.assert_close(standard.splits[split][0], expected)
        assert torch.equal(standard.splits[split][1], plain.splits[split][1])
    # A black pixel (0) and a white one (255) land where the statistics put them.
    assert float(standard.splits["train"][0].min()) == pytest.approx(-0.2860 / 0.3530, abs=1e-6)


def test_torchvision_layout_is_found(tmp_path):
    from tests.conftest import make_fashion_fixture

    make_fashion_fixture(tmp_path / "FashionMNIST" / "raw", n_train=20, n_test=10)
    files = locate_fashion_mnist(tmp_path, system_dir=None, download=False)
    assert files.train_images.parent == tmp_path / "FashionMNIST" / "raw"


def test_missing_everywhere_names_all_three_ways(tmp_path):
    with pytest.raises(DataNotFoundError) as error:
        locate_fashion_mnist(tmp_path / "none", system_dir=tmp_path / "nosys", download=False)
    message = str(error.value)
    assert "data.data_dir" in message
    assert "apt-get install dataset-fashion-mnist" in message
    assert "download" in message


def test_truncated_images_fail_in_prepare_data(fashion_fixture):
    path = fashion_fixture / "train-labels-idx1-ubyte"
    path.write_bytes(path.read_bytes()[:-7])
    with pytest.raises(CorruptDataError, match="truncated or corrupt"):
        _module(fashion_fixture).prepare_data()


def test_trailing_bytes_fail_in_prepare_data(fashion_fixture):
    path = fashion_fixture / "t10k-labels-idx1-ubyte"
    path.write_bytes(path.read_bytes() + b"\x03")
    with pytest.raises(CorruptDataError, match="holds 201 bytes"):
        _module(fashion_fixture).prepare_data()


@pytest.mark.parametrize(("shape", "split"), [((600, 28, 27), "train"), ((200, 27, 28), "test")])
def test_images_that_are_not_28x28_are_corrupt(fashion_fixture, shape, split):
    prefix = "train" if split == "train" else "t10k"
    write_idx(fashion_fixture / f"{prefix}-images-idx3-ubyte.gz", np.zeros(shape, np.uint8), True)
    with pytest.raises(CorruptDataError, match=rf"{split} images are \({shape[1]}, {shape[2]}\), "
                       "not 28x28"):  # fmt: skip
        _module(fashion_fixture).prepare_data()


@pytest.mark.parametrize(("labels", "split"), [(599, "train"), (201, "test")])
def test_image_and_label_counts_must_agree(fashion_fixture, labels, split):
    prefix = "train" if split == "train" else "t10k"
    write_idx(fashion_fixture / f"{prefix}-labels-idx1-ubyte", np.zeros(labels, np.uint8))
    images = 600 if split == "train" else 200
    with pytest.raises(CorruptDataError, match=f"{split} has {images} images but {labels} labels"):
        _module(fashion_fixture).prepare_data()


@pytest.mark.parametrize("val_size", [0, 600])
def test_val_size_must_leave_training_images(fashion_fixture, val_size):
    message = rf"data\.val_size={val_size} must be between 1 and 599"
    with pytest.raises(CorruptDataError, match=message):
        _module(fashion_fixture, val_size=val_size).prepare_data()


def test_label_out_of_range_is_corrupt(fashion_fixture):
    path = fashion_fixture / "t10k-labels-idx1-ubyte"
    raw = bytearray(path.read_bytes())
    raw[-1] = 10  # the first label past the ten classes
    path.write_bytes(bytes(raw))
    with pytest.raises(CorruptDataError, match=r"test labels range up to 10, expected 0\.\.9"):
        _module(fashion_fixture).prepare_data()


def test_real_data(real_fashion_mnist):
    dm = FashionMNISTDataModule(data_dir=str(real_fashion_mnist), download=False)
    dm.prepare_data()
    dm.setup("fit")
    assert [len(dm.splits[s][0]) for s in ("train", "val", "test")] == [55000, 5000, 10000]
    labels = torch.cat([dm.splits["train"][1], dm.splits["val"][1]])
    # Fashion-MNIST is balanced: 6,000 training images per class.
    assert torch.bincount(labels).tolist() == [6000] * 10
    assert torch.bincount(dm.splits["test"][1]).tolist() == [1000] * 10
    mean = float(torch.cat([dm.splits["train"][0], dm.splits["val"][0]]).mean())
    assert abs(mean - 0.2860) < 1e-3


def test_the_tests_find_the_real_data_where_training_does(
    real_fashion_mnist, tmp_path, monkeypatch
):
    # Only in <root>/data/fashion_mnist, as `make train` leaves it where no system copy exists.
    copy = tmp_path / "data" / "fashion_mnist"
    copy.mkdir(parents=True)
    for stem in FILES.values():
        found = next(real_fashion_mnist.glob(f"{stem}*"))
        (copy / found.name).symlink_to(found)
    monkeypatch.setenv("CONVLAB_ROOT", str(tmp_path))
    no_system_copy = f"data.system_dir={tmp_path / 'no-system-copy'}"
    assert locate_real_fashion_mnist(tmp_path / "run", no_system_copy) == copy

    for path in copy.iterdir():
        path.unlink()
    with pytest.raises(pytest.fail.Exception) as failure:
        locate_real_fashion_mnist(tmp_path / "run", no_system_copy, "data.download=false")
    with pytest.raises(DataNotFoundError) as error:  # train.py's message, word for word
        locate_fashion_mnist(copy, tmp_path / "no-system-copy", download=False)
    assert str(failure.value) == str(error.value)


# --- the data a run uses is the data it names (issue: no silent fallbacks) -------------------


def test_explicit_data_dir_missing_a_file_is_an_error_naming_it(fashion_fixture):
    (fashion_fixture / "t10k-labels-idx1-ubyte").unlink()
    # Even with a system copy to fall back on, a folder the user named is the only place.
    dm = FashionMNISTDataModule(data_dir=str(fashion_fixture), system_dir=str(fashion_fixture),
                                download=False)  # fmt: skip
    with pytest.raises(DataNotFoundError) as error:
        dm.prepare_data()
    message = str(error.value)
    assert f"data.data_dir={fashion_fixture} (set explicitly)" in message
    assert "missing t10k-labels-idx1-ubyte[.gz]" in message
    assert "train-images" not in message.splitlines()[1]  # only what is missing is named
    assert len(message.splitlines()) <= 5


def test_misspelled_data_dir_is_an_error_not_a_fallback(tmp_path, fashion_fixture):
    typo = tmp_path / "fashon"
    dm = FashionMNISTDataModule(data_dir=str(typo), default_dir=str(fashion_fixture),
                                system_dir=str(fashion_fixture), download=True)  # fmt: skip
    with pytest.raises(DataNotFoundError, match=r"fashon \(set explicitly\): no such folder"):
        dm.prepare_data()
    assert not typo.exists()  # nothing downloaded into a misspelled folder


def test_default_look_up_says_its_fallback_in_one_line(tmp_path, fashion_fixture, caplog):
    dm = FashionMNISTDataModule(
        default_dir=str(tmp_path / "empty"),
        system_dir=str(fashion_fixture),
        download=False,
        val_size=100,
    )
    with caplog.at_level(logging.INFO, logger="convlab.data.fashion_mnist"):
        dm.prepare_data()
        dm.setup("fit")
    notices = [r.getMessage() for r in caplog.records if "system copy" in r.getMessage()]
    assert notices == [f"Fashion-MNIST: using the system copy {fashion_fixture} "
                       f"(nothing in {tmp_path / 'empty'})"]  # fmt: skip
    assert dm.record_extras()["data"]["source"] == "system"


def test_record_extras_names_the_files_and_their_checksums(fashion_fixture):
    dm = _module(fashion_fixture)
    dm.prepare_data()
    dm.setup("fit")
    extras = dm.record_extras()["data"]
    assert extras["dir"] == str(fashion_fixture.resolve())
    assert extras["source"] == "data_dir"
    assert set(extras["files"]) == {
        "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte",
        "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte",
    }  # fmt: skip
    labels = (fashion_fixture / "t10k-labels-idx1-ubyte").read_bytes()
    assert extras["files"]["t10k-labels-idx1-ubyte"] == hashlib.sha256(labels).hexdigest()[:16]


def test_batch_larger_than_the_training_split_is_a_warning(fashion_fixture, caplog):
    dm = _module(fashion_fixture, batch_size=7000)
    with caplog.at_level(logging.WARNING, logger="convlab.data.fashion_mnist"):
        dm.setup("fit")
    (message,) = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert message == (
        "data.batch_size=7000 is larger than the training split (500 images): every epoch is one "
        "step on the whole split. Use data.batch_size=500 or less."
    )
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="convlab.data.fashion_mnist"):
        _module(fashion_fixture, batch_size=500).setup("fit")
    assert not caplog.records


# --- the look-up's every branch, with the download replaced (no network) ----------------------


FOUR = ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz",
        "t10k-labels-idx1-ubyte.gz"]  # fmt: skip


def test_a_download_that_is_not_the_published_file_is_refused_and_removed(
    tmp_path, fake_download, monkeypatch, caplog
):
    from convlab.data import fashion_mnist

    monkeypatch.setitem(fashion_mnist.MD5, "t10k-images-idx3-ubyte.gz", "0" * 32)
    level = caplog.at_level(logging.INFO, logger="convlab.data.fashion_mnist")
    with level, pytest.raises(DataNotFoundError, match="download into it: failed"):
        locate_in(tmp_path)
    assert "download failed: t10k-images-idx3-ubyte.gz: not the published file (MD5 differs)" in (
        caplog.messages
    )
    assert not (tmp_path / "t10k-images-idx3-ubyte.gz").exists()
    assert not list(tmp_path.glob("*.part"))


def test_explicit_folder_downloads_into_it_when_allowed(tmp_path, fake_download, caplog):
    target = tmp_path / "fresh"
    target.mkdir()
    dm = FashionMNISTDataModule(data_dir=str(target), system_dir=None, download=True, val_size=100)
    with caplog.at_level(logging.INFO, logger="convlab.data.fashion_mnist"):
        dm.prepare_data()
    assert fake_download.calls == FOUR
    assert f"Fashion-MNIST: downloading into data.data_dir={target}" in caplog.messages
    files = dm.locate()
    assert files.source == "data_dir"  # downloaded once: found there from now on
    assert files.train_images == target / "train-images-idx3-ubyte.gz"
    (tmp_path / "other").mkdir()
    downloaded = locate_in(tmp_path / "other")
    assert downloaded.source == "download"  # download=True is the default
    assert downloaded.test_labels == tmp_path / "other" / "t10k-labels-idx1-ubyte.gz"


def test_setup_never_downloads(tmp_path, fake_download):
    dm = FashionMNISTDataModule(data_dir=str(tmp_path), system_dir=None, download=True)
    with pytest.raises(DataNotFoundError, match="disabled"):
        dm.setup("fit")
    with pytest.raises(DataNotFoundError, match="disabled"):
        dm.record_extras()
    default = FashionMNISTDataModule(default_dir=str(tmp_path), system_dir=None, download=True)
    with pytest.raises(DataNotFoundError, match=r"3\. download: disabled"):
        default.setup("fit")
    assert fake_download.calls == []


def test_explicit_folder_messages_say_what_was_tried(tmp_path, fake_download, caplog):
    def message(data_dir, download):
        with pytest.raises(DataNotFoundError) as error:
            locate_in(data_dir, download)  # no system copy to fall back on
        return str(error.value)

    tail = (
        "A data_dir you set is the only place looked in (never a silent fallback): fix the "
        "path, or drop the override to use the default look-up (data/fashion_mnist, then "
        "the system copy /usr/share/datasets/fashion-mnist)."
    )
    absent = tmp_path / "absent"
    assert message(absent, True) == (
        "Fashion-MNIST not found. Tried:\n"
        f"  1. data.data_dir={absent} (set explicitly): no such folder\n"
        "  2. download into it: not tried (create the folder first)\n" + tail
    )
    a_file = tmp_path / "file"
    a_file.write_text("")
    assert "(set explicitly): not a folder\n" in message(a_file, True)
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "t10k-labels-idx1-ubyte").write_bytes(b"")
    missing = (
        "missing train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz], "
        "t10k-images-idx3-ubyte[.gz]"
    )
    assert message(empty, False) == (
        "Fashion-MNIST not found. Tried:\n"
        f"  1. data.data_dir={empty} (set explicitly): {missing}\n"
        "  2. download into it: disabled (data.download=false)\n" + tail
    )
    fake_download.fail = True
    with caplog.at_level(logging.INFO, logger="convlab.data.fashion_mnist"):
        failed = message(empty, True)
    assert "  2. download into it: failed (no internet?)\n" in failed
    assert "download failed: <urlopen error no route to host>" in caplog.messages


def test_default_look_up_downloads_into_the_default_folder(tmp_path, fake_download, caplog):
    target = tmp_path / "default"
    target.mkdir()
    dm = FashionMNISTDataModule(default_dir=str(target), system_dir=None, val_size=100)
    with caplog.at_level(logging.INFO, logger="convlab.data.fashion_mnist"):
        dm.prepare_data()
    assert fake_download.calls == FOUR
    assert f"Fashion-MNIST: downloading into {target}" in caplog.messages
    files = locate_fashion_mnist(tmp_path / "again", None, True)
    assert files.source == "download"


def test_default_look_up_messages_say_what_was_tried(tmp_path, fake_download):
    def message(*args):
        with pytest.raises(DataNotFoundError) as error:
            locate_fashion_mnist(*args)
        return str(error.value)

    tail = (
        "Fix one of them: put the four IDX files (train-images-idx3-ubyte, "
        "train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte, .gz or not) "
        "in data.data_dir, install the system package, or allow the download."
    )
    assert message(None, None, True) == (
        "Fashion-MNIST not found. Tried:\n"
        "  1. data.data_dir: not set\n"
        "  2. system copy: disabled (data.system_dir=null)\n"
        "  3. download: disabled (data.download=false)\n" + tail
    )
    assert fake_download.calls == []  # nowhere to download into
    fake_download.fail = True
    assert message(tmp_path / "d", tmp_path / "s", True) == (
        "Fashion-MNIST not found. Tried:\n"
        f"  1. data.data_dir={tmp_path / 'd'}: the four IDX files are not there\n"
        f"  2. system copy {tmp_path / 's'}: not installed "
        "(Debian/Ubuntu: apt-get install dataset-fashion-mnist)\n"
        "  3. download into data.data_dir: failed (no internet?)\n" + tail
    )


def test_system_copy_without_a_data_dir_says_so(fashion_fixture, caplog):
    with caplog.at_level(logging.INFO, logger="convlab.data.fashion_mnist"):
        files = locate_fashion_mnist(None, fashion_fixture, download=False)
    assert files.source == "system"
    assert (
        f"Fashion-MNIST: using the system copy {fashion_fixture} (data.data_dir not set)"
        in caplog.messages
    )


def test_digests_and_decoded_files_are_cached_per_file_not_per_size(tmp_path):
    """Two folders whose files have the same sizes and times but not the same bytes."""
    from tests.conftest import make_fashion_fixture

    first = make_fashion_fixture(tmp_path / "a", n_train=20, n_test=10)
    second = tmp_path / "b"
    second.mkdir()
    for path in first.iterdir():
        data = bytearray(path.read_bytes())
        if path.name.endswith("labels-idx1-ubyte"):
            data[-1] = (data[-1] + 1) % 10
        (second / path.name).write_bytes(bytes(data))
    for path in (*first.iterdir(), *second.iterdir()):
        os.utime(path, ns=(1_000_000_000, 1_000_000_000))
    labels = "t10k-labels-idx1-ubyte"
    assert file_digest(first / labels) != file_digest(second / labels)
    assert (
        file_digest(second / labels, length=64)
        == hashlib.sha256((second / labels).read_bytes()).hexdigest()
    )
    one = load_fashion_mnist(locate_fashion_mnist(first, None, False))
    two = load_fashion_mnist(locate_fashion_mnist(second, None, False))
    assert not torch.equal(one[3], two[3])


def test_corrupt_split_names_the_folder(fashion_fixture):
    path = fashion_fixture / "t10k-labels-idx1-ubyte"
    write_idx(path, np.zeros(199, np.uint8))
    with pytest.raises(CorruptDataError, match=rf"^{fashion_fixture}: test has 200 images"):
        _module(fashion_fixture).prepare_data()


def test_one_validation_image_is_enough(fashion_fixture):
    _module(fashion_fixture, val_size=1).prepare_data()
    with pytest.raises(CorruptDataError, match=r"\(the training file holds 600 images\)"):
        _module(fashion_fixture, val_size=600).prepare_data()


def test_defaults_and_task_facts():
    dm = FashionMNISTDataModule()
    assert dict(dm.hparams) == {
        "data_dir": None, "default_dir": None, "system_dir": "/usr/share/datasets/fashion-mnist",
        "download": True, "batch_size": 256, "eval_batch_size": 1024, "val_size": 5000,
        "split_seed": 42, "normalize": False, "shuffle_seed": None, "device": "cpu",
    }  # fmt: skip
    assert dm.task_facts() == {"num_classes": 10, "class_names": list(CLASS_NAMES)}
    assert CLASS_NAMES[0] == "t-shirt" and CLASS_NAMES[9] == "ankle boot"


def test_loaders_batch_sizes_order_seed_and_shards(fashion_fixture):
    dm = _module(fashion_fixture, batch_size=32, eval_batch_size=64, shuffle_seed=7)
    dm.setup("fit")
    train, val, test = dm.train_dataloader(), dm.val_dataloader(), dm.test_dataloader()
    assert (train.batch_size, val.batch_size, test.batch_size) == (32, 64, 64)
    assert (train.shuffle, val.shuffle, test.shuffle) == (True, False, False)
    assert train.seed == 7 and (train.rank, train.world_size) == (0, 1)
    assert torch.equal(next(iter(val))[0], dm.splits["val"][0][:64])
    torch.manual_seed(123)
    unseeded = _module(fashion_fixture)
    unseeded.setup("fit")
    assert unseeded.train_dataloader().seed == 123  # the run's seed when none is given
    dm.trainer = SimpleNamespace(global_rank=1, world_size=2)
    shard = dm.val_dataloader()
    assert (shard.rank, shard.world_size) == (1, 2)
    assert torch.equal(next(iter(shard))[0], dm.splits["val"][0][1::2][:64])


def test_batch_warning_counts_per_process_under_ddp(fashion_fixture, caplog):
    for rank in (0, 1):
        dm = _module(fashion_fixture, batch_size=300)
        dm.trainer = SimpleNamespace(global_rank=rank, world_size=2)
        with caplog.at_level(logging.WARNING, logger="convlab.data.fashion_mnist"):
            dm.setup("fit")
    (message,) = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert "(500 images, 250 per process)" in message and "data.batch_size=250 or less" in message


@pytest.mark.parametrize("copy", ["as is", "decompressed"])
def test_test_files_under_the_train_names_are_refused(fashion_fixture, copy):
    """The same images (compressed or not: the check compares what the files hold, not their
    bytes) would train and test the run on one set."""
    test_images = fashion_fixture / "t10k-images-idx3-ubyte.gz"
    train_images = fashion_fixture / "train-images-idx3-ubyte.gz"
    if copy == "as is":
        train_images.write_bytes(test_images.read_bytes())
    else:
        train_images.unlink()
        train_images = train_images.with_suffix("")
        write_idx(train_images, read_idx(test_images, expected_ndim=3))
    labels = fashion_fixture / "t10k-labels-idx1-ubyte"
    (fashion_fixture / "train-labels-idx1-ubyte").write_bytes(labels.read_bytes())
    message = (f"{train_images} and {test_images} hold the same 200 images: the run would be "
               "tested on the images it trained on. Put the training files (train-*) and the "
               "test files (t10k-*) there under their own names.")  # fmt: skip
    with pytest.raises(CorruptDataError) as error:
        _module(fashion_fixture).prepare_data()
    assert str(error.value) == message
