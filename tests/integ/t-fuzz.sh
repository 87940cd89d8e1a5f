#!/bin/sh
# t-fuzz.sh - short, bounded libFuzzer runs over the header, address and
# MIME parsers (tests/fuzz/fuzz-msg.c), the Sieve lexer, parser and
# validator (tests/fuzz/fuzz-sieve.c), and the procmailrc parser and
# regex dialect (tests/fuzz/fuzz-procmailrc.c), built with clang, ASan
# and UBSan. FUZZ_SECONDS (default 20) bounds the msg run,
# FUZZ_SIEVE_SECONDS (default 15) the Sieve run, FUZZ_PM_SECONDS (default
# 15) the procmailrc run; a crash, leak or sanitizer report fails the
# test and leaves the reproducer in the scratch dir log.
. "${TOP_SRCDIR:-$(dirname "$0")/../..}/tests/integ/lib.sh"
scratch
command -v clang >/dev/null 2>&1 || bail "clang is not installed (tests/install-deps.sh test installs it)"
S="$TOP_SRCDIR/src"
clang -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
    -D_GNU_SOURCE -I"$S" -I"$TOP_BUILDDIR" -o "$SCRATCH/fuzz-msg" \
    "$TOP_SRCDIR/tests/fuzz/fuzz-msg.c" "$S"/msg/*.c "$S"/lib/*.c \
    >"$SCRATCH/build.log" 2>&1
rc=$?
is "$rc" 0 "fuzz target builds with clang -fsanitize=fuzzer,address,undefined"
[ "$rc" -eq 0 ] || { sed 's/^/# /' "$SCRATCH/build.log" | head -30; done_testing; exit 1; }
mkdir -p "$SCRATCH/corpus"
cp "$TOP_SRCDIR"/tests/fuzz/seeds/* "$TOP_SRCDIR"/examples/messages/*.eml \
    "$SCRATCH/corpus/" 2>/dev/null
(cd "$SCRATCH" && ./fuzz-msg -max_total_time="${FUZZ_SECONDS:-20}" \
    -rss_limit_mb=1024 -max_len=65536 -timeout=10 -print_final_stats=1 \
    corpus >"$SCRATCH/fuzz.log" 2>&1)
rc=$?
is "$rc" 0 "libFuzzer: no crash, leak, timeout or sanitizer report in ${FUZZ_SECONDS:-20} s"
runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$SCRATCH/fuzz.log")
diag "executed units: ${runs:-?}"
[ "${runs:-0}" -gt 1000 ]; ok $? "libFuzzer ran more than 1000 inputs (${runs:-0})"
[ "$rc" -eq 0 ] || grep -E 'ERROR|SUMMARY|Test unit written' "$SCRATCH/fuzz.log" | head -20 | sed 's/^/# /'

# -- the Sieve compiler
clang -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
    -D_GNU_SOURCE -I"$S" -I"$TOP_BUILDDIR" -o "$SCRATCH/fuzz-sieve" \
    "$TOP_SRCDIR/tests/fuzz/fuzz-sieve.c" "$S"/rules/sieve/*.c \
    "$S"/rules/action.c "$S"/msg/*.c "$S"/lib/*.c \
    $(pkg-config --cflags --libs libpcre2-8) >"$SCRATCH/build-sieve.log" 2>&1
rc=$?
is "$rc" 0 "Sieve fuzz target builds"
if [ "$rc" -eq 0 ]; then
	mkdir -p "$SCRATCH/corpus-sieve"
	cp "$TOP_SRCDIR"/tests/fuzz/seeds-sieve/* "$SCRATCH/corpus-sieve/" 2>/dev/null
	(cd "$SCRATCH" && ./fuzz-sieve -max_total_time="${FUZZ_SIEVE_SECONDS:-15}" \
	    -rss_limit_mb=1024 -max_len=16384 -timeout=10 -print_final_stats=1 \
	    corpus-sieve >"$SCRATCH/fuzz-sieve.log" 2>&1)
	rc=$?
	is "$rc" 0 "Sieve libFuzzer: no crash, leak, timeout or sanitizer report in ${FUZZ_SIEVE_SECONDS:-15} s"
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$SCRATCH/fuzz-sieve.log")
	diag "Sieve executed units: ${runs:-?}"
	[ "${runs:-0}" -gt 1000 ]; ok $? "Sieve libFuzzer ran more than 1000 inputs (${runs:-0})"
	[ "$rc" -eq 0 ] || grep -E 'ERROR|SUMMARY|Test unit written' "$SCRATCH/fuzz-sieve.log" | head -20 | sed 's/^/# /'
else
	sed 's/^/# /' "$SCRATCH/build-sieve.log" | head -30
fi

# -- the procmailrc parser and regex dialect
clang -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
    -D_GNU_SOURCE -I"$S" -I"$TOP_BUILDDIR" -o "$SCRATCH/fuzz-procmailrc" \
    "$TOP_SRCDIR/tests/fuzz/fuzz-procmailrc.c" "$S"/rules/procmailrc/*.c \
    "$S"/msg/*.c "$S"/lib/*.c \
    $(pkg-config --cflags --libs libpcre2-8) >"$SCRATCH/build-pm.log" 2>&1
rc=$?
is "$rc" 0 "procmailrc fuzz target builds"
if [ "$rc" -eq 0 ]; then
	mkdir -p "$SCRATCH/corpus-pm"
	cp "$TOP_SRCDIR"/tests/fuzz/seeds-procmailrc/* "$SCRATCH/corpus-pm/" 2>/dev/null
	(cd "$SCRATCH" && ./fuzz-procmailrc -max_total_time="${FUZZ_PM_SECONDS:-15}" \
	    -rss_limit_mb=1024 -max_len=16384 -timeout=10 -print_final_stats=1 \
	    corpus-pm >"$SCRATCH/fuzz-pm.log" 2>&1)
	rc=$?
	is "$rc" 0 "procmailrc libFuzzer: no crash, leak, timeout or sanitizer report in ${FUZZ_PM_SECONDS:-15} s"
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$SCRATCH/fuzz-pm.log")
	diag "procmailrc executed units: ${runs:-?}"
	[ "${runs:-0}" -gt 1000 ]; ok $? "procmailrc libFuzzer ran more than 1000 inputs (${runs:-0})"
	[ "$rc" -eq 0 ] || grep -E 'ERROR|SUMMARY|Test unit written' "$SCRATCH/fuzz-pm.log" | head -20 | sed 's/^/# /'
else
	sed 's/^/# /' "$SCRATCH/build-pm.log" | head -30
fi

# -- the scoring engine: rule-file reader, HTML renderer, Bayes tokenizer
# (tests/fuzz/fuzz-score.c; a rule-file input compiles a whole rule set,
# so fewer inputs per second than the others)
clang -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
    -D_GNU_SOURCE -I"$TOP_BUILDDIR/src" -I"$S" -I"$TOP_BUILDDIR" -o "$SCRATCH/fuzz-score" \
    "$TOP_SRCDIR/tests/fuzz/fuzz-score.c" "$S"/score/*.c "$S"/store/*.c \
    "$S"/msg/*.c "$S"/lib/*.c $(pkg-config --cflags --libs libpcre2-8) \
    $(pkg-config --cflags --libs libhs 2>/dev/null) -llmdb -lhiredis -lm \
    >"$SCRATCH/build-score.log" 2>&1
rc=$?
is "$rc" 0 "scoring engine fuzz target builds"
if [ "$rc" -eq 0 ]; then
	mkdir -p "$SCRATCH/corpus-score" "$SCRATCH/tmp-score"
	cp "$TOP_SRCDIR"/tests/fuzz/seeds-score/* "$SCRATCH/corpus-score/" 2>/dev/null
	(cd "$SCRATCH" && TMPDIR="$SCRATCH/tmp-score" ./fuzz-score \
	    -max_total_time="${FUZZ_SCORE_SECONDS:-20}" \
	    -rss_limit_mb=1024 -max_len=16384 -timeout=10 -print_final_stats=1 \
	    corpus-score >"$SCRATCH/fuzz-score.log" 2>&1)
	rc=$?
	is "$rc" 0 "scoring libFuzzer: no crash, leak, timeout or sanitizer report in ${FUZZ_SCORE_SECONDS:-20} s"
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$SCRATCH/fuzz-score.log")
	diag "scoring executed units: ${runs:-?}"
	[ "${runs:-0}" -gt 300 ]; ok $? "scoring libFuzzer ran more than 300 inputs (${runs:-0})"
	[ "$rc" -eq 0 ] || grep -E 'ERROR|SUMMARY|Test unit written' "$SCRATCH/fuzz-score.log" | head -20 | sed 's/^/# /'
else
	sed 's/^/# /' "$SCRATCH/build-score.log" | head -30
fi
done_testing
