#!/bin/sh
# Make the fixture keys of the test suite, once. The outputs are committed;
# the build never runs this. Run it from anywhere; it writes beside itself:
#   NAME.pub.asc  armored public key
#   NAME.sec.asc  armored secret key (with its public parts), unprotected
#   expired-to-agency.gpg  a message signed by "expired" (while it was valid)
#                          and encrypted to "agency"
#   expired.txt, expired.sig  a detached signature by "expired" over expired.txt
#   revoked-unrevoked.{pub,sec}.asc  the "revoked" key before its revocation
# and prints the fingerprints for README.
#
# Every key: an ed25519 primary key (certify only), an ed25519 signing
# subkey and a cv25519 encryption subkey. Times are faked so that the keys
# are the same kind of key whenever this is run (not the same bytes).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
home=$(mktemp -d /tmp/xchkeysXXXXXX)
cleanup() {
	gpgconf --homedir "$home" --kill all 2>/dev/null || true
	rm -rf "$home"
}
trap cleanup EXIT INT TERM

g() {
	gpg --homedir "$home" --batch --no-tty --quiet --no-permission-warning "$@"
}

fpr_of() {
	g --with-colons --list-keys "<$1>" | awk -F: '$1 == "fpr" { print $10; exit }'
}

# gen NAME REALNAME EMAIL WHEN EXPIRE ("0" = never, else gpg's "1y" etc.)
gen() {
	cat >"$home/params" <<PARAMS
%no-protection
Key-Type: eddsa
Key-Curve: ed25519
Key-Usage: cert
Subkey-Type: ecdh
Subkey-Curve: cv25519
Subkey-Usage: encrypt
Name-Real: $2
Name-Email: $3
Expire-Date: $5
%commit
PARAMS
	g --faked-system-time "$4!" --gen-key "$home/params"
	fpr=$(fpr_of "$3")
	exp=$5
	[ "$exp" = 0 ] && exp=never
	g --faked-system-time "$4!" --pinentry-mode loopback --passphrase '' \
		--quick-add-key "$fpr" ed25519 sign "$exp"
}

export_key() { # NAME EMAIL
	g --armor --export "<$2>" >"$here/$1.pub.asc"
	g --armor --export-secret-keys "<$2>" >"$here/$1.sec.asc"
}

gen agency "Agency" agency@xch.test 20190101T000000 0
gen company "Company" company@xch.test 20190101T000000 0
gen site "Site" site@xch.test 20190101T000000 0
gen mallory "Mallory" mallory@xch.test 20190101T000000 0
gen expired "Expired" expired@xch.test 20200101T000000 1y
gen revoked "Revoked" revoked@xch.test 20190101T000000 0

for n in agency company site mallory expired; do
	export_key "$n" "$n@xch.test"
done
export_key revoked-unrevoked revoked@xch.test

# Messages by "expired", made while it was still valid.
printf 'xch expired signer test\n' >"$here/expired.txt"
g --faked-system-time '20200601T000000!' --always-trust --compress-algo none \
	--local-user "<expired@xch.test>" --recipient "<agency@xch.test>" \
	--sign --encrypt --output - "$here/expired.txt" >"$here/expired-to-agency.gpg"
g --faked-system-time '20200601T000000!' --local-user "<expired@xch.test>" \
	--detach-sign --output - "$here/expired.txt" >"$here/expired.sig"

# Revoke "revoked" with the certificate gpg made with it (its armor line
# carries a ':' to keep it from being imported by mistake).
rfpr=$(fpr_of revoked@xch.test)
sed 's/^:-----BEGIN/-----BEGIN/' "$home/openpgp-revocs.d/$rfpr.rev" >"$home/revoke.asc"
g --faked-system-time '20220101T000000!' --import "$home/revoke.asc"
export_key revoked revoked@xch.test

# The agency's second key, for rotation; made last so that no earlier step
# sees a key from its future.
gen agency-new "Agency" agency-new@xch.test 20240101T000000 0
export_key agency-new agency-new@xch.test

for n in agency company site mallory agency-new expired revoked; do
	printf '%-11s %s\n' "$n" "$(fpr_of "$n@xch.test")"
done
