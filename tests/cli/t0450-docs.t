#!/bin/sh
# The man pages agree with the code: every command of cli/commands.def has
# its 'xch CMD --help' usage line in the SYNOPSIS of xch(1) and a subsection
# in its COMMANDS that shows the same synopsis and every option; every public
# function is in libexchange(3); every page lints clean. (After git's t0450.)
. "$XCH_TOP_SRCDIR/tests/cli/lib.sh"

MAN=$SRC/man

if ! command -v mandoc >/dev/null 2>&1; then
	echo "# mandoc is not installed: the man pages are NOT checked" >&2
	echo "# mandoc is not installed: the man pages are NOT checked (apt-get install mandoc)"
	test_skip 'the man pages agree with the code and lint clean' 'mandoc is not installed'
	test_done
	exit
fi

BS=$(printf '\b')

# render PAGE: the page as mandoc -T ascii shows it, without overstriking.
render() {
	mandoc -T ascii "$1" 2>/dev/null | sed "s/.$BS//g"
}

# squeeze: runs of white space to one space, none at either end.
squeeze() {
	sed 's/[[:space:]][[:space:]]*/ /g; s/^ //; s/ $//'
}

# section NAME: the lines of section NAME of a rendered page on stdin.
section() {
	awk -v want="$1" '/^[^ ]/ { in_sec = ($0 == want); next } in_sec { print }'
}

# subsection NAME: the lines of subsection NAME of a rendered section on stdin.
subsection() {
	awk -v want="$1" '/^   [^ ]/ { in_sub = ($0 == "   " want); next } in_sub { print }'
}

# synopses: each synopsis of rendered lines on stdin on one line. A synopsis
# starts at the body indent ("     xch ...") and mandoc indents the lines it
# wraps further; they are joined back.
synopses() {
	awk '
		/^     xch( |$)/ { if (cur != "") print cur; cur = $0; next }
		/^      / && cur != "" { cur = cur " " $0; next }
		{ if (cur != "") print cur; cur = "" }
		END { if (cur != "") print cur }
	' | squeeze
}

# usage_lines CMD...: the usage of 'xch CMD... --help', one synopsis a line:
# its first line without "usage: " and the "   or: " lines after it.
usage_lines() {
	xch "$@" --help </dev/null >"$T/help" 2>"$T/help.err" || {
		echo "'xch $* --help' failed:"; cat "$T/help.err"; return 1
	} >&2
	head -n 1 "$T/help" | grep -q '^usage: ' || {
		echo "'xch $* --help' does not start with 'usage: ':"; head -n 1 "$T/help"; return 1
	} >&2
	sed -n '1s/^usage: //p; 2,${/^   or: /!q; s/^   or: //p;}' "$T/help" | squeeze
}

# options: the long options (without "--") listed in $T/help, but --help.
options() {
	sed -n 's/^    \(-[^-], \)\{0,1\}--\([A-Za-z0-9][A-Za-z0-9-]*\).*/\2/p' "$T/help" | grep -v '^help$'
}

# words_of SYNOPSIS: the command words of a synopsis ("xch partner add ..." -> "partner add").
words_of() {
	(set -f; set -- $1; shift; w=; for a; do case $a in [a-z]*) w="$w $a" ;; *) break ;; esac; done; echo $w)
}

render "$MAN/xch.1" >"$T/xch.txt"
section SYNOPSIS <"$T/xch.txt" | synopses >"$T/synopsis"
section COMMANDS <"$T/xch.txt" >"$T/commands"
commands=$(sed -n 's/^XCH_COMMAND(\([a-z0-9_-]*\),.*/\1/p' "$SRC/cli/commands.def")

test_expect 'commands.def lists commands and the SYNOPSIS has them' '
	[ -n "$commands" ] && [ -s "$T/synopsis" ] &&
	missing= &&
	for c in $commands; do
		grep -q "^xch $c\( \|$\)" "$T/synopsis" || missing="$missing $c"
	done &&
	{ [ -z "$missing" ] || { echo "no SYNOPSIS line for:$missing"; exit 1; }; }
'

test_expect 'xch --help and the first SYNOPSIS line agree' '
	u=$(usage_lines) && s=$(head -n 1 "$T/synopsis") &&
	{ [ "$u" = "$s" ] || { echo "xch --help: $u"; echo "SYNOPSIS:   $s"; exit 1; }; }
'

for c in $commands; do
	test_expect "xch $c --help and the SYNOPSIS of xch(1) agree" '
		usage_lines "$c" >"$T/usage" &&
		{ grep "^xch $c\( \|$\)" "$T/synopsis" >"$T/syn" || echo "no SYNOPSIS line for xch $c"; } &&
		diff -u "$T/usage" "$T/syn"
	'
	test_expect "xch(1) has a subsection for $c with its synopsis and every option" '
		subsection "$c" <"$T/commands" >"$T/sub" &&
		{ [ -s "$T/sub" ] || { echo "no subsection \"$c\" in COMMANDS"; exit 1; }; } &&
		flat=$(tr "\n" " " <"$T/sub" | squeeze) &&
		usage_lines "$c" >"$T/usage" &&
		while read -r u; do
			case $flat in
			*"$u"*) ;;
			*) echo "the subsection lacks the synopsis: $u"; exit 1 ;;
			esac
			w=$(words_of "$u")
			if [ "$w" != "$c" ]; then
				v=$(usage_lines $w | head -n 1) &&
				{ [ "$v" = "$u" ] || { echo "xch $w --help: $v"; echo "xch $c --help: $u"; exit 1; }; } || exit 1
			else
				usage_lines "$c" >/dev/null || exit 1
			fi
			for o in $(options); do
				grep -E -q "^ +(-[A-Za-z0-9]( [A-Z_]+)?, )?--$o( |\$)" "$T/sub" ||
					{ echo "option --$o of xch $w has no entry in the subsection"; exit 1; }
			done
		done <"$T/usage"
	'
done

test_expect 'the SYNOPSIS of libexchange(3) has every public function and no other' '
	sed -n "s/^XCH_EXTERN([^)]*) *\(xch_[a-z0-9_]*\) *(.*/\1/p" "$SRC"/libexchange/exchange/*.h |
		sort -u >"$T/declared" &&
	sed -n "/^\.Sh SYNOPSIS/,/^\.Sh /s/^\.F[no] \(xch_[a-z0-9_]*\).*/\1/p" "$MAN/libexchange.3" |
		sort -u >"$T/documented" &&
	[ -s "$T/declared" ] &&
	{ comm -23 "$T/declared" "$T/documented" | sed "s/^/not in libexchange(3): /"; } >"$T/missing" &&
	{ comm -13 "$T/declared" "$T/documented" | sed "s/^/not in any public header: /"; } >>"$T/missing" &&
	{ [ ! -s "$T/missing" ] || { cat "$T/missing"; exit 1; }; }
'

for page in "$MAN"/*.[1-9]; do
	name=${page##*/}
	test_expect "mandoc -T lint -W warning is clean on $name" '
		mandoc -T lint -W warning "$page" >"$T/lint" 2>&1 ||
			{ cat "$T/lint"; exit 1; }
		[ ! -s "$T/lint" ] || { cat "$T/lint"; exit 1; }
	'
done

test_done
