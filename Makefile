# Course set-up and chores. `make demo` and `make test` do all the set-up a fresh machine needs.
VENV ?= .venv
PYTHON := $(VENV)/bin/python
COURSE := $(VENV)/bin/course
# nbgrader starts alembic and the kernel from PATH: use the course's environment.
export PATH := $(abspath $(VENV))/bin:$(PATH)
export TF_CPP_MIN_LOG_LEVEL ?= 3

.PHONY: env data demo collect grade grade-by-hand export-grades return-feedback publish release submissions similarity check test lint calibrate benchmark clean certificates

$(VENV)/.installed: requirements.txt constraints.txt pyproject.toml
	python3 -m venv $(VENV)
	$(PYTHON) -m pip install --quiet --upgrade pip
	$(PYTHON) -m pip install --quiet -r requirements.txt
	touch $@

env: $(VENV)/.installed

# Offline machines get Fashion-MNIST from Debian's package; grading runs students' code under
# bubblewrap. Both are installed here when we are root.
data: env
	@missing=""; [ -d /usr/share/datasets/fashion-mnist ] || missing="dataset-fashion-mnist"; \
	command -v bwrap >/dev/null || missing="$$missing bubblewrap"; \
	if [ -n "$$missing" ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; fi
	$(COURSE) data

# Grade the demo class's MLP notebooks (minutes): release/, autograded/, feedback/, grades.csv, a table.
demo: data
	$(COURSE) grade mlp1 mlp2
	@echo "The demo class's cnn, pooling and scratch_cnn notebooks train for a minute or more each on 2 cores: make grade"

# make certificates DIR=~/course-tls: a CA and TLS certificates for grading on several machines (docs/instructors/cluster.md)
certificates: env
	$(COURSE) certificates $(DIR)

# make collect ARCHIVE=DL101-mlp1-42.zip ROSTER=Grades-DL101-mlp1-42.csv   (the LMS's download, or a folder;
# ROSTER: Moodle's grading worksheet of that assignment, or Canvas's gradebook export; ASSIGNMENT=mlp1 when
# the download's name does not say)
collect: env
	$(COURSE) collect "$(ARCHIVE)" $(if $(ROSTER),--roster "$(ROSTER)") $(if $(ASSIGNMENT),--assignment $(ASSIGNMENT))

grade: data
	$(COURSE) grade $(ASSIGNMENTS) $(GRADE_ARGS)

# The written answers (考察), in JupyterLab: Nbgrader → Formgrader → Manual Grading; then make grade.
grade-by-hand: env
	$(COURSE) grade-by-hand

# make return-feedback ASSIGNMENT=mlp1   (feedback-mlp1.zip, for Moodle's or Canvas's bulk upload)
return-feedback: env
	$(COURSE) return-feedback $(ASSIGNMENT)

# make export-grades FORMAT=canvas ROSTER=canvas_gradebook.csv   (moodle, wide; see course/instructor/export.py)
# KEY="SIS Login ID": the roster's column naming the folders of submitted/, when they were not collected with a roster.
# Optional: ASSIGNMENTS="mlp1 cnn", MATCH="ID number" (moodle), PARTIAL=1 (written answers not graded yet: as they stand).
export-grades: env
	$(COURSE) export --format $(FORMAT) $(if $(ROSTER),--roster "$(ROSTER)") $(if $(KEY),--key "$(KEY)") \
		$(if $(ASSIGNMENTS),--assignments $(ASSIGNMENTS)) $(if $(MATCH),--match "$(MATCH)") $(if $(PARTIAL),--partial)

# make publish COLAB_REPO=owner/name: release/README.md with Colab badges, dist/<assignment>.zip for an LMS
publish: release
	$(COURSE) publish "$(COLAB_REPO)"

release: env
	for a in $$(ls source); do $(PYTHON) -m nbgrader generate_assignment $$a --force || exit 1; done

submissions: release
	$(COURSE) demo-class

lint: env
	$(PYTHON) -m ruff check .

# For every edit (about a minute and a half on 2 cores): lint and the tests that neither train a lecture's
# model nor grade with nbgrader.
check: data lint
	$(PYTHON) -m pytest -m "not slow"

# Everything (20 to 28 minutes on 2 cores): what CI runs.
test: data lint
	$(PYTHON) -m pytest

# Who copied whom: similarity.html and similarity.csv beside grades.csv (before or after grading).
similarity: env
	$(COURSE) similarity $(ASSIGNMENTS)

# make calibrate ASSIGNMENT=mlp1 PROFILE=grade
calibrate: data
	$(COURSE) calibrate $(ASSIGNMENT) --profile $(PROFILE)

benchmark: data
	$(PYTHON) benchmarks/grading_time.py

clean:
	rm -rf autograded feedback logs gradebook.db gradebook.db.lock grades.csv grades-*.csv feedback-*.zip class_summary.html grading_state.json .nbgrader.log
