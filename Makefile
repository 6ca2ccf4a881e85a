# 支部学习 Branch Study — everything a newcomer or CI needs, on a fresh machine.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
FAKE_WECHAT := http://127.0.0.1:5001
PORT ?= 5000

MP := miniprogram

.PHONY: setup run lint test test-mp test-pg bench soak clean

$(VENV)/.installed: requirements.txt
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -r requirements.txt
	touch $@

setup: $(VENV)/.installed

## make run: migrate, seed the demo, then serve the API, the fake WeChat API, the scheduler and a sender. The fake
## knows the demo member's two quiz-message consents, as notifications/demo.py seeds them. Ctrl-C stops all three
## quietly: the background ones by their pids (`trap 'kill 0' INT TERM EXIT` re-entered its own trap until the
## shell overflowed its stack: "make: *** [run] Segmentation fault").
run: setup
	@export WECHAT_API_BASE=$(FAKE_WECHAT) WECOM_API_BASE=$(FAKE_WECHAT) PUBLIC_URL=http://127.0.0.1:$(PORT); \
	$(BIN)/flask --app wsgi db upgrade && \
	$(BIN)/flask --app wsgi seed-demo && \
	trap 'kill $$pids 2>/dev/null; exit 0' INT TERM; \
	$(BIN)/python -m fakewechat --host 127.0.0.1 --port 5001 --appid wx-demo-appid --secret demo-app-secret \
		--consent demo-member:tmpl-quiz-open:2 & pids=$$!; \
	$(BIN)/flask --app wsgi scheduler & pids="$$pids $$!"; \
	$(BIN)/flask --app wsgi run --host 127.0.0.1 --port $(PORT) --no-reload; status=$$?; \
	kill $$pids 2>/dev/null; exit $$status

## make lint: ruff (rules and line length in pyproject.toml) over the whole repository.
lint: setup
	$(BIN)/ruff check .

## make test: ruff first, then the whole suite, on SQLite + fakeredis unless DATABASE_URL / REDIS_URL are set; then
## the mini-program's Node suite (static checks + jest against a backend it starts on free ports).
test: lint
	$(BIN)/python -m pytest -q -p no:cacheprovider tests
	$(MAKE) test-mp

## npm ci only when node_modules is missing or the lock changed.
$(MP)/node_modules/.installed: $(MP)/package-lock.json
	cd $(MP) && npm ci --no-audit --no-fund
	touch $@

test-mp: setup $(MP)/node_modules/.installed
	cd $(MP) && PYTHON=$(abspath $(BIN)/python) node scripts/test.js

## make test-pg: the same suite on the local PostgreSQL + Redis.
test-pg: setup
	DATABASE_URL=$${DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/test} \
	REDIS_URL=$${REDIS_URL:-redis://127.0.0.1:6379/0} $(BIN)/python -m pytest -q -p no:cacheprovider tests

## make bench: benchmarks on PostgreSQL + Redis (services up): loads 100,000 members, drives wrk, checks, reports
## to bench/results/. Installs wrk (apt) and py-spy (bench/requirements.txt) when missing.
bench: setup
	@command -v wrk >/dev/null 2>&1 || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk)
	@$(BIN)/pip install -q -r bench/requirements.txt
	$(BIN)/python -m bench.run

## make soak: the faults (Redis crash, PostgreSQL restart, sender SIGKILL) on a private PostgreSQL + Redis, then the
## soak: bench's production stack on a private durable cluster; SOAK_SECONDS (default 600) of Monday mornings, with
## bench's wrk steps measuring the Monday-peak rate just before and just after, every record checked (bench/soak.py).
## CI runs it shorter.
soak: setup
	@command -v wrk >/dev/null 2>&1 || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk)
	@$(BIN)/pip install -q -r bench/requirements.txt
	SOAK=1 $(BIN)/python -m pytest -q -s -p no:cacheprovider tests/hardening/test_faults.py
	$(BIN)/python -m bench.soak --seconds $${SOAK_SECONDS:-600} --members $${SOAK_MEMBERS:-100000}

clean:
	rm -rf $(VENV) instance .pytest_cache $(MP)/node_modules
