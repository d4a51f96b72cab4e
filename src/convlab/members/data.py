"""The data of a stacked run: the run's data module, with each member's training order."""

import lightning as L

from convlab.members.loader import MemberLoader


class MemberData(L.LightningDataModule):
    """Validation and test are the wrapped module's (all members score the same samples);
    training yields ``[K, B, ...]``, member k in the order its single run draws."""

    def __init__(self, datamodule: L.LightningDataModule, seeds: list[int]) -> None:
        super().__init__()
        self.datamodule, self.seeds = datamodule, list(seeds)

    def setup(self, stage: str | None = None) -> None:
        self.datamodule.trainer = self.trainer
        self.datamodule.setup(stage)

    def train_dataloader(self) -> MemberLoader:
        hp = self.datamodule.hparams
        x, y = self.datamodule.splits["train"]
        if self.trainer is not None:  # on the accelerator once; batches are slices there
            device = self.trainer.strategy.root_device
            x, y = x.to(device), y.to(device)
        seeds = self.seeds if hp.shuffle_seed is None else [hp.shuffle_seed] * len(self.seeds)
        return MemberLoader(
            x, y, seeds=seeds, batch_size=hp.batch_size, steps=hp.steps_per_batch, shuffle=True
        )

    def val_dataloader(self):
        return self.datamodule.val_dataloader()

    def test_dataloader(self):
        return self.datamodule.test_dataloader()

    def record_extras(self) -> dict:
        return self.datamodule.record_extras() if hasattr(self.datamodule, "record_extras") else {}
