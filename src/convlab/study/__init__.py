"""The study: every claim of the original study as a named sweep, judged from its numbers."""
