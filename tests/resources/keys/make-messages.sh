#!/bin/sh
# Make the message fixtures that gpg is slow to make at test time (a
# passphrase costs it a fraction of a second each), from the committed keys:
#   sym.gpg, sym.asc   "secret\n" encrypted with the passphrase "pw"
#   sym-company.gpg    "secret\n" signed by agency, encrypted to company
#                      and to the passphrase "pw"
# The build never runs this; the outputs are committed.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
home=$(mktemp -d /tmp/xchmsgXXXXXX)
cleanup() {
	gpgconf --homedir "$home" --kill all 2>/dev/null || true
	rm -rf "$home"
}
trap cleanup EXIT INT TERM

"$here/import.sh" "$home" agency company.pub
g() {
	gpg --homedir "$home" --batch --no-tty --quiet --no-permission-warning \
		--pinentry-mode loopback --passphrase pw --compress-algo none "$@"
}
printf 'secret\n' >"$home/secret.txt"
g --output - --symmetric "$home/secret.txt" >"$here/sym.gpg"
g --armor --output - --symmetric "$home/secret.txt" >"$here/sym.asc"
g --always-trust --recipient "<company@xch.test>" --local-user "<agency@xch.test>" \
	--output - --symmetric --sign --encrypt "$home/secret.txt" >"$here/sym-company.gpg"
