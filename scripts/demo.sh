#!/bin/sh
# demo.sh: the three workflows of xch between three parties — an agency, a
# company and an air-gapped site (with a transfer station at its boundary) —
# for real, in a temporary directory, printing each step as a user would type
# it. Needs a built xch (scripts/build.sh); uses the test keys in
# tests/resources/keys.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
XCH=${XCH:-$top/_build/xch}
keys=$top/tests/resources/keys
[ -x "$XCH" ] || { echo "demo: build xch first: scripts/build.sh _build" >&2; exit 2; }
T=$(mktemp -d /tmp/xch-demo.XXXXXX)
trap 'for p in agency company site station; do gpgconf --homedir "$T/$p/gnupg" --kill all 2>/dev/null || true; done; rm -rf "$T"' EXIT
export TZ=UTC
export HOME="$T/home" && mkdir -p "$HOME"
printf '[user]\n\tname = Demo\n\temail = demo@xch.test\n' > "$HOME/.gitconfig"

fpr() { gpg --with-colons --show-keys "$keys/$1.pub.asc" 2>/dev/null | awk -F: '/^fpr/ { print $10; exit }'; }
party() { # party NAME KEY...: NAME's GnuPG home with the fixture keys KEY...
	name=$1; shift
	mkdir -p "$T/$name"
	sh "$keys/import.sh" "$T/$name/gnupg" "$@" >/dev/null 2>&1
}
# as NAME xch ARGS...: run a command as NAME in NAME's store, showing it
as() {
	who=$1; shift
	printf '\n\033[1m%s$ %s\033[0m\n' "$who" "$*" | sed "s|$T/||g; s|$top/||g"
	(cd "$T/$who/store" 2>/dev/null || cd "$T/$who"
	 if [ "$1" = xch ]; then shift; GNUPGHOME="$T/$who/gnupg" "$XCH" "$@"; else GNUPGHOME="$T/$who/gnupg" "$@"; fi
	) 2>&1 | sed "s|$T/||g; s|$top/||g"
}
step() { printf '\n\033[7m %s \033[0m\n' "$*"; }
edit() { # edit NAME ID PYTHON-EXPR: change a record as NAME, e.g. d['title']='x'
	(cd "$T/$1/store" && GNUPGHOME="$T/$1/gnupg" "$XCH" show --json "$2") |
		python3 -c "import json,sys; d=json.load(sys.stdin); $3; print(json.dumps(d))" > "$T/$1/$2.json"
	as "$1" xch add "$T/$1/$2.json"
}

party agency agency company.pub site.pub
party company company agency.pub
party site site agency.pub
party station agency.pub site.pub
mkdir -p "$T/usb"
git init -q --bare "$T/channel.git"

step "Setting up: each party makes a store, names its key and pins its partners'"
as agency xch init --identity "$(fpr agency)" store
as agency xch partner add company --key "$keys/company.pub.asc"
as agency xch partner add site --key "$keys/site.pub.asc"
as company xch init --identity "$(fpr company)" store
as company xch partner add agency --key "$keys/agency.pub.asc"
as site xch init --identity "$(fpr site)" store
as site xch partner add agency --key "$keys/agency.pub.asc"
as station xch init store
as station xch partner add agency --key "$keys/agency.pub.asc"
as station xch partner add site --key "$keys/site.pub.asc"

step "The agency records assessments and advisories"
as agency xch add --attach "$top/examples/attachments/riverside-scada-open-ports.csv" "$top"/examples/*.json
as agency xch list

step "Workflow A: agency to company over git (the remote only ever holds ciphertext)"
as agency xch remote add --for company channel "$T/channel.git"
as company xch remote add channel "$T/channel.git"
as agency xch seal --to company --dry-run
as agency xch sync
as company xch sync
as company xch list
as agency xch sync
as agency xch partner show company
printf '\nanyone$ git --git-dir=channel.git cat-file --batch-all-objects --batch | grep -c Riverside\n'
git --git-dir="$T/channel.git" cat-file --batch-all-objects --batch | grep -a -c Riverside || true

step "Workflow C: agency and company change the same assessment at once"
edit company ASMT-2026-0001 "d['findings'][0]['status']='mitigated'; d['findings'][3]['status']='disputed'"
edit agency ASMT-2026-0001 "d['title']='Riverside Water Authority SCADA: follow-up assessment'"
edit company ADV-2026-0001 "d['summary']='The company reads this advisory one way.'"
edit agency ADV-2026-0001 "d['summary']='The agency reads it another way.'"
as company xch sync
as agency xch sync
as agency xch show ASMT-2026-0001
as agency xch conflicts
as agency xch resolve ADV-2026-0001 --theirs
as agency xch show --provenance ADV-2026-0001
as agency xch sync
as company xch sync
as company xch show ASMT-2026-0001

step "Workflow B: agency to an air-gapped site by USB stick"
as agency xch export --to "$T/usb" --for site
as station xch verify --envelope "$T/usb"
as site xch import "$T/usb"
as site xch list
as site xch export --to "$T/usb"
as agency xch import "$T/usb"
as agency xch partner show site
edit agency ASMT-2026-0003 "d['findings'][0]['status']='mitigated'"
as agency xch export --to "$T/usb" --for site
as site xch import "$T/usb"
as site xch show --provenance ASMT-2026-0003

step "Stock tools read what xch wrote"
f=$(ls "$T/usb"/bundle-site-* | head -n 1)
as site sh -c "tar -tf '$f' && tar -xOf '$f' payload.gpg | gpg --decrypt 2>/dev/null | tar -tzf -"

step "Hostile input is refused, and nothing is written"
cp "$f" "$T/tampered.xch"
printf 'X' | dd of="$T/tampered.xch" bs=1 seek=3000 conv=notrunc 2>/dev/null
as site xch import "$T/tampered.xch" || true
as company xch import "$f" || true

step "Where everyone stands"
as agency xch status
as company xch status
as site xch status
as agency xch log ASMT-2026-0001
echo
echo "demo finished: every step above ran for real in a temporary directory, now removed"
