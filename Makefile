# 安全生产托管平台 — two commands do all set-up on a fresh machine: `make run` and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
STAMP := $(VENV)/.installed

.PHONY: install run lint format test test-slow bench browsers webtools vendor clean

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(VENV)/bin/custody up

# ruff (lint + format) and mypy (strict on shared/, checked elsewhere); make test runs it first.
lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy shared services gateway portal cli devtools

format: $(STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# Browser tests drive Debian's chromium (a test tool's own browser download does not work here),
# with a CJK font so that screenshots show Chinese.
browsers:
	@command -v chromium >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }
	@fc-list 2>/dev/null | grep -qi 'wenquanyi\|noto sans cjk' || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-wqy-microhei >/dev/null; }
	@# WeasyPrint (the enterprise file as PDF, SPEC §22) renders through pango with the same CJK font
	@ldconfig -p 2>/dev/null | grep -q 'libpangoft2-1.0' || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libpango-1.0-0 libpangoft2-1.0-0 >/dev/null; }

# axe-core (the portal's accessibility checks), @asyncapi/parser (the AsyncAPI document's validator) and
# swagger-ui-dist, pinned in package.json.
node_modules/.installed: package.json
	@command -v npm >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null; }
	npm install --no-audit --no-fund --ignore-scripts --silent
	touch node_modules/.installed

webtools: node_modules/.installed

# Refresh the vendored Swagger UI (served by the portal at /docs, no CDN) from node_modules.
vendor: webtools
	cp node_modules/swagger-ui-dist/swagger-ui-bundle.js node_modules/swagger-ui-dist/swagger-ui.css \
	   node_modules/swagger-ui-dist/LICENSE node_modules/swagger-ui-dist/NOTICE portal/static/vendor/swagger-ui/
	echo "swagger-ui-dist $$(node -p "require('./node_modules/swagger-ui-dist/package.json').version") (npm), copied by \`make vendor\`" > portal/static/vendor/swagger-ui/VERSION

# Most tests wait on processes, NATS and databases rather than compute: three workers on two
# cores; files (and the packages sharing one platform) stay whole on a worker.
test: $(STAMP) browsers webtools lint
	$(PY) -m pytest -q -n 3 --dist loadgroup

test-slow: $(STAMP)
	$(PY) -m pytest -q -m slow -n 3 --dist loadgroup

bench: $(STAMP)
	@command -v wrk >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }
	$(PY) -m bench.run $(BENCH_ARGS)

clean:
	rm -rf var .pytest_cache
