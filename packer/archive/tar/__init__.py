"""tar, tar.gz and tar.bz2: the streaming safe reader and the deterministic tar.gz writer."""
