#!/usr/bin/env bash
# Planted faults (make mutants): cargo-mutants changes the code one small
# way at a time (a `<` becomes `<=`, a function returns a default, a match
# arm goes) and runs the tests on each change. A change the tests catch is
# a test doing its work; a change they miss is behaviour nothing checks.
#
#   scripts/mutants.sh        the common crate, then the harness
#   scripts/mutants.sh N      lesson N's crate, with its end-to-end tests
#
# cargo-mutants copies the workspace (without target/) to a scratch folder
# and builds each change there, so the working tree is never touched. Each
# run's report goes to target/mutants/NAME/mutants.out: missed.txt,
# caught.txt, unviable.txt, timeout.txt and a log per mutant. The script
# prints each run's counts and the mutants the tests missed, and exits
# non-zero when one was missed or timed out.
#
# The harness run covers the files whose unit tests stand alone (the
# scenario format, escapes, transcripts, the book check) and runs only the
# library's unit tests: tests/course.rs plays every lesson, needs every
# lesson binary built, and takes far too long to run once per mutant.
#
# JOBS (default 2) mutants are built and tested at once; TIMEOUT (default
# 60) seconds bounds each test run, BUILD_TIMEOUT (default 600) each build.
set -euo pipefail
cd "$(dirname "$0")/.."

MUTANTS=${MUTANTS:-target/tools/bin/cargo-mutants}
JOBS=${JOBS:-2}
TIMEOUT=${TIMEOUT:-60}
BUILD_TIMEOUT=${BUILD_TIMEOUT:-600}
OUT=target/mutants

if [[ ! -x $MUTANTS ]]; then
    echo "error: $MUTANTS is missing: run 'make mutants', which installs it" >&2
    exit 1
fi

# One run: NAME, then cargo-mutants' own options. Prints the counts and
# the missed mutants; returns non-zero when any was missed or timed out.
run() {
    local name=$1
    shift
    local dir=$OUT/$name
    local start=$SECONDS status=0
    echo "── mutants: $name"
    mkdir -p "$dir"
    "$MUTANTS" mutants --output "$dir" --jobs "$JOBS" --timeout "$TIMEOUT" \
        --build-timeout "$BUILD_TIMEOUT" --colors never --no-times "$@" || status=$?
    local results=$dir/mutants.out
    count() { if [[ -f $results/$1.txt ]]; then grep -c . "$results/$1.txt" || true; else echo 0; fi; }
    echo "── $name: $(count caught) caught, $(count missed) missed," \
        "$(count unviable) unviable, $(count timeout) timeouts" \
        "in $((SECONDS - start)) s (report: $results)"
    for kind in missed timeout; do
        if [[ -s $results/$kind.txt ]]; then
            echo "   $kind:"
            sed 's/^/     /' "$results/$kind.txt"
        fi
    done
    # 0: all caught; 2: some missed; 3: some timed out; anything else
    # (4: the tests fail without any mutant) is a failure of the run itself.
    if [[ $status -ne 0 && $status -ne 2 && $status -ne 3 ]]; then
        echo "error: cargo-mutants stopped with status $status: see $results/debug.log" >&2
    fi
    return "$status"
}

# Lesson N's package, and the package of the client it borrows (lesson 2
# uses lesson 1's, lesson 4 lesson 3's), read from the lesson catalogue.
lesson_packages() {
    awk -v n="$1" '
        /^ *number: [0-9]+,/ { gsub(/[^0-9]/, ""); this = ($0 == n) }
        this && /^ *package: "/ { split($0, q, "\""); print q[2] }
        this && /client: bin\("/ { split($0, q, "\""); print q[2] }
    ' src/catalogue.rs | sort -u
}

failed=0
if [[ $# -eq 0 ]]; then
    run common --package common || failed=1
    run harness --package course \
        --file src/scenario.rs --file src/escape.rs --file src/transcript.rs --file src/book.rs \
        -- --lib || failed=1
else
    lesson=$1
    own=$(awk -v n="$lesson" '
        /^ *number: [0-9]+,/ { gsub(/[^0-9]/, ""); this = ($0 == n) }
        this && /^ *package: "/ { split($0, q, "\""); print q[2]; exit }
    ' src/catalogue.rs)
    if [[ -z $own ]]; then
        echo "error: there is no lesson $lesson: 'make lessons' lists them" >&2
        exit 1
    fi
    # The lesson's tests, and those of the package whose client it borrows:
    # testing that package too makes cargo build the client's binary where
    # the lesson's tests look for it.
    tests=()
    for package in $(lesson_packages "$lesson"); do
        tests+=(--test-package "$package")
    done
    run "lesson-$lesson" --package "$own" "${tests[@]}" || failed=1
fi
exit "$failed"
