"""The ``[content]`` section of luigi.cfg."""
import luigi


class content(luigi.Config):  # noqa: N801 - section name [content]
    landing = luigi.Parameter(
        default="",
        description="Folder or s3://bucket/prefix holding the daily drops (<entity>_YYYYMMDD.csv); "
        "empty = generated drops",
    )
    demo_events = luigi.IntParameter(
        default=2000, description="GA4 rows per generated day, times [demo] size (generated drops only)"
    )
