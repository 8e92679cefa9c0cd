"""Zip and nupkg: the safe reader (central directory, local headers, entry data) and the parallel deterministic writer."""
