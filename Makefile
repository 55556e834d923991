# The two set-up commands: `make demo` and `make test`. Each creates .venv with python3 and
# installs what it needs; nothing else has to be present.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# --no-compile: modules compile on first import instead of all of torch's at install (saves ~30 s).
PIP    := $(BIN)/python -m pip install --quiet --disable-pip-version-check --no-compile
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

.PHONY: demo test lint format clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(PIP) -e .
	@touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(PIP) -e '.[dev]'
	@touch $@ $(VENV)/.installed

demo: $(VENV)/.installed
	$(BIN)/hotlap sweep $(DEMO_SWEEP)
	$(BIN)/hotlap report variants-demo

test: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest -q

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(VENV)/.installed-dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) build dist src/*.egg-info .pytest_cache .ruff_cache
