"""octopack's package side: formats, versions, the feed client, the target side and the CLI."""

__version__ = "0.1.0"
