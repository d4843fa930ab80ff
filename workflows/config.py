"""Settings, one luigi.Config class per luigi.cfg section (env vars via ${VAR} in the cfg)."""
import luigi


class lake(luigi.Config):  # noqa: N801 - section name [lake]
    root = luigi.Parameter(
        default="data/lake",
        description="Lake root: a local folder, or s3://bucket[/prefix] (then [s3] endpoint_url etc.)",
    )


class warehouse(luigi.Config):  # noqa: N801 - section name [warehouse]
    dsn = luigi.Parameter(
        default="",
        significant=False,
        visibility=luigi.parameter.ParameterVisibility.PRIVATE,
        description="libpq DSN/URI of the warehouse; empty = embedded PostgreSQL under `pgdata`",
    )
    pgdata = luigi.Parameter(default="data/pg", description="Data folder of the embedded PostgreSQL")


class fakestore(luigi.Config):  # noqa: N801 - section name [fakestore]
    base_url = luigi.Parameter(default="", description="FakeStore API base URL; empty = in-process demo server")
    retries = luigi.IntParameter(default=5, description="HTTP retries (429/5xx, connection errors) with backoff")
    backoff_factor = luigi.FloatParameter(default=0.5, description="urllib3 Retry backoff factor (seconds)")
    connect_timeout = luigi.FloatParameter(default=5.0)
    read_timeout = luigi.FloatParameter(default=30.0)
    snapshot_max_age_days = luigi.IntParameter(
        default=1,
        description="A real API serves products/users as of now: refuse to land them for a ds older than this",
    )


class demo(luigi.Config):  # noqa: N801 - section name [demo]
    seed = luigi.IntParameter(default=42, description="Seed of the generated demo sources")
    size = luigi.IntParameter(default=1, description="Scale factor of the generated demo sources")


class quality(luigi.Config):  # noqa: N801 - section name [quality]
    checks_dir = luigi.Parameter(
        default="", description="Folder of <pipeline>/<entity>.checks.json; empty = the project's schemas/"
    )
    report_history_days = luigi.IntParameter(default=30, description="Dates shown on the report's Trend sheet")


class alerts(luigi.Config):  # noqa: N801 - section name [alerts]
    webhook_url = luigi.Parameter(
        default="",
        significant=False,
        visibility=luigi.parameter.ParameterVisibility.PRIVATE,
        description="Slack-compatible incoming webhook (POST {'text': …}); empty = no webhook alerts",
    )
    scheduler_url = luigi.Parameter(default="", description="Visualizer URL put in alerts (where to look)")
    timeout = luigi.FloatParameter(default=10.0)


class runall(luigi.Config):  # noqa: N801 - section name [runall]
    pipelines = luigi.ListParameter(
        default=[], description="Pipelines RunAll and DQReport cover, e.g. [\"fakestore\"]; empty = every registered one"
    )
