# Two commands that work on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
DATE   ?= $(shell date -u -d yesterday +%F)
BIN     = $(VENV)/bin
# pip runs only when the dependencies changed: one stamp per install, remade when it is
# older than these files (the package itself is installed editable, so code needs none).
DEPS    = setup.cfg pyproject.toml
STAMP   = $(VENV)/.installed
# PYTHONWARNINGS=ignore: setuptools' notice on every editable install is noise here.
PIP     = PYTHONWARNINGS=ignore $(BIN)/pip install --quiet

.PHONY: run test venv venv-test bench clean status stop scheduler

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): $(DEPS) | $(BIN)/python
	$(PIP) -e .
	touch $@

$(STAMP)-test: $(DEPS) | $(BIN)/python
	$(PIP) -e '.[test]'
	touch $@ $(STAMP)

$(STAMP)-scheduler: $(DEPS) | $(BIN)/python
	$(PIP) -e '.[scheduler]'
	touch $@ $(STAMP)

$(STAMP)-bench: $(DEPS) | $(BIN)/python
	$(PIP) -e '.[bench]'
	touch $@ $(STAMP)

venv: $(STAMP)

venv-test: $(STAMP)-test

## Run every pipeline for DATE (default: yesterday, UTC) on the embedded defaults; VERBOSE=1: Luigi's log too.
run: $(STAMP)
	$(BIN)/luigi --module workflows RunAll --date $(DATE) --local-scheduler $(if $(VERBOSE),--verbose)

## Unit + integration tests (real embedded PostgreSQL, moto S3 server on 127.0.0.1).
test: $(STAMP)-test
	$(BIN)/pytest

## Central scheduler + visualizer on http://127.0.0.1:8082 (task history at /history, metrics at /metrics).
## Run workers against it without --local-scheduler: .venv/bin/luigi --module workflows RunAll --date …
scheduler: $(STAMP)-scheduler
	mkdir -p data/luigid/log
	LUIGI_CONFIG_PATH=conf/scheduler.cfg $(BIN)/luigid --address 127.0.0.1 --port 8082 \
		--state-path data/luigid/state.pickle --logdir data/luigid/log

## Benchmarks: staging load vs plain COPY (1M rows), RangeDaily decision over 400 done dates.
## Per pipeline: bench/bench_activity.py, bench/bench_content.py, bench/bench_bikes.py.
bench: $(STAMP)-test
	$(BIN)/python bench/bench_load.py
	$(BIN)/python bench/bench_range.py --dates 400

## Against peers (issue 13): content and activity pipelines vs a plain COPY floor, dlt and pandas
## (the bench extra), interleaved runs. SIZES='content:250000 activity:250000' RUNS=3; smoke: SIZES=2000 RUNS=1.
.PHONY: bench-peers
bench-peers: $(STAMP)-bench
	$(BIN)/python bench/bench_peers.py $(if $(SIZES),--sizes $(SIZES)) $(if $(RUNS),--runs $(RUNS))

## Stop the embedded PostgreSQL first (refused while a run uses it), then delete data/.
clean:
	if [ -x $(BIN)/python ]; then $(BIN)/python -m workflows.embedded_pg stop; fi
	rm -rf data

## Latest task runs and failures (etl.task_runs): DAYS=N days back (default 7), FAILED=1 failures only.
status: $(STAMP)
	$(BIN)/python -m workflows.status $(if $(DAYS),--days $(DAYS)) $(if $(FAILED),--failed) $(if $(DATE_STATE),--date $(DATE_STATE))

## Redo a day from one step, with everything downstream (workflows/tasks/rerun.py):
## make rerun DATE=D [PIPELINE=p] [ENTITY=e | MART=m] [FROM=extract|stage|load|mart|check] [DRY_RUN=1] [TRUST_LANDED=1]
.PHONY: rerun
rerun: $(STAMP)
	$(BIN)/luigi --module workflows Rerun --date $(DATE) $(if $(PIPELINE),--pipeline $(PIPELINE)) \
		$(if $(ENTITY),--entity $(ENTITY)) $(if $(MART),--mart $(MART)) $(if $(FROM),--from $(FROM)) \
		$(if $(DRY_RUN),--dry-run) $(if $(TRUST_LANDED),--trust-landed) --local-scheduler

## Stop the embedded PostgreSQL of [warehouse] pgdata (refused while a run uses it: FORCE=1).
stop: | $(STAMP)
	$(BIN)/python -m workflows.embedded_pg stop $(if $(FORCE),--force)
