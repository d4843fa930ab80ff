"""Source readers: HTTP APIs and source databases (landing folders live with their pipelines)."""


class SourceError(RuntimeError):
    """A source could not be read (after retries), or answered or landed something unusable."""
