-- Task logs in the lake: the key of each run's log file (logs/<pipeline>/<family>/ds=<ds>/<run id>.log).
ALTER TABLE etl.task_runs ADD COLUMN IF NOT EXISTS log_key text;
