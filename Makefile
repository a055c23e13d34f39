# Attention from Scratch: build, test and maintenance targets (GNU make, recipes run by /bin/sh).
#
#   make book       set up .venv if needed, then build the HTML book into _build/html
#   make test       set up, build the book, then ONE pytest run: tests/ + nbval on book/*.ipynb
#   make notebooks  re-execute every book/*.ipynb in place in a fresh kernel (stores widget state)
#   make data       regenerate data/date.txt
#   make compare    train the three models with the book's settings; accuracy and time per epoch
#   make checkpoint the same, 5 epochs, writing data/attention_seq2seq.npz and data/comparison.json
#   make clean      remove _build (keeps .venv and the fetched MathJax)
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

.PHONY: all book test notebooks data clean setup mathjax compare checkpoint
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

# --- the book ------------------------------------------------------------------------------------

# Notebooks are committed executed; the build renders their stored outputs (execute_notebooks: off).
book: $(SETUP) $(MATHJAX)
	$(BIN)/jupyter-book build . -W --keep-going

# One pytest run, one summary line: the unit tests (tests/, including the checks on the built
# book) and strict nbval on every notebook under book/ (none yet: pytest then collects none there).
test: book
	$(BIN)/python -m pytest -p no:cacheprovider tests book --nbval --nbval-current-env

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

# Train the three models with the book's settings and print accuracy and seconds per epoch
# (about 3 x 3 x 55 s on 2 cores). EPOCHS=5 make compare for more.
EPOCHS ?= 3
compare: $(SETUP)
	$(BIN)/python scripts/compare_models.py --epochs $(EPOCHS)

# The files the book ships, from one real run of all three models (about 15 x 50 s): the
# trained AttentionSeq2seq and every model's losses and test accuracy per epoch.
CHECKPOINT_EPOCHS ?= 5
checkpoint: $(SETUP)
	$(BIN)/python scripts/compare_models.py --epochs $(CHECKPOINT_EPOCHS) \
	  --json data/comparison.json --checkpoint data/attention_seq2seq.npz

# --- later ---------------------------------------------------------------------------------------
# bench:      (issue 3) timing of the batched decoder; not part of `make test`.

clean:
	rm -rf _build
