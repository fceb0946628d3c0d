# sre.runbooks developer entry points. The README starts with `make demo` and `make test`.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3.11
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
STAMP := $(VENV)/.installed
PIP_CONSTRAINTS ?= -c constraints.txt
# ansible finds this checkout as sre.runbooks through this link (see ansible.cfg).
COLLECTIONS := $(CURDIR)/.collections
COLLECTION_LINK := $(COLLECTIONS)/ansible_collections/sre/runbooks
export ANSIBLE_COLLECTIONS_PATH := $(COLLECTIONS)
export PATH := $(BIN):$(PATH)
export SRE_SERVICES_DIR ?= $(CURDIR)/.services

.PHONY: help venv collection services-up services-down k8s-build k8s-up k8s-down kafka-build \
        test test-static unit integration molecule sanity lint build galaxy-import ee-context docs-lint \
        changelog-lint demo bench clean venv-core-min

help:
	@echo "make demo   - start local services and run playbooks/weekly_maintenance.yml against them"
	@echo "make test   - the whole suite: static checks, unit, integration, molecule (real services)"
	@echo "other: venv services-up services-down k8s-build k8s-up k8s-down kafka-build unit integration molecule sanity lint build"
	@echo "       galaxy-import ee-context docs-lint changelog-lint bench clean"

$(STAMP): requirements.txt requirements-dev.txt constraints.txt
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --disable-pip-version-check -r requirements-dev.txt $(PIP_CONSTRAINTS)
	$(VENV)/bin/pip check
	touch $@

venv: $(STAMP)

# A second venv with the lowest supported ansible-core (tests/core-min/requirements.txt), for the
# check-mode smoke of every playbook on it. ansible-core's own pins are left to that version.
CORE_MIN_VENV := .cache/venv-core-min
$(CORE_MIN_VENV)/.installed: tests/core-min/requirements.txt requirements.txt constraints.txt
	rm -rf $(CORE_MIN_VENV) && mkdir -p .cache && $(PYTHON) -m venv $(CORE_MIN_VENV)
	grep -vE '^(ansible-core|resolvelib)==' constraints.txt > $(CORE_MIN_VENV)/constraints.txt
	$(CORE_MIN_VENV)/bin/pip install -q --disable-pip-version-check -r tests/core-min/requirements.txt \
	  -c $(CORE_MIN_VENV)/constraints.txt
	touch $@

venv-core-min: $(CORE_MIN_VENV)/.installed

$(COLLECTION_LINK):
	mkdir -p $(dir $@)
	ln -sfn ../../.. $@

collection: venv $(COLLECTION_LINK)

services-up: collection
	$(BIN)/python -m tests.harness.services up

services-down:
	@if [ -x $(BIN)/python ]; then $(BIN)/python -m tests.harness.services down; fi

k8s-build:
	tests/k8s/build.sh

# The Kafka broker's jars for the integration tests (Maven, cached in ~/.cache/sre-runbooks).
kafka-build:
	tests/kafka/build.sh

k8s-up: k8s-build collection
	tests/k8s/cluster.sh up

# Refuses while test sessions use the cluster; FORCE=1 stops it anyway (those sessions then fail).
k8s-down:
	tests/k8s/cluster.sh down $(if $(filter 1,$(FORCE)),--force)

# Static checks first (they fail fast); pytest runs last so its summary closes the output.
test: collection
	tests/run_all.sh

test-static: sanity lint build galaxy-import ee-context docs-lint changelog-lint

unit: collection
	$(BIN)/pytest tests/unit

integration: collection
	$(BIN)/pytest tests/integration

molecule: collection
	$(BIN)/pytest tests/integration/test_molecule.py

sanity: collection
	tests/sanity/run.sh

lint: collection
	$(BIN)/ansible-lint

build: collection
	rm -rf .cache/build && mkdir -p .cache/build
	$(BIN)/ansible-galaxy collection build --output-path .cache/build .

# Galaxy's and Automation Hub's import check on the built tarball, offline (tests/release/).
galaxy-import: build
	$(BIN)/python -m tests.release.galaxy_import

# The execution environment's build context (execution-environment.yml, ansible-builder v3),
# with the built tarball in it; build the image from it where a container engine runs.
ee-context: build
	rm -rf .cache/ee
	$(BIN)/ansible-builder create -f execution-environment.yml -c .cache/ee/context --output-filename Containerfile

docs-lint: collection
	$(BIN)/antsibull-docs lint-collection-docs --plugin-docs .

changelog-lint: venv
	$(BIN)/antsibull-changelog lint

demo: collection
	tests/demo.sh

bench: collection
	tests/bench.sh

clean: services-down
	rm -rf .cache .collections tests/output reports
