"""The feed's core: repository, records, uploads, keys and the one JSON-record compare-and-swap helper.

No flask or werkzeug here, and no HTTP statuses: the HTTP layer maps error kinds."""
