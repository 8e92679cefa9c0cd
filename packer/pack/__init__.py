"""`octopack pack`: which files go in (collect, walk) and building the package (build, process check)."""
