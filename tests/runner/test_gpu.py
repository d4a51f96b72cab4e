"""trainer=gpu: each precision trains with the data held on the GPU. Skipped without CUDA."""

from pathlib import Path

import pytest
import torch

from convlab.data.fashion_mnist import FashionMNISTDataModule
from convlab.runner.run import train
from tests.conftest import compose_config

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device (none found)"),
]


def fixture_overrides(fashion: Path) -> list[str]:
    return [f"data.data_dir={fashion}", "data.system_dir=null", "data.download=false",
            "data.val_size=100", "data.batch_size=50"]  # fmt: skip


def test_data_device_cuda_keeps_every_split_on_the_gpu(fashion_fixture: Path):
    data = FashionMNISTDataModule(
        data_dir=str(fashion_fixture), system_dir=None, download=False, val_size=100,
        batch_size=50, device="cuda",
    )  # fmt: skip
    data.prepare_data()
    data.setup("fit")
    for images, labels in data.splits.values():
        assert images.is_cuda and labels.is_cuda
    images, labels = next(iter(data.train_dataloader()))
    assert images.is_cuda and images.shape == (50, 1, 28, 28)


@pytest.mark.parametrize("precision", ["32-true", "16-mixed", "bf16-mixed"])
def test_lenet_trains_on_the_gpu_in_each_precision(precision, fashion_fixture, tmp_path):
    if precision.startswith("bf16") and not torch.cuda.is_bf16_supported():
        pytest.skip("this GPU has no bfloat16 support")
    cfg = compose_config(
        ["experiment=lenet_modern", "trainer=gpu", f"trainer.precision={precision}",
         "data.device=cuda", "trainer.max_epochs=2", "logger=none",
         *fixture_overrides(fashion_fixture)],
        tmp_path,
    )  # fmt: skip
    record = train(cfg)
    assert record.status == "completed"
    assert record.steps == 2 * 10  # 500 training images, batch 50
    # The fixture's classes are bright bars at class-dependent rows: easy after 20 steps.
    assert record.metrics["test/acc"] > 0.5
