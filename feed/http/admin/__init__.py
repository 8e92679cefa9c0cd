"""The `/api/octopack/...` admin endpoints used by octopack's own `--server` commands."""
