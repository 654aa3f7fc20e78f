# legation: `make run` starts the quickstart, `make test` runs every check.
# Both create .venv and install into it when needed.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
QUICKSTART := examples/quickstart

.PHONY: install run test unit e2e lint typecheck golden bench clean k8s-assets oidc-provider crds deploy conformance dist ratelimit jaeger image system-packages

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	@touch $(STAMP)

install: $(STAMP)

## run: the gateway on the quickstart example, with its demo upstreams
run: install
	$(PY) $(QUICKSTART)/run.py

## system-packages: the Debian packages the tests use (installed when root with apt-get)
system-packages:
	@bash hack/system-packages.sh

## test: lint, type check, and the whole test suite (unit, golden, end to end, Kubernetes)
test: system-packages install lint typecheck k8s-assets oidc-provider ratelimit jaeger image
	$(PY) -m pytest -q -p no:cacheprovider

unit: install
	$(PY) -m pytest -q tests/unit tests/golden

e2e: install
	$(PY) -m pytest -q tests/e2e

lint: install
	$(VENV)/bin/ruff check src tests bench examples
	$(VENV)/bin/ruff format --check src tests bench examples

typecheck: install
	$(VENV)/bin/mypy

## k8s-assets: build kube-apiserver and etcd from Go modules (cached outside the repo)
k8s-assets:
	@if command -v go >/dev/null 2>&1; then bash hack/k8s-assets.sh; \
	else echo "go not found: the Kubernetes tests will be skipped (and fail in CI)"; fi

## ratelimit: build envoyproxy/ratelimit, the bundled limiter (cached outside the repo)
ratelimit:
	@if command -v go >/dev/null 2>&1; then bash hack/go-tools.sh ratelimit; \
	else echo "go not found: the rate-limit tests will be skipped (and fail in CI)"; fi
## oidc-provider: build the test OpenID provider (mockoidc, a Go module; cached outside the repo)
oidc-provider:
	@if command -v go >/dev/null 2>&1; then bash hack/oidc-provider.sh >/dev/null; \
	else echo "go not found: the OIDC tests will be skipped (and fail in CI)"; fi

## jaeger: build Jaeger v2, the trace collector the tracing tests export to (cached outside the repo)
jaeger:
	@if command -v go >/dev/null 2>&1; then bash hack/go-tools.sh jaeger; \
	else echo "go not found: the tracing tests will be skipped (and fail in CI)"; fi

## golden: regenerate the golden files (read the diff before committing)
golden: install
	$(PY) -m pytest -q tests/golden --update-golden

## crds: regenerate deploy/crds.yaml from the models; deploy: also deploy/legation.yaml
crds: install
	$(PY) -m legation.deploy.crds -o deploy/crds.yaml

deploy: crds
	$(PY) -m legation.deploy.bundle --deploy-dir deploy -o deploy/legation.yaml

## conformance: the Kubernetes Ingress conformance features against a real API server
conformance: install k8s-assets
	$(PY) tests/conformance/run_ingress.py

## image: the OCI image (Debian packages + our wheels; no Docker), cached outside the repo
image: install
	@if command -v mmdebstrap >/dev/null 2>&1 && command -v umoci >/dev/null 2>&1; then \
	PY=$(PY) bash hack/build-image.sh; \
	else echo "mmdebstrap/umoci not found (apt-get install -y mmdebstrap umoci runc): the image test will be skipped (and fail in CI)"; fi

## dist: the sdist and wheel `pip install legation` installs, into dist/
dist: install
	$(PY) -m build --outdir dist .

## bench: every benchmark under bench/, printed as figures and ratios
bench: install
	$(PY) bench/run_all.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
