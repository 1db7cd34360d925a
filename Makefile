# The README's commands. Each target creates the virtualenv on first use and
# installs evofool with the exact pins of requirements/constraints.txt (CPU torch
# 2.13.0 here; no CUDA download).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test benchmarks

$(STAMP): pyproject.toml requirements/constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check \
		-c requirements/constraints.txt -e '.[test,ray,onnx]'
	touch $@

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/evofool run configs/mnist_cppn.yaml

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q

benchmarks: $(STAMP)
	$(BIN)/python -m pip install --quiet -c requirements/constraints.txt -e '.[test,ray,onnx,bench]'
	$(BIN)/python benchmarks/evaluator.py
	$(BIN)/python benchmarks/overhead.py
	$(BIN)/python benchmarks/cppn_render.py
	$(BIN)/python benchmarks/cppn_stall.py
	$(BIN)/python benchmarks/reproduce_mnist.py
	$(BIN)/python benchmarks/vs_pyribs.py
	$(BIN)/python benchmarks/memory.py
	$(BIN)/python benchmarks/retrain_mnist.py
	$(BIN)/python benchmarks/transfer_mnist.py
	$(BIN)/python benchmarks/imagenet.py --device cpu --generations 5 --warmup 5
	$(BIN)/python benchmarks/gpu.py
	$(BIN)/python benchmarks/ray_scaling.py
