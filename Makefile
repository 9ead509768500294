# The sockets course. `make help` lists what each target does.
#
#   make run-lesson L=3          watch lesson 3: server and client in one terminal
#   make server L=3 ARGS='...'   one side of lesson 3, interactive (two terminals)
#   make client L=3 ARGS='...'
#   make test                    everything CI checks

L ?= 1
ARGS ?=
CARGO ?= cargo
# Failing tests print their transcript; a backtrace of the test harness
# itself would only bury it.
export RUST_LIB_BACKTRACE ?= 0

.DEFAULT_GOAL := help
.PHONY: help lessons run-lesson server client test fmt lint build book bench clean

help: ## Say what each target does
	@echo "The sockets course: one lesson a crate, each with a server and a client."
	@echo
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | \
		awk 'BEGIN {FS = ":.*## "}; {printf "  make %-12s %s\n", $$1, $$2}'
	@echo
	@echo "L=N picks the lesson (default 1); ARGS='...' passes options to a lesson binary,"
	@echo "for example: make server L=1 ARGS='--addr 127.0.0.1:0'. 'make lessons' lists them."

lessons: ## List the lessons
	@$(CARGO) run --quiet --package course -- lessons

build: ## Build every lesson's binaries
	@$(CARGO) build --quiet --workspace --bins

run-lesson: build ## Play lesson L's demo: server and client together, labelled transcript
	@$(CARGO) run --quiet --package course -- demo $(L)

server: ## Run lesson L's server in this terminal (ARGS='...' for its options)
	@$(CARGO) run --quiet --package course -- run server $(L) -- $(ARGS)

client: ## Run lesson L's client in this terminal (ARGS='...' for its options)
	@$(CARGO) run --quiet --package course -- run client $(L) -- $(ARGS)

fmt: ## Format the code
	$(CARGO) fmt --all

lint: ## Check formatting and clippy's lints
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets --quiet -- -D warnings

test: lint build ## Everything CI checks: format, lints, unit and end-to-end tests, demos, book links
	$(CARGO) test --workspace --quiet --no-fail-fast

book: ## Build the book into docs/book (installs mdBook on first use)
	@command -v mdbook >/dev/null || $(CARGO) install mdbook --locked
	mdbook build docs

bench: ## Measure the UDP echo server against C and Python servers (release build)
	@scripts/bench.sh

clean: ## Remove build output
	$(CARGO) clean
	rm -rf docs/book
