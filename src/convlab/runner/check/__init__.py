"""The config check: every problem of a composed config in one line each, before anything is
built (``validate.py``); the machine and budget (``environment.py``); what a config may name and
Hydra's composition errors (``targets.py``)."""
