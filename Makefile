# Two commands that work on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
DATE   ?= $(shell date -u -d yesterday +%F)
BIN     = $(VENV)/bin

.PHONY: run test venv venv-test bench clean status scheduler

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

venv: $(BIN)/python
	$(BIN)/pip install --quiet -e .

venv-test: $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'

## Run every pipeline for DATE (default: yesterday, UTC) on the embedded defaults.
run: venv
	$(BIN)/luigi --module workflows RunAll --date $(DATE) --local-scheduler

## Unit + integration tests (real embedded PostgreSQL, moto S3 server on 127.0.0.1).
test: venv-test
	$(BIN)/pytest

## Central scheduler + visualizer on http://127.0.0.1:8082 (task history at /history, metrics at /metrics).
## Run workers against it without --local-scheduler: .venv/bin/luigi --module workflows RunAll --date …
scheduler: $(BIN)/python
	$(BIN)/pip install --quiet -e '.[scheduler]'
	mkdir -p data/luigid/log
	LUIGI_CONFIG_PATH=conf/scheduler.cfg $(BIN)/luigid --address 127.0.0.1 --port 8082 \
		--state-path data/luigid/state.pickle --logdir data/luigid/log

## Benchmarks: staging load vs plain COPY (1M rows), RangeDaily decision over 400 done dates.
## Per pipeline: bench/bench_activity.py, bench/bench_content.py, bench/bench_bikes.py.
bench: venv-test
	$(BIN)/python bench/bench_load.py
	$(BIN)/python bench/bench_range.py --dates 400

clean:
	rm -rf data

## Latest task runs and failures (etl.task_runs) of the configured warehouse.
status: venv
	$(BIN)/python -m workflows.status
