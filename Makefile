# The project's one-word entry points. `make demo` and `make test` each set everything up first.
PY := .venv/bin/python
VNTRACK := .venv/bin/vntrack
FIXTURES := tests/fixtures

.PHONY: setup demo test bench clean

setup:
	@bash scripts/setup.sh

## Import the real SSI recordings and KBS ticks bundled in tests/fixtures/ and replay every day in the lake; then
## the whole pipeline on a simulated VN30 day (feed -> capture -> live loop -> verify -> rebuild) and the app.
demo: setup
	$(VNTRACK) import $(FIXTURES)/ssi/quelam96lact_fixtures/ssi_b_messages.jsonl \
	    $(FIXTURES)/ssi/quelam96lact_fixtures/ssi_mi_messages.jsonl \
	    $(FIXTURES)/kbs-ticks/HPG.csv $(FIXTURES)/kbs-ticks/TCB.csv
	$(VNTRACK) replay --all
	$(VNTRACK) demo --date 2026-07-22

## The whole test suite (a run that collects no test fails: pytest exits 5).
test: setup
	$(PY) -m pytest -q

bench: setup
	$(PY) bench/replay.py

clean:
	rm -rf lake .pytest_cache .hypothesis test-output
