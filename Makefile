# Attention from Scratch: build, test and maintenance targets (GNU make, recipes run by /bin/sh).
#
#   make book       set up .venv if needed, then build the HTML book into _build/html
#   make test       set up, build the book, then ONE pytest run: tests/ + nbval on book/*.ipynb
#                   (installs Debian's chromium first if missing, for tests/test_browser.py;
#                   as root, else it says what to run)
#   make widgets    fetch the ipywidgets JavaScript the book serves itself (make book does it)
#   make fonts      fetch the few Hangul glyphs the book serves itself (make book does it)
#   make webmodel   export the trained model for chapter 8's in-page box (make book does it)
#   make notebooks  re-execute every book/*.ipynb in place in a fresh kernel (stores widget state)
#   make data       regenerate data/date.txt
#   make experiments        the record of the book-scale runs the chapters show (hours; resumable):
#                           data/experiments.json and the shipped attention checkpoints
#   make experiments-small  the small preset's runs that the exercises quote (about 25 minutes)
#   make experiments-part3  Part 3's attention variants, 3 seeds (hours; resumable)
#   make experiments-small-part3  the small preset's runs that Part 3's exercises quote
#   make experiments-transformer  Part 4's Transformer, 3 seeds x 10 epochs (about an hour)
#   make experiments-small-transformer  the Transformer sizes, measured (small preset)
#   make bench      speed and memory against the book-style reference, on this machine
#                   (_build/bench/results.json)
#   make bench-record  the same, as the shipped figures (bench/results.json), and re-executes
#                   the chapters that print them
#   make clean      remove _build (keeps .venv and the fetched MathJax and widget JavaScript)
#
# Nothing here activates the venv: every tool is called as .venv/bin/... explicitly.

SHELL := /bin/sh
PYTHON ?= python3

VENV  := .venv
BIN   := $(VENV)/bin
SETUP := $(VENV)/.installed

# MathJax is served from the book itself, never from a CDN. The npm tarball is fetched at build
# time (npm pack, pinned version and checksum) and unpacked under _extra/, which is git-ignored;
# _config.yml copies _extra/ into the HTML output (html_extra_path) and points mathjax_path at it.
MATHJAX_VERSION := 3.2.2
MATHJAX_SHA256  := 1b9c0a1c44df864e915690558e72adb9cc5203360daefd385084ced3b6c64c09
MATHJAX_DIR     := _extra/_static/mathjax
MATHJAX         := $(MATHJAX_DIR)/.mathjax-$(MATHJAX_VERSION)

# The ipywidgets JavaScript, likewise from the book (issue 5): @jupyter-widgets/html-manager (the
# release matching ipywidgets 8.1.x) and require.js, fetched with npm pack (pinned, checksummed)
# into _extra/_static/widgets (git-ignored), plus our own book/_widgets/widgets-config.js, which
# points the AMD modules and fonts at that folder. _config.yml (nb_ipywidgets_js) loads them.
HTML_MANAGER_VERSION := 1.0.15
HTML_MANAGER_SHA256  := 2b9d65cb7913e1c7d671757a10008b32c9c2448d4429513371e55c07d6107638
REQUIREJS_VERSION    := 2.3.8
REQUIREJS_SHA256     := 777158e89275e16bd51aec3ef714fbcb5dc45789e7078659933bc814916d7dec
WIDGETS_DIR          := _extra/_static/widgets
WIDGETS_JS           := $(WIDGETS_DIR)/.html-manager-$(HTML_MANAGER_VERSION)-requirejs-$(REQUIREJS_VERSION)
WIDGETS              := $(WIDGETS_JS) $(WIDGETS_DIR)/widgets-config.js

.PHONY: all book test notebooks data clean setup mathjax widgets fonts webmodel chromium bench \
        experiments experiments-small experiments-part3 experiments-small-part3 bench-record \
        experiments-transformer experiments-small-transformer \
        bench-threads bench-torch
.DELETE_ON_ERROR:

all: book

# --- set-up --------------------------------------------------------------------------------------

setup: $(SETUP)

$(SETUP): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip
	$(BIN)/python -m pip install -r requirements.txt
	touch $@

mathjax: $(MATHJAX)

$(MATHJAX):
	rm -rf $(MATHJAX_DIR)
	tmp=$$(mktemp -d) && \
	(cd "$$tmp" && npm pack --silent mathjax@$(MATHJAX_VERSION) >/dev/null) && \
	echo "$(MATHJAX_SHA256)  $$tmp/mathjax-$(MATHJAX_VERSION).tgz" | sha256sum -c - && \
	tar xzf "$$tmp/mathjax-$(MATHJAX_VERSION).tgz" -C "$$tmp" && \
	mkdir -p $(MATHJAX_DIR)/output && \
	cp "$$tmp/package/LICENSE" $(MATHJAX_DIR)/ && \
	cp "$$tmp/package/es5/tex-mml-chtml.js" $(MATHJAX_DIR)/ && \
	cp -R "$$tmp/package/es5/input" "$$tmp/package/es5/a11y" "$$tmp/package/es5/sre" \
	      "$$tmp/package/es5/ui" "$$tmp/package/es5/adaptors" $(MATHJAX_DIR)/ && \
	cp -R "$$tmp/package/es5/output/chtml" $(MATHJAX_DIR)/output/ && \
	rm -rf "$$tmp"
	touch $@

widgets: $(WIDGETS)

$(WIDGETS_JS):
	rm -rf $(WIDGETS_DIR)
	tmp=$$(mktemp -d) && \
	(cd "$$tmp" && npm pack --silent @jupyter-widgets/html-manager@$(HTML_MANAGER_VERSION) \
	                                 requirejs@$(REQUIREJS_VERSION) >/dev/null) && \
	printf '%s  %s\n' $(HTML_MANAGER_SHA256) "$$tmp/jupyter-widgets-html-manager-$(HTML_MANAGER_VERSION).tgz" \
	                  $(REQUIREJS_SHA256) "$$tmp/requirejs-$(REQUIREJS_VERSION).tgz" | sha256sum -c - && \
	mkdir -p "$$tmp/hm" "$$tmp/rq" $(WIDGETS_DIR) && \
	tar xzf "$$tmp/jupyter-widgets-html-manager-$(HTML_MANAGER_VERSION).tgz" -C "$$tmp/hm" && \
	tar xzf "$$tmp/requirejs-$(REQUIREJS_VERSION).tgz" -C "$$tmp/rq" && \
	(cd "$$tmp/hm/package/dist" && cp embed-amd.js embed.js.LICENSE.txt \
	    *.woff2 *.woff *.ttf *.eot *.svg "$(CURDIR)/$(WIDGETS_DIR)/") && \
	cp "$$tmp/rq/package/require.js" "$(CURDIR)/$(WIDGETS_DIR)/" && \
	rm -rf "$$tmp"
	touch $@

$(WIDGETS_DIR)/widgets-config.js: book/_widgets/widgets-config.js $(WIDGETS_JS)
	cp book/_widgets/widgets-config.js $@

# The browser tests (tests/test_browser.py) drive Debian's chromium through Playwright's driver
# (never `playwright install`, which downloads browsers), at the path they use, CHROMIUM below.
# CI runs as root on a fresh machine and installs it here; anyone else is told what to run.
CHROMIUM := /usr/bin/chromium
chromium:
	@if test -x $(CHROMIUM); then :; \
	elif test "$$(id -u)" = 0; then apt-get update && apt-get install -y chromium; \
	else echo "$(CHROMIUM) is missing; the browser tests need Debian's chromium there:" \
	          "run \`sudo apt-get install chromium\` or \`sudo make chromium\`" >&2; exit 1; fi
	@test -x $(CHROMIUM) || { echo "$(CHROMIUM) is still missing after apt-get" >&2; exit 1; }

# The 12 Hangul glyphs of the intro's book title (밑바닥부터 시작하는 딥러닝 2), so that they show
# where the reader has no Korean font: the six woff2 files of @fontsource/noto-sans-kr's split
# (SIL Open Font License 1.1) that hold them, 58 KB in all, from the pinned, checksummed npm
# tarball (50 MB, fetched once) into _extra/_static/fonts/noto-sans-kr (git-ignored, like
# MathJax). book/_static/book.css declares them, each face with only the glyphs it serves.
NOTO_KR_VERSION := 5.3.0
NOTO_KR_SHA256  := 36277539698ccda64b110855eaa890d2a4737e403d225da1cbe3c90123fff602
NOTO_KR_FILES   := 106 110 112 113 118 119
FONTS_DIR       := _extra/_static/fonts/noto-sans-kr
FONTS           := $(FONTS_DIR)/.noto-sans-kr-$(NOTO_KR_VERSION)

fonts: $(FONTS)

$(FONTS):
	rm -rf $(FONTS_DIR)
	tmp=$$(mktemp -d) && \
	(cd "$$tmp" && npm pack --silent @fontsource/noto-sans-kr@$(NOTO_KR_VERSION) >/dev/null) && \
	echo "$(NOTO_KR_SHA256)  $$tmp/fontsource-noto-sans-kr-$(NOTO_KR_VERSION).tgz" | sha256sum -c - && \
	tar xzf "$$tmp/fontsource-noto-sans-kr-$(NOTO_KR_VERSION).tgz" -C "$$tmp" package/LICENSE \
	    $(foreach n,$(NOTO_KR_FILES),package/files/noto-sans-kr-$(n)-400-normal.woff2) && \
	mkdir -p $(FONTS_DIR) && \
	cp "$$tmp/package/LICENSE" "$$tmp"/package/files/*.woff2 $(FONTS_DIR)/ && \
	rm -rf "$$tmp"
	touch $@

# The trained model in the static book (chapter 8's box): the JavaScript engine and box from
# src/seqattn/js, and the shipped AttentionSeq2seq checkpoints as model files (weights and
# vocabulary; 2.7 MB each), written by seqattn.webmodel into _extra/_static/seqattn (git-ignored):
# made from data/*.npz at every build that needs them, never committed twice.
WEB_DIR := _extra/_static/seqattn
WEB     := $(WEB_DIR)/.exported
WEB_SRC := src/seqattn/webmodel.py $(wildcard src/seqattn/js/*.js) \
           data/attention_seq2seq.npz data/attention_seq2seq_epoch1.npz \
           data/attention_seq2seq_epoch2.npz

webmodel: $(WEB)

$(WEB): $(SETUP) $(WEB_SRC)
	$(BIN)/python -m seqattn.webmodel $(WEB_DIR)
	touch $@

# --- the book ------------------------------------------------------------------------------------

# Notebooks are committed executed; the build renders their stored outputs (execute_notebooks: off).
# Sphinx copies static and extra files only when it writes some page: when no page is out of
# date, an edited book/_static/book.css or a new export under _extra/_static/seqattn would never
# reach _build/html. A changed or new file there makes it write every page again (from its saved
# environment, so it is quick): their HTML is removed.
book: $(SETUP) $(MATHJAX) $(WIDGETS) $(FONTS) $(WEB)
	@for f in book/_static/* $(WEB_DIR)/*.js; do \
	  case "$$f" in book/_static/*) built="_build/html/_static/$${f#book/_static/}";; \
	                *) built="_build/html/$${f#_extra/}";; esac; \
	  if test -d _build/html && ! cmp -s "$$f" "$$built"; then \
	    echo "$$f changed: every page is written again"; \
	    find _build/html -name '*.html' ! -path '_build/html/_static/*' -delete; break; fi; done
	$(BIN)/jupyter-book build . -W --keep-going

# One pytest run, one summary line: the unit tests (tests/, including the checks on the built
# book) and strict nbval on every notebook under book/ (none yet: pytest then collects none there).
# PYTEST_ARGS passes options to pytest, e.g. PYTEST_ARGS="--junitxml=_build/tests.xml" to keep
# each test's seconds (the notebooks' cells add up to the time of executing the book).
PYTEST_ARGS ?=
test: book chromium
	$(BIN)/python -m pytest -p no:cacheprovider $(PYTEST_ARGS) tests book --nbval --nbval-current-env \
	  --nbval-sanitize-with book/nbval_sanitize.cfg

# Re-execute notebooks top to bottom, each in a fresh kernel, in place, printing the seconds each
# took; nbclient stores the widget state in the notebook's metadata. JUPYTER_PATH puts the venv's
# python3 kernelspec first. One notebook: make notebooks NOTEBOOKS=book/03_seq2seq.ipynb
NOTEBOOKS ?= $(sort $(wildcard book/*.ipynb))
notebooks: $(SETUP)
	JUPYTER_PATH="$(CURDIR)/$(VENV)/share/jupyter" $(BIN)/python scripts/execute_notebooks.py $(NOTEBOOKS)

# --- data ----------------------------------------------------------------------------------------

data: $(SETUP)
	$(BIN)/python -m seqattn.data

# --- experiments ---------------------------------------------------------------------------------

# The record of every claim the chapters make about training: the three models x {reversed, as
# written} x 3 seeds x 10 epochs with the book's settings, in data/experiments.json, rewritten
# after every epoch. Resumable: stop it at any time and run it again. Two runs at once with one
# BLAS thread each (JOBS=1 for one); about 4 hours on our 2-core machine. It also ships
# the attention model of seed 0 after epochs 1, 2 and 10 for chapter 8.
JOBS ?= 2
SHIPPED_RUN := attention-reversed-seed0
experiments: $(SETUP)
	$(BIN)/python scripts/experiments.py --preset book --jobs $(JOBS) \
	  --checkpoint $(SHIPPED_RUN):1:data/attention_seq2seq_epoch1.npz \
	  --checkpoint $(SHIPPED_RUN):2:data/attention_seq2seq_epoch2.npz \
	  --checkpoint $(SHIPPED_RUN):10:data/attention_seq2seq.npz

# Part 3's record: the attention variants (seqattn.attention_variants.VARIANTS) with reversed
# questions x 3 seeds, with the book's settings, in data/experiments-part3.json; and seed 0's
# models after its last epoch (data/part3/*.npz) for the chapters' maps. Resumable, as above;
# EPOCHS=10 continues a shorter record. About 4 hours for 5 epochs on our 2-core machine.
PART3_MODELS := luong_scaled luong_additive bahdanau_dot bahdanau_additive masked bilstm \
                deep2 deep2_skip
PART3_SHIPPED := masked bilstm luong_additive bahdanau_additive
EPOCHS ?= 5
experiments-part3: $(SETUP)
	mkdir -p data/part3
	$(BIN)/python scripts/experiments.py --preset book --jobs $(JOBS) --set epochs=$(EPOCHS) \
	  --models $(PART3_MODELS) --orders reversed --record data/experiments-part3.json \
	  $(foreach m,$(PART3_SHIPPED),--checkpoint $(m)-reversed-seed0:$(EPOCHS):data/part3/$(m).npz)

# The small preset's runs that Part 3's exercises quote (data/experiments-small-part3.json):
# placement, mask and BiLSTM with questions reversed and as written; 4 layers with and without
# skip connections. About an hour.
experiments-small-part3: $(SETUP)
	$(BIN)/python scripts/experiments.py --preset small --jobs $(JOBS) \
	  --models bahdanau_dot masked bilstm --orders reversed as-written \
	  --record data/experiments-small-part3.json
	$(BIN)/python scripts/experiments.py --preset small --jobs $(JOBS) \
	  --models deep4 deep4_skip --orders reversed --record data/experiments-small-part3.json

# Part 4's Transformer (seqattn.transformer.TRANSFORMERS["transformer"]) with the book's settings:
# questions as written x 3 seeds x 10 epochs, beside chapter 7's AttentionSeq2seq record, in
# data/experiments-transformer.json; seed 0's model after epoch 10 ships (data/transformer.npz)
# for the chapters' maps. Resumable, as above; about an hour on our 2-core machine.
experiments-transformer: $(SETUP)
	$(BIN)/python scripts/experiments.py --preset book --jobs $(JOBS) --set epochs=10 \
	  --models transformer --orders as-written --record data/experiments-transformer.json \
	  --checkpoint transformer-as-written-seed0:10:data/transformer.npz

# The measurements the Transformer's sizes were chosen by (small preset, 3 seeds): width 32, 64,
# 128; 1, 2, 3 layers; 1 or 4 heads; and the chosen one with its questions reversed
# (data/experiments-small-transformer.json). About 40 minutes.
TRANSFORMER_SIZES := transformer transformer_d32 transformer_d128 transformer_l1 transformer_l3 \
                     transformer_h1
experiments-small-transformer: $(SETUP)
	$(BIN)/python scripts/experiments.py --preset small --jobs $(JOBS) \
	  --models $(TRANSFORMER_SIZES) --orders as-written \
	  --record data/experiments-small-transformer.json
	$(BIN)/python scripts/experiments.py --preset small --jobs $(JOBS) \
	  --models transformer --orders reversed --record data/experiments-small-transformer.json

# The small preset's grid, which the chapters' exercises quote: the three models x {reversed,
# as written, left-padded} x 3 seeds (data/experiments-small.json), and attention without
# gradient clipping and with half the hidden size (-noclip, -h64). About 25 minutes.
SMALL := $(BIN)/python scripts/experiments.py --preset small --jobs $(JOBS)
experiments-small: $(SETUP)
	$(SMALL) --orders reversed as-written left-padded
	$(SMALL) --models attention --orders reversed --set max_grad=null \
	  --record data/experiments-small-noclip.json
	$(SMALL) --models attention --orders reversed --set hidden_size=64 \
	  --record data/experiments-small-h64.json

# --- benchmark -----------------------------------------------------------------------------------

# Speed and memory of training and evaluation, ours beside the book-style reference and the
# matrix-product floor, with 1 and 2 BLAS threads (a few minutes). Prints your machine's figures
# and writes them to _build/bench/results.json; the shipped ones stay as they are. BENCH_ARGS
# passes options to bench/bench.py (`bench/bench.py --help`). Not part of `make test`: timings
# are no tests.
BENCH_ARGS ?=
bench: $(SETUP)
	mkdir -p _build/bench
	$(BIN)/python bench/bench.py --json _build/bench/results.json $(BENCH_ARGS)

# One BLAS thread or two, idle and beside 1 or 2 busy processes: the measurement behind the
# package's default thread count (a few minutes; _build/bench/threads.json; the run the README
# and the appendix quote is bench/threads.json).
bench-threads: $(SETUP)
	$(BIN)/python bench/threads_under_load.py

# Our batched evaluation beside the same model in PyTorch on the CPU, in its own environment
# (.venv-torch), never in `make test`. TORCH_SPEC is what pip installs: PyPI's Linux wheel pulls
# gigabytes of CUDA libraries, and a CPU build is enough, e.g.
# TORCH_SPEC="torch --index-url https://download.pytorch.org/whl/cpu".
TORCH_SPEC ?= torch
bench-torch: $(SETUP)
	test -x .venv-torch/bin/python || $(PYTHON) -m venv .venv-torch
	.venv-torch/bin/python -m pip install $(TORCH_SPEC)
	.venv-torch/bin/python -m pip install -e .
	.venv-torch/bin/python bench/torch_compare.py

# A deliberate step, on a quiet machine: replace the shipped figures (bench/results.json) with a
# fresh run, then re-execute every chapter that prints them, so that nbval still agrees.
# BENCH_ARGS="--models --variants --small-runs 0 --merge" times only the Transformer (beside
# AttentionSeq2seq, in the same rounds) and keeps the rest of the shipped figures.
BENCH_READERS = $(shell grep -l 'results\.json' book/*.ipynb)
bench-record: $(SETUP)
	$(BIN)/python bench/bench.py --json bench/results.json $(BENCH_ARGS)
	$(MAKE) notebooks NOTEBOOKS="$(BENCH_READERS)"

clean:
	rm -rf _build
