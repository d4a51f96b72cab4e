"""Names every part of the run machinery agrees on: files in a run folder, statuses, and the
config keys that say where a run lives rather than what it computes."""

RECORD_NAME = "metrics.json"
CHECKPOINTS = "checkpoints"
LAST_CKPT = "last.ckpt"
LOCK_NAME = ".lock"
FINGERPRINT_NAME = ".config_fingerprint"

STATUSES = ("completed", "diverged", "failed", "interrupted")
# A job with one of these has its result: a re-run sweep skips it.
FINISHED = ("completed", "diverged")

# Top-level keys (and overrides) that may differ between two runs of the same computation:
# resuming, moving the output, or reaching it through a named sweep changes none of them.
LOCATION_KEYS = ("paths", "hydra", "ckpt_path", "resume", "task_name", "sweep")
