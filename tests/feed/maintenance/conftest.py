"""Feed fixtures (both backends) for the maintenance tests."""

from tests.feed.conftest import backend, disk_backend, shared_bucket  # noqa: F401
