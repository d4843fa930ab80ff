# One image for both roles in docker-compose.yml: the luigi worker and luigid.
#
#   docker build -t luigi-warehouse .
#   docker run --rm -v warehouse-data:/app/data luigi-warehouse
#                                            # RunAll for yesterday (UTC) on the embedded
#                                            # defaults of luigi.cfg; lake, warehouse, reports
#                                            # and logs stay in the volume warehouse-data
# In compose, LUIGI_CONFIG_PATH=/app/conf/compose.cfg points it at MinIO,
# Postgres and luigid instead.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# The repo lives in /app and is installed in editable mode, so sql/, schemas/
# and luigi.cfg are found next to the packages at runtime; /app is also the
# working directory, so luigi reads ./luigi.cfg (then $LUIGI_CONFIG_PATH).
WORKDIR /app

# Dependencies first, in their own layer: rebuilt only when setup.cfg changes,
# not on every code change.
COPY pyproject.toml setup.cfg ./
RUN python -c "import configparser; c = configparser.ConfigParser(interpolation=None); c.read('setup.cfg'); print(c['options']['install_requires'])" > /tmp/requirements.txt \
 && pip install -r /tmp/requirements.txt \
 && rm /tmp/requirements.txt

COPY . .
# The `scheduler` extra: luigid's task history (SQLAlchemy 1.4) and Prometheus metrics.
RUN pip install -e '.[scheduler]'

# Non-root runtime user. /app/data is the local lake + embedded Postgres of the
# default luigi.cfg; /data/luigid holds luigid's state and logs (a named volume
# mounted there starts with this ownership).
RUN useradd --system --uid 10001 --user-group --create-home --home-dir /home/app app \
 && mkdir -p /app/data /data/luigid/log \
 && chown -R app:app /app/data /data/luigid
USER app
# The data folder outlives the container: an anonymous volume unless `-v name:/app/data`
# names one. Declared after the chown, so a new volume starts owned by `app`.
VOLUME ["/app/data"]

# luigid's API and visualizer (bind it to localhost on the host: no auth).
EXPOSE 8082

CMD ["sh", "-c", "exec luigi --module workflows RunAll --date \"$(date -u -d yesterday +%F)\" --local-scheduler"]
