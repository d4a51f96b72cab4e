"""Several seeds of one small-net run trained in one process, stacked along a leading axis."""
