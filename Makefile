# The two set-up commands: `make demo` and `make test`. Each creates .venv with python3 and
# installs what it needs; nothing else has to be present.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# --no-compile: modules compile on first import instead of all of torch's at install (saves ~30 s).
# The constraints pin torch and torchvision to the builds the figures in benchmarks/ were taken with;
# hotlap itself takes a range (pyproject.toml).
PIP    := $(BIN)/python -m pip install --quiet --disable-pip-version-check --no-compile \
	-c benchmarks/constraints.txt
# uv (a pip package itself) installs the same packages from the same index in a third of pip's time
# (torch, Ray and MLflow are the bulk: ~30 s instead of ~100 s on 2 cores); where uv cannot be had
# or fails, pip installs them. uv, like pip here, compiles nothing at install.
install = ( $(BIN)/python -m pip install --quiet --disable-pip-version-check uv >/dev/null 2>&1 \
	&& $(BIN)/uv pip install --quiet --python $(BIN)/python -c benchmarks/constraints.txt $(1) ) \
	|| $(PIP) $(1)
# ...and that first import must be allowed to cache them: with PYTHONDONTWRITEBYTECODE set (some CI
# images set it), every process (each CLI call of the tests) would compile torch again, ~2 s apiece.
unexport PYTHONDONTWRITEBYTECODE

# The variants study (examples/variants.yaml) at CPU size on the real digits data: quarter width,
# 3 epochs, racing from 3 to 6 seeds against an 85% target (on digits at this size the baseline
# reaches about 89%), the recommendation verified on 3 fresh seeds, then the report. About 80 s of
# training on 2 cores; running it again only reprints the report (every run is done once).
DEMO_SWEEP := examples/variants.yaml name=variants-demo dataset=digits device=cpu \
	base.width=0.25 base.epochs=3 base.batch_size=128 base.lr=30 \
	"seeds={min: 3, max: 6, step: 3}" objective.target.at_least=0.85 verify.seeds=3 \
	variants.whiten_unfreeze.whiten_unfreeze_epoch=2 keep_weights=false

.PHONY: demo test docs package-check lint format clean device-wheels gpu-check

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml benchmarks/constraints.txt | $(BIN)/python
	$(call install,-e .)
	@touch $@

$(VENV)/.installed-dev: pyproject.toml benchmarks/constraints.txt | $(BIN)/python
	$(call install,-e '.[dev]')
	@touch $@ $(VENV)/.installed

demo: $(VENV)/.installed
	$(BIN)/hotlap sweep $(DEMO_SWEEP)
	$(BIN)/hotlap report variants-demo

# The tests run a worker per core (pytest-xdist; an idle worker takes tests queued for the other),
# each with one torch thread (tests/conftest.py); they build the docs site with --strict
# (tests/test_docs.py) and install the built wheel into a clean venv (tests/test_package.py); the
# 15 slowest tests are listed at the end (the suite is kept under 10 minutes with its install).
# glibc's malloc hands every freed block over its threshold (at most 32 MiB) back to the kernel,
# and the next tensor of that size faults its pages in afresh: the CPU trainings and TTA evaluations
# of the tests spent up to a third of their time in the kernel so (an example study: 14 s of system time
# against 33 s of user time; 2 s with the thresholds raised). The tests and every process they
# start keep up to 256 MiB of freed memory for reuse (docs/how-to/cpu.md says the same for users).
MALLOC := MALLOC_MMAP_THRESHOLD_=268435456 MALLOC_TRIM_THRESHOLD_=268435456
test: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(MALLOC) $(BIN)/pytest -q -n auto --dist worksteal --durations=15

# The documentation site into site/ (open site/index.html); a broken link or reference fails it.
docs: $(VENV)/.installed-dev
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir site

# The wheel in a venv of its own with its dependencies (no checkout on its path): --version, the
# recipes, a tiny sweep and its report. CI runs it after `make test` (.ci/run).
CHECK_VENV := build/package-check
package-check: $(VENV)/.installed-dev
	rm -rf dist $(CHECK_VENV)
	$(BIN)/python -m build --no-isolation --outdir dist .
	tar tzf dist/hotlap-*.tar.gz | grep -q 'src/hotlap/report/templates/report.html.j2'
	$(PYTHON) -m venv $(CHECK_VENV)
	$(CHECK_VENV)/bin/python -m pip install --quiet --disable-pip-version-check --no-compile \
		-c benchmarks/constraints.txt dist/*.whl
	$(CHECK_VENV)/bin/hotlap --version
	$(CHECK_VENV)/bin/hotlap recipes
	$(CHECK_VENV)/bin/hotlap sweep examples/variants.yaml --workdir $(CHECK_VENV)/runs --no-warmup \
		name=package-check dataset=digits device=cpu base.width=0.125 base.epochs=1 base.batch_size=256 \
		base.lr=30 seeds=2 verify=null objective.target.at_least=0.3 keep_weights=false
	$(CHECK_VENV)/bin/hotlap report package-check --workdir $(CHECK_VENV)/runs
	test -s $$(ls -d $(CHECK_VENV)/runs/sweeps/package-check-*/report)/report.html

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(VENV)/.installed-dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# The GPU check (benchmarks/gpu_check.py) on a machine with torch and no network: `make
# device-wheels` here downloads what such a machine lacks (benchmarks/device-wheels.txt) into .whl/
# for its Python (3.12, x86_64); `make gpu-check` there installs them outside the tree and runs the
# check into $(GPU_OUT). GPU_CHECK_ARGS=--tiny runs it at a tiny size (any device, under a minute).
DEVICE_PYTHON ?= 3.12
GPU_OUT       ?= gpu-check-out
GPU_SITE      ?= /tmp/hotlap-device-site
MANYLINUX     := $(foreach n,2_17 2_24 2_27 2_28 2_31 2_34,--platform manylinux_$(n)_x86_64) \
	--platform manylinux2014_x86_64 --platform manylinux1_x86_64

device-wheels:
	rm -rf .whl
	$(PYTHON) -m pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
		--python-version $(DEVICE_PYTHON) --implementation cp $(MANYLINUX) \
		-d .whl -r benchmarks/device-wheels.txt
	@ls .whl

gpu-check:
	@if ls .whl/*.whl >/dev/null 2>&1; then \
		$(PYTHON) -m pip install --quiet --disable-pip-version-check --no-index --no-deps \
			--no-compile --no-cache-dir --upgrade --target $(GPU_SITE) .whl/*.whl; fi
	PYTHONPATH=src:$(GPU_SITE) PYTHONUNBUFFERED=1 $(PYTHON) benchmarks/gpu_check.py $(GPU_OUT) $(GPU_CHECK_ARGS)

clean:
	rm -rf $(VENV) build dist site src/*.egg-info .pytest_cache .ruff_cache .whl gpu-check-out
