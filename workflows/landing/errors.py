"""The errors a source raises: one line each, shown to the person running the pipeline."""


class SourceError(RuntimeError):
    """A source could not be read (after retries), or answered something unusable."""


class DropMissing(SourceError):
    """The landing area has no drop for this entity and ds."""
