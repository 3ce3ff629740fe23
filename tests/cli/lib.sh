# Shared set-up for the xch end-to-end tests (sourced by each tests/cli/*.t).
# Hermetic: a fresh directory with its own HOME, GNUPGHOME, git config, TZ and
# locale; output in TAP. Patterned on git's t/test-lib.sh.
#
#   . "$XCH_TOP_SRCDIR/tests/cli/lib.sh"
#   test_expect 'what it checks' '
#       run 0 xch init store &&
#       grep_out "Initialized"
#   '
#   test_done

set -u
: "${XCH_TOP_SRCDIR:?run the tests through make check}"
: "${XCH_TOP_BUILDDIR:?run the tests through make check}"
SRC=$XCH_TOP_SRCDIR
RES=$SRC/tests/resources
SHARED=$(cd "$SRC/.." && pwd)/shared

# Short base path: gpg-agent's socket path must fit in sun_path.
T=$(mktemp -d /tmp/xcht.XXXXXX) || exit 99
export HOME="$T/home" XDG_CONFIG_HOME="$T/home/.config" GNUPGHOME="$T/home/.gnupg"
export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL="$T/home/.gitconfig"
export TZ=UTC LC_ALL=C LANG=C
unset XCH_DIR XCH_NOW XCH_LOCK_TIMEOUT
mkdir -p "$HOME" && chmod 700 "$HOME"
mkdir -m 700 "$GNUPGHOME"
printf '[user]\n\tname = Test User\n\temail = test@xch.test\n' > "$GIT_CONFIG_GLOBAL"
cd "$T" || exit 99

test_count=0
test_failed=0

cleanup() {
	for h in "$T"/home/.gnupg "$T"/*/gnupg "$T"/*/.gnupg; do
		[ -d "$h" ] && gpgconf --homedir "$h" --kill all >/dev/null 2>&1
	done
	cd / && rm -rf "$T"
}
trap cleanup EXIT

# xch under test; XCH_VALGRIND=1 runs it under valgrind (leaks are errors).
xch() {
	if [ "${XCH_VALGRIND:-}" = 1 ]; then
		valgrind -q --leak-check=full --errors-for-leak-kinds=definite,indirect \
			--error-exitcode=125 "$XCH_TOP_BUILDDIR/.libs/lt-xch" "$@" 2>/dev/null ||
		valgrind -q --leak-check=full --errors-for-leak-kinds=definite,indirect \
			--error-exitcode=125 "$XCH" "$@"
	else
		"$XCH" "$@"
	fi
}

# run CODE CMD...: run CMD with stdout in $T/out and stderr in $T/err and
# check it exits with CODE.
run() {
	want=$1
	shift
	"$@" >"$T/out" 2>"$T/err"
	got=$?
	if [ "$got" != "$want" ]; then
		echo "exit code $got, expected $want: $*"
		echo "--- stdout"; cat "$T/out"
		echo "--- stderr"; cat "$T/err"
		return 1
	fi
	return 0
}

# grep_out / grep_err PATTERN: the last run's stdout / stderr matches (grep -E).
grep_out() { grep -E -q -- "$1" "$T/out" || { echo "stdout lacks /$1/:"; cat "$T/out"; return 1; }; }
grep_err() { grep -E -q -- "$1" "$T/err" || { echo "stderr lacks /$1/:"; cat "$T/err"; return 1; }; }
# no_out / no_err: the last run printed nothing there.
no_out() { [ ! -s "$T/out" ] || { echo "unexpected stdout:"; cat "$T/out"; return 1; }; }
no_err() { [ ! -s "$T/err" ] || { echo "unexpected stderr:"; cat "$T/err"; return 1; }; }
# one_line_err: stderr is exactly one line (a refusal's reason).
one_line_err() { [ "$(wc -l < "$T/err")" -eq 1 ] || { echo "stderr is not one line:"; cat "$T/err"; return 1; }; }

# test_expect DESCRIPTION SCRIPT: one TAP test.
test_expect() {
	test_count=$((test_count + 1))
	if (eval "$2") >"$T/log" 2>&1; then
		echo "ok $test_count - $1"
	else
		test_failed=$((test_failed + 1))
		echo "not ok $test_count - $1"
		sed 's/^/# /' "$T/log"
	fi
}

# test_expect_todo DESCRIPTION SCRIPT: a known bug, reported as TAP TODO
# (XFAIL); once it passes it shows as XPASS, which fails the suite until it
# is made a test_expect.
test_expect_todo() {
	test_count=$((test_count + 1))
	if (eval "$2") >"$T/log" 2>&1; then
		echo "ok $test_count - $1 # TODO known bug, now fixed: make it test_expect"
	else
		echo "not ok $test_count - $1 # TODO known bug"
		sed 's/^/# /' "$T/log"
	fi
}

# test_skip DESCRIPTION REASON
test_skip() {
	test_count=$((test_count + 1))
	echo "ok $test_count - $1 # SKIP $2"
}

test_done() {
	echo "1..$test_count"
	[ "$test_failed" -eq 0 ]
}

# Import named fixture keys (tests/resources/keys) into GNUPGHOME=$1.
keys_import() {
	home=$1
	shift
	mkdir -p -m 700 "$home"
	sh "$RES/keys/import.sh" "$home" "$@" >/dev/null 2>&1
}

# party NAME KEY...: $T/NAME/gnupg with those fixture keys, and $T/NAME/store
# with the first key as its identity.
party() {
	p=$1
	shift
	keys_import "$T/$p/gnupg" "$@" && xch init --identity "$(key_fpr "$1")" "$T/$p/store" >/dev/null
}

# by NAME CMD...: run CMD as party NAME: in its store, with its GNUPGHOME.
by() {
	p=$1
	shift
	(cd "$T/$p/store" && GNUPGHOME="$T/$p/gnupg" "$@")
}

# g NAME GIT-ARGS...: git on NAME's store; tip NAME: its main branch.
g() { p=$1; shift; git --git-dir="$T/$p/store/.xch" "$@"; }
tip() { g "$1" rev-parse refs/heads/main; }

# The fingerprint of a fixture key.
key_fpr() {
	gpg --with-colons --show-keys "$RES/keys/$1.pub.asc" 2>/dev/null | awk -F: '/^fpr/ { print $10; exit }'
}

# tree_digest DIR: a digest of every file's path, mode and content under DIR,
# to show that a refused operation wrote nothing.
tree_digest() {
	(cd "$1" && find . -type f -o -type d -o -type l | LC_ALL=C sort | while read -r f; do
		printf '%s %s ' "$f" "$(stat -c %a "$f")"
		[ -f "$f" ] && sha256sum < "$f" || echo
	done) | sha256sum
}

# LeakSanitizer cannot work under ptrace: in a sanitizer build, xch run
# under strace (fault injection, syscall traces) has leak checks off.
strace() {
	ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" command strace "$@"
}
