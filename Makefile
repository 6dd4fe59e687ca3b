# Every target creates .venv and installs the project into it on first use: setuptools' default
# editable install, which for this layout (every package at its natural path; conf/ ships through
# the link lenet_ablate/conf) is a plain .pth entry for the checkout, so Hydra's plugin discovery
# finds hydra_plugins/ (the study's sweeper).
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: install train ablate ablate-fair report tensorboard tensorboard-jobs test test-processes test-slow test-slurm stress bench speed data folder-data example-own demo clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

train: $(STAMP)          ## one training run of the baseline
	$(PY) -m lenet_ablate

# The study runs one job per core, one thread each (Hydra's joblib launcher); JOBS=1 runs the jobs
# one after another. trainer.threads=1 either way, and portable mode (trainer.portable) pins the kernels to
# AVX2, so the results do not depend on how many cores or which x86-64 CPU the machine has.
# SEEDS=auto: 3 pilot seeds, then looks at 5, 8, 12, 18 and 30 seeds; each comparison gets seeds
# until it is settled (or cannot settle within seeds_max=30).
JOBS  ?= $(shell nproc)
SEEDS ?= auto
JOBS_OPTS := trainer.threads=1 $(if $(filter-out 1,$(JOBS)),hydra/launcher=joblib hydra.launcher.n_jobs=$(JOBS))
PARALLEL := seeds=$(SEEDS) $(JOBS_OPTS)

ablate: $(STAMP) data    ## the five-experiment study (multirun/all), then the report
	$(PY) -m lenet_ablate experiment=all $(PARALLEL)
	$(MAKE) report

# The same study with each configuration also at its own tuned lr (tune=lr): screening runs of
# TUNE_EPOCHS epochs, then every seed at the chosen lr. Reuses make ablate's runs (same folder).
TUNE_EPOCHS ?= 3
ablate-fair: $(STAMP) data   ## the study at default and at tuned lrs (tune=lr), then the report
	$(PY) -m lenet_ablate experiment=all tune=lr tune.epochs=$(TUNE_EPOCHS) $(PARALLEL)
	$(MAKE) report

report: $(STAMP)         ## multirun_reports/ from every sweep under multirun/, and its configurations in TensorBoard
	$(PY) -m lenet_ablate.report
	$(PY) -m lenet_ablate.tensorboard

# make tensorboard serves, after make report, each sweep's configuration runs (<sweep>/_configurations:
# one per configuration, its seeds' mean and 95% band), so CUSTOM SCALARS' margin charts show every
# configuration on the first view; make tensorboard-jobs serves every job's own run (<sweep>/<job>/tb).
# Localhost only unless you choose otherwise (make tensorboard TB_HOST=0.0.0.0 for every interface).
TB_HOST ?= localhost
tensorboard: $(STAMP)
	$(VENV)/bin/tensorboard --logdir_spec "$$($(PY) -m lenet_ablate.tensorboard --logdir-spec)" --host $(TB_HOST)

tensorboard-jobs: $(STAMP)  ## every job's TensorBoard run
	$(VENV)/bin/tensorboard --logdir multirun --host $(TB_HOST)

test: $(STAMP)           ## fast tests (no full data set needed)
	$(PY) -m pytest -q

test-processes: $(STAMP) ## tests whose point is separate processes: signals, joblib workers, the wheel, the bench
	$(PY) -m pytest -q -m processes

test-slow: $(STAMP)      ## tests on the full Fashion-MNIST (skipped where absent)
	$(PY) -m pytest -q -m slow

test-slurm: $(STAMP)     ## sweeps through a real single-node Slurm (started as root if absent; else skipped)
	$(PY) -m pytest -q -m slurm -rs -n 0

stress: $(STAMP)         ## every signal case 20 times under full CPU load (80 cases; docs/performance.md)
	$(PY) -m pytest -q -m stress -n 0

bench: $(STAMP)
	$(PY) bench/bench.py

# A clean speed comparison: each configuration of EXPERIMENT, interleaved in one worker process, as
# ratios to the reference with intervals (docs/speed.md); its report shows it. Run it on an idle machine.
EXPERIMENT ?= activation
speed: $(STAMP)          ## time per epoch of each level of EXPERIMENT against its reference
	$(PY) -m lenet_ablate.speed experiment=$(EXPERIMENT)

data: $(STAMP)           ## Fashion-MNIST by whatever route works here
	$(PY) -m lenet_ablate.data.getdata

folder-data: data       ## Fashion-MNIST as a folder of PNGs (data/fashion_mnist_png), for trying data=folder
	$(PY) -m lenet_ablate.data.export fashion_mnist data/fashion_mnist_png

# The worked example of docs/your_own.md: a network of one's own (docs/examples/smallcnn.py) on the
# PNG folder, experiment=activation with seeds=auto, then its report (multirun_reports/own_activation).
example-own: folder-data
	PYTHONPATH=docs/examples $(PY) -m lenet_ablate --config-dir docs/examples/conf model=smallcnn \
	  data=folder data.root=data/fashion_mnist_png experiment=activation trainer.max_epochs=10 \
	  study_dir=multirun/own $(PARALLEL)
	$(PY) -m lenet_ablate.report multirun/own/activation

# make demo: the whole path in a few minutes on 2 cores, before the hour or two of make ablate: every
# 20th Fashion-MNIST image as a PNG folder (3000 training, 500 test images), two knobs one at a time
# around LeNet-5's baseline (an activation, a weight decay), 3 seeds of 3 epochs, the report
# (multirun_reports/demo; it says it is a demo) and its TensorBoard runs (make tensorboard).
DEMO_NOTE := "study.note='A demo: 3000 training images, 3 epochs, 3 seeds. Its verdicts are not those of the study (make ablate).'"
demo: data
	$(PY) -m lenet_ablate.data.export fashion_mnist data/demo_png --every 20
	$(PY) -m lenet_ablate -m data=folder data.root=data/demo_png study.sweep=one_at_a_time \
	  activation=relu,tanh optimizer.weight_decay=0,0.005 seeds=3 trainer.max_epochs=3 $(DEMO_NOTE) \
	  hydra.sweep.dir=multirun/demo $(JOBS_OPTS)
	$(PY) -m lenet_ablate.report multirun/demo
	$(PY) -m lenet_ablate.tensorboard multirun/demo

clean:
	rm -rf outputs multirun multirun_reports/*/
