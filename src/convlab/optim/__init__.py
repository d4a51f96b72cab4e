"""Optimizers that ``torch.optim`` does not have (config group ``optimizer``)."""
