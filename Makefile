# The sockets course. `make help` lists what each target does.
#
#   make run-lesson L=3          watch lesson 3: server and client in one terminal
#   make run-lesson 3            the same
#   make server L=3 ARGS='...'   one side of lesson 3, interactive (two terminals)
#   make client L=3 ARGS='...'
#   make test                    everything CI checks

L ?= 1
ARGS ?=
CARGO ?= cargo
# The mdBook release the book is built and checked with: `make book`
# installs exactly this one, so the book looks the same everywhere.
MDBOOK_VERSION := 0.4.52
# cargo-mutants, for `make mutants`.
MUTANTS_VERSION := 27.1.0
TOOLS := $(CURDIR)/target/tools
# Failing tests print their transcript; a backtrace of the test harness
# itself would only bury it.
export RUST_LIB_BACKTRACE ?= 0

# `make run-lesson 3` and `make server 3`: a number among the goals names
# the lesson, and is not a target of its own.
LESSON_GOALS := $(shell printf '%s\n' $(MAKECMDGOALS) | grep -E '^[0-9]+$$')
ifneq ($(LESSON_GOALS),)
ifneq ($(words $(LESSON_GOALS)),1)
$(error give one lesson number, not $(words $(LESSON_GOALS)): make run-lesson L=3)
endif
override L := $(LESSON_GOALS)
.PHONY: $(LESSON_GOALS)
$(LESSON_GOALS):
	@:
endif

COURSE := $(CARGO) run --quiet --package course --

.DEFAULT_GOAL := help
.PHONY: help lessons run-lesson server client exercise transcripts test fmt lint build \
	book bench bench-transports bench-chat mutants clean

help: ## Say what each target does
	@echo "The sockets course: one lesson a crate, each with a server and a client."
	@echo
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | \
		awk 'BEGIN {FS = ":.*## "}; {printf "  make %-12s %s\n", $$1, $$2}'
	@echo
	@echo "L=N picks the lesson (default 1), or give the number alone: make run-lesson 3."
	@echo "ARGS='...' passes options to a lesson binary, for example:"
	@echo "  make server L=1 ARGS='--addr 127.0.0.1:0'. 'make lessons' lists the lessons."

lessons: ## List the lessons
	@$(COURSE) lessons

# Not --quiet: the first build takes about half a minute, and cargo's
# progress shows that something is happening.
build: ## Build every lesson's binaries
	@$(CARGO) build --workspace --bins

run-lesson: build ## Play lesson L's demo: server and client together, labelled transcript
	@$(COURSE) demo '$(L)'

server: ## Run lesson L's server in this terminal (ARGS='...' for its options)
	@$(COURSE) run server '$(L)' -- $(ARGS)

client: ## Run lesson L's client in this terminal (ARGS='...' for its options)
	@$(COURSE) run client '$(L)' -- $(ARGS)

exercise: build ## Check your solutions to lesson L's exercises
	@$(COURSE) exercise '$(L)'

transcripts: build ## Remake the book's demo transcripts from real runs
	@$(COURSE) transcripts

fmt: ## Format the code
	$(CARGO) fmt --all

lint: ## Check formatting and clippy's lints
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets --quiet -- -D warnings

test: lint ## Everything CI checks: format, lints, unit and end-to-end tests, demos, book
	@scripts/lab-tools.sh
	$(CARGO) build --workspace --bins --quiet
	$(CARGO) test --workspace --quiet --no-fail-fast

book: ## Build the book into docs/book (installs mdBook on first use)
	@test -x $(TOOLS)/bin/mdbook || \
		$(CARGO) install mdbook --version $(MDBOOK_VERSION) --locked --root $(TOOLS)
	$(TOOLS)/bin/mdbook build docs

bench: ## Measure the lesson servers against the same servers in C and Python (release build)
	@scripts/bench.sh

bench-transports: ## Lesson 14 in full: every transport measured, pinned; writes the table and chart into the book
	@scripts/bench-transports.sh $(ARGS)

# The chat room's servers under load (lesson 13): the server runs on CPU 0,
# the load generator on CPU 1 (`taskset`), so that they do not take turns on
# one CPU; without taskset, neither is pinned.
bench-chat: ## Measure lesson 13's three chat servers with 10,000 clients (release build, about 2 minutes)
	$(CARGO) build --release --quiet --package chat-room --bins
	@if command -v taskset >/dev/null; then \
		taskset -c 1 target/release/chat-load bench --server-cpus 0 --chart docs/src/images/chat-bench.svg; \
	else \
		target/release/chat-load bench --server-cpus '' --chart docs/src/images/chat-bench.svg; \
	fi

mutants: ## Plant faults with cargo-mutants and count those the tests miss (L=N: that lesson)
	@test -x $(TOOLS)/bin/cargo-mutants || \
		$(CARGO) install cargo-mutants --version $(MUTANTS_VERSION) --locked --root $(TOOLS)
	@scripts/mutants.sh $(if $(filter command line,$(origin L)),$(L),)

clean: ## Remove build output
	$(CARGO) clean
	rm -rf docs/book
