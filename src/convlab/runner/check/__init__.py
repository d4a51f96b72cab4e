"""The config check: every problem of a composed config in one line each, before anything is
built (``validate.py``); the machine and budget (``environment.py``); composition errors."""
