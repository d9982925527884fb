# Two commands do everything on a fresh Debian 12 with Python 3.11:
#   make demo   set up (apt packages, .venv with ROS 2 Kilted wheels) and run the simulated entrance
#   make test   the same setup, then the whole test suite
# Both are idempotent: a second run only checks stamps and goes straight to the job.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
OUT ?= build/demo
SCENARIO ?=
# espeak-ng: the voices; libportaudio2: sound devices; libspeexdsp1: the echo canceller (barge-in); postgresql: the assistant's fleet storage, tested for real.
# chromium + Noto fonts: the touchscreen page tested in a real headless browser (Playwright drives /usr/bin/chromium).
APT_PACKAGES := espeak-ng libportaudio2 libspeexdsp1 postgresql chromium fonts-noto-core fonts-noto-cjk
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

# ROS 2 traffic never leaves this machine; logs stay in the build folder.
export ROS_AUTOMATIC_DISCOVERY_RANGE := LOCALHOST
export RMW_IMPLEMENTATION := rmw_fastrtps_cpp
export ROS_LOG_DIR := $(CURDIR)/build/ros_log
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: demo test setup system venv bench clean

demo: setup
	ROS_DOMAIN_ID=$${ROS_DOMAIN_ID:-$$(( $$$$ % 100 + 1 ))} $(PY) -m caexpo_robot.cli sim $(SCENARIO) --out $(OUT)

test: setup
	$(PY) -m ruff check .
	scripts/with-test-postgres.sh $(PY) -m pytest -q test

bench: setup
	for b in bench/*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

setup: system venv

system: build/.system-stamp
build/.system-stamp: Makefile
	@mkdir -p build
	@# Debian's own Python needs python3.11-venv for `-m venv` (ensurepip is split out).
	@packages="$(APT_PACKAGES)"; \
	$(PYTHON) -c 'import ensurepip' >/dev/null 2>&1 || packages="$$packages python3.11-venv"; \
	if ! dpkg -s $$packages >/dev/null 2>&1; then \
	  echo "installing apt packages: $$packages"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$packages; \
	fi
	@touch $@

venv: $(VENV)/.stamp
# The robot (repository root) and the reference assistant (caexpo_assistant/, its own project: the demo and
# the tests run it; a robot install needs only requirements/runtime.txt and the root package).
$(VENV)/.stamp: requirements/ros-pypi.txt requirements/runtime.txt requirements/assistant.txt requirements/test.txt \
		requirements/console.txt requirements/constraints.txt setup.py caexpo_assistant/pyproject.toml \
		caexpo_console/pyproject.toml
	@[ -x $(PY) ] || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -c requirements/constraints.txt \
	  -r requirements/ros-pypi.txt -r requirements/runtime.txt -r requirements/assistant.txt -r requirements/console.txt -r requirements/test.txt
	@# Executables are regenerated next: drop the old ones and links to them, so a removed entry point
	@# (e.g. caexpo-assistant, once the robot's, now the assistant project's) cannot shadow the new one.
	@rm -rf $(VENV)/lib/caexpo_robot; find $(VENV)/bin -xtype l -delete
	$(PY) -m pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e . -e caexpo_assistant -e caexpo_console
	@# setup.cfg puts executables in lib/caexpo_robot (where `ros2 run` looks); put them on the venv PATH too.
	@for exe in $(VENV)/lib/caexpo_robot/*; do ln -sf "../lib/caexpo_robot/$$(basename $$exe)" $(VENV)/bin/; done
	$(PY) -m pip check
	$(PY) -m caexpo_robot.cli models assemble whisper-base
	@touch $@

clean:
	rm -rf build $(VENV) *.egg-info
