"""Data modules that hold whole data sets as in-memory tensors."""
