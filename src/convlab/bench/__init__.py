"""Speed benchmarks: the pipeline against a plain PyTorch loop, measured side by side."""
