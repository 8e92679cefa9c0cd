"""The feed over HTTP: the app factory, gunicorn server, the one error -> status mapping, and the dialect blueprints.

Talks to the core objects only; never imports storage."""
