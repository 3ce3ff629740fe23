#!/bin/sh
# demo.sh: a real exchange between partners, in a temporary directory,
# printing each step as a user would type it. Needs a built xch (scripts/build.sh).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
XCH=${XCH:-$top/_build/xch}
keys=$top/tests/resources/keys
T=$(mktemp -d /tmp/xch-demo.XXXXXX)
trap 'for p in agency company site station; do gpgconf --homedir "$T/$p/gnupg" --kill all 2>/dev/null || true; done; rm -rf "$T"' EXIT
export TZ=UTC GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL="$T/gitconfig"
printf '[user]\n\tname = Demo\n\temail = demo@xch.test\n' > "$GIT_CONFIG_GLOBAL"

fpr() { gpg --with-colons --show-keys "$keys/$1.pub.asc" 2>/dev/null | awk -F: '/^fpr/ { print $10; exit }'; }
party() { # party NAME KEY...: a GNUPGHOME for NAME holding the fixture keys KEY...
	name=$1; shift
	mkdir -p "$T/$name"
	sh "$keys/import.sh" "$T/$name/gnupg" "$@" >/dev/null 2>&1
}
# as NAME CMD...: run an xch command as NAME, showing it
as() {
	who=$1; shift
	printf '\n\033[1m%s$ xch %s\033[0m\n' "$who" "$*" | sed "s|$T/||g"
	(cd "$T/$who/store" 2>/dev/null || cd "$T/$who"; GNUPGHOME="$T/$who/gnupg" "$XCH" "$@") 2>&1 | sed "s|$T/||g"
}
step() { printf '\n== %s\n' "$*"; }

party agency agency company.pub site.pub
party company company agency.pub
party station agency.pub
mkdir -p "$T/usb"

step "The agency creates its store, pins its partners and adds records"
as agency init store --identity "$(fpr agency)"
as agency partner add company --key "$keys/company.pub.asc"
as agency partner add site --key "$keys/site.pub.asc"
as agency add --attach "$top/examples/attachments/riverside-scada-open-ports.csv" "$top"/examples/*.json
as agency list
as agency log

step "Markings decide what may go to the company"
as agency seal --to company --dry-run

step "The agency seals a bundle for the company"
as agency seal --to company -o "$T/usb/to-company.xch"
as agency inspect "$T/usb/to-company.xch"

step "A transfer station checks the envelope without any secret key"
as station init store
as station partner add agency --key "$keys/agency.pub.asc"
as station verify --envelope "$T/usb/to-company.xch"

step "The company verifies and opens it"
as company init store --identity "$(fpr company)"
as company partner add agency --key "$keys/agency.pub.asc"
as company verify "$T/usb/to-company.xch"
as company open "$T/usb/to-company.xch" -o "$T/company/opened"
printf '\ncompany$ ls opened/records\n'; ls "$T/company/opened/records"

step "Stock tools read the same bundle"
printf '\ncompany$ tar -xOf to-company.xch payload.gpg | gpg --decrypt | tar -tzf -\n'
tar -xOf "$T/usb/to-company.xch" payload.gpg | GNUPGHOME="$T/company/gnupg" gpg --decrypt 2>/dev/null | tar -tzf -

step "A tampered bundle is refused, and nothing is written"
cp "$T/usb/to-company.xch" "$T/usb/tampered.xch"
printf 'X' | dd of="$T/usb/tampered.xch" bs=1 seek=2000 conv=notrunc 2>/dev/null
as company verify "$T/usb/tampered.xch" || echo "(exit $?)"
echo
echo "demo finished: every step above ran for real in $T (now removed)"
