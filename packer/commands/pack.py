"""`octopack pack` (being built)."""

COMMANDS: list = []
