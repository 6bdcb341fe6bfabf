#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Runs every fuzz target for FUZZ_SECONDS (default 60), FUZZ_JOBS at a time (default: the
# number of cores), and reports which broke an invariant or crashed.
# Usage: t/fuzz/run.sh BUILD_DIR TARGET...
# New corpus entries go to BUILD_DIR/corpus/TARGET (the seeds in t/fuzz/seeds are only
# read); a failing input is left as BUILD_DIR/TARGET-crash-*; each target's output is in
# BUILD_DIR/TARGET.log and its verdict in BUILD_DIR/TARGET.verdict.
set -u
here=$(dirname "$0")

# One target: run it, write its verdict file.
if [ "${1:-}" = "--one" ]; then
    dir=$2
    t=$3
    seconds=${FUZZ_SECONDS:-60}
    mkdir -p "$dir/corpus/$t"
    dict=""
    [ -f "$here/$t.dict" ] && dict="-dict=$here/$t.dict"
    # shellcheck disable=SC2086
    if "$dir/$t" -max_total_time="$seconds" -max_len=8192 -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 $dict -artifact_prefix="$dir/$t-" \
        "$dir/corpus/$t" "$here/seeds/$t" >"$dir/$t.log" 2>&1; then
        echo ok >"$dir/$t.verdict"
    else
        echo FAILED >"$dir/$t.verdict"
    fi
    exit 0
fi

dir=$1
shift
seconds=${FUZZ_SECONDS:-60}
jobs=${FUZZ_JOBS:-$(nproc)}
echo "fuzz: $# targets, $seconds s each, $jobs at a time"
for t in "$@"; do rm -f "$dir/$t.verdict"; done
printf '%s\n' "$@" | xargs -P "$jobs" -I{} "$0" --one "$dir" {}

failed=""
for t in "$@"; do
    if [ "$(cat "$dir/$t.verdict" 2>/dev/null)" = ok ]; then
        echo "== $t: ok"
        grep -E "stat::number_of_executed_units|stat::new_units_added" "$dir/$t.log" |
            sed 's/^/   /'
    else
        failed="$failed $t"
        echo "== $t: FAILED: see $dir/$t.log and $dir/$t-crash-*"
        grep -m3 -E "invariant broken|ERROR: |runtime error|deadly signal" \
            "$dir/$t.log" | sed 's/^/   /'
        # and the log's end: where the build directory is gone (a CI root), it is all there is
        echo "   ... the end of $dir/$t.log:"
        tail -n 25 "$dir/$t.log" | sed 's/^/   /'
    fi
done
if [ -n "$failed" ]; then
    echo "fuzz: failed:$failed"
    exit 1
fi
echo "fuzz: every target ran $seconds s without a finding"
