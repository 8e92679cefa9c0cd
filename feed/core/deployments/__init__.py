"""Deployments: what runs where. Records (`records`), per-environment state (`state`),
and the store over storage (`store`)."""

from feed.core.deployments.records import DeploymentRecord
from feed.core.deployments.store import DeploymentPage, DeploymentStore

__all__ = ["DeploymentPage", "DeploymentRecord", "DeploymentStore"]
