"""Measurements of a trained net beyond its metrics (sharpness of the loss surface)."""
