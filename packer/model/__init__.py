"""The shared vocabulary: versions, ranges, ids, the one format table, conventions, manifest, error kinds.

Imports nothing else of ours, so every other room can use it."""
