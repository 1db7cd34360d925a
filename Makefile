# The README's commands. Each target creates the virtualenv on first use and
# installs evofool with the exact pins of requirements/constraints.txt (CPU torch
# 2.13.0 here; no CUDA download).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test docs benchmarks

$(STAMP): pyproject.toml requirements/constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check \
		-c requirements/constraints.txt -e '.[test,ray,onnx,ood,openvino,qd,docs]'
	touch $@

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/evofool run configs/mnist_cppn.yaml

# Float32 results may differ in the last bits between processors' kernel paths (MKL and
# oneDNN pick one by processor; auto picks an engine by timing). The tests whose assertions
# rest on floating-point kernels carry the `numerics` mark and run again on other code paths
# and with auto forced to each exact engine, so an assertion that holds on one processor only
# fails here, on any processor. Those that start processes of their own (Ray actors, killed
# and resumed runs) run on the first other path only. Every test has a time limit
# (pyproject.toml), so a hang fails instead of stalling CI.
PYTEST := $(BIN)/python -m pytest -q
SITE ?= site

# The documentation site, from docs/ (mkdocs.yml): the configuration reference is generated
# from the settings classes and the API reference from the docstrings as it builds.
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir $(SITE)
	@echo "docs: open $(SITE)/index.html (or: $(BIN)/mkdocs serve)"

test: $(STAMP)
	$(BIN)/ruff check .
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet --site-dir $(SITE)
	$(PYTEST) --durations=10
	MKL_CBWR=COMPATIBLE ONEDNN_MAX_CPU_ISA=AVX2 EVOFOOL_AUTO_ENGINE=torch \
		$(PYTEST) -m numerics
	MKL_CBWR=AVX2 EVOFOOL_AUTO_ENGINE=onnxruntime $(PYTEST) -m "numerics and not processes"
	ONEDNN_MAX_CPU_ISA=AVX2 EVOFOOL_AUTO_ENGINE=openvino \
		$(PYTEST) -m "numerics and not processes"

benchmarks: $(STAMP)
	$(BIN)/python -m pip install --quiet -c requirements/constraints.txt -e '.[test,ray,onnx,ood,openvino,qd,docs]'
	$(BIN)/python benchmarks/evaluator.py
	$(BIN)/python benchmarks/overhead.py
	$(BIN)/python benchmarks/cppn_render.py
	$(BIN)/python benchmarks/cppn_render_imagenet.py
	$(BIN)/python benchmarks/cppn_stall.py
	$(BIN)/python benchmarks/reproduce_mnist.py
	$(BIN)/python benchmarks/vs_pyribs.py
	$(BIN)/python benchmarks/memory.py
	$(BIN)/python benchmarks/retrain_mnist.py
	$(BIN)/python benchmarks/transfer_mnist.py
	$(BIN)/python benchmarks/engines.py
	$(BIN)/python benchmarks/imagenet.py --device cpu --encodings cppn --generations 30 --warmup 20
	$(BIN)/python benchmarks/checkpoint_cost.py
	$(BIN)/python benchmarks/imagenet_search.py --evaluations 32000
	$(BIN)/python benchmarks/store_growth.py
	$(BIN)/python benchmarks/ood_mnist.py
	$(BIN)/python benchmarks/ood_evasion.py
	$(BIN)/python benchmarks/gpu.py
	$(BIN)/python benchmarks/ray_scaling.py
	$(BIN)/python benchmarks/defenses_mnist.py --imagenet
	$(BIN)/python benchmarks/outcome_bounds.py
