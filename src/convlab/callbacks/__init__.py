"""Lightning callbacks that the ``callbacks`` config group (or an experiment) adds to a run."""
