"""LightningModules: a shared supervised step, specialised per kind of target."""
