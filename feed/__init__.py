"""The Flask feed service: repository core, HTTP dialects, auth, retention."""
