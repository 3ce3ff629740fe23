#!/bin/sh
# xch init, store discovery, privacy, help and usage errors.
. "$XCH_TOP_SRCDIR/tests/cli/lib.sh"

test_expect 'init creates a private store' '
	run 0 xch init store &&
	grep_out "Initialized empty xch store in .*/store/.xch" &&
	[ "$(stat -c %a store/.xch)" = 700 ] &&
	git --git-dir=store/.xch rev-parse --verify refs/heads/main &&
	git --git-dir=store/.xch fsck --strict
'

test_expect 'store files are private whatever the umask' '
	(umask 000 && xch init open >/dev/null) &&
	[ "$(stat -c %a open/.xch)" = 700 ] &&
	[ -z "$(find open/.xch -perm /077 -print)" ]
'

test_expect 'init refuses an existing store and changes nothing' '
	before=$(tree_digest store) &&
	run 2 xch init store &&
	grep_err "^xch: cannot create a store in .*: one exists already$" && one_line_err &&
	[ "$(tree_digest store)" = "$before" ]
'

test_expect 'commands find the store upward, from -C and from XCH_DIR' '
	mkdir -p store/a/b &&
	(cd store/a/b && run 0 xch status && grep_out "^store: +$T/store$") &&
	run 0 xch -C store/a status && grep_out "^store: +$T/store$" &&
	XCH_DIR=store run 0 xch status && grep_out "records: +0"
'

test_expect 'outside a store commands say so' '
	mkdir elsewhere && cd elsewhere &&
	run 2 xch status && grep_err "^xch: not in an xch store" && one_line_err
'

test_expect 'init --identity checks the fingerprint form' '
	run 2 xch init --identity 1234 s2 && grep_err "invalid fingerprint" &&
	[ ! -e s2/.xch ] &&
	run 0 xch init --identity 0123456789ABCDEF0123456789ABCDEF01234567 s3 &&
	(cd s3 && run 0 xch status && grep_out "identity: +0123456789ABCDEF")
'

test_expect 'help, version and usage errors' '
	run 0 xch --help && grep_out "^usage: xch" && grep_out "init +create a record store" &&
	run 0 xch --version && grep_out "^xch [0-9]" &&
	run 0 xch init --help && grep_out "^usage: xch init \[--identity FPR\] \[DIR\]$" &&
	run 0 xch help add && grep_out "^usage: xch add" &&
	run 2 xch frobnicate && grep_err "not an xch command" &&
	run 2 xch init --bogus && grep_err "unknown option" && grep_err "^usage: xch init" &&
	run 2 xch show && grep_err "missing ID"
'

test_done
