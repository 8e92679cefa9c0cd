"""Feed fixtures (both backends) for the maintenance tests."""

from tests.feed.conftest import backend, disk_backend  # noqa: F401
