"""convlab: D2L's convolutional-networks chapter as reproducible Lightning + Hydra experiments."""

__version__ = "0.1.0"
