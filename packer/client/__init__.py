"""The feed's HTTP client: push, versions, download and the admin API, with retries that never duplicate a push."""
