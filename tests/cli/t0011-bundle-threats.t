#!/bin/sh
# Bundles against the threat model (MISSION.md): every attack on a single
# bundle is refused with its exit code and a one-line reason, and nothing is
# written: open leaves no directory (nor its temporary), the receiving store
# is unchanged. Hostile bundles are made by tests/cli/forge.py.
. "$XCH_TOP_SRCDIR/tests/cli/lib.sh"

EX=$SRC/examples
KEYS=$RES/keys
FORGE=$SRC/tests/cli/forge.py
AGENCY=$(key_fpr agency)
COMPANY=$(key_fpr company)
SITE=$(key_fpr site)
MALLORY=$(key_fpr mallory)
EXPIRED=$(key_fpr expired)
REVOKED=$(key_fpr revoked)
B=$T/bundles
mkdir "$B"

# party NAME KEY...: $T/NAME/gnupg with those fixture keys, $T/NAME/store.
party() {
	p=$1
	shift
	mkdir -p -m 700 "$T/$p/gnupg" && { [ $# -eq 0 ] || keys_import "$T/$p/gnupg" "$@"; } &&
	xch init "$T/$p/store" >/dev/null
}

# by NAME CMD...: run CMD as party NAME: in its store, with its GNUPGHOME.
by() {
	_by=$1
	shift
	(cd "$T/$_by/store" && GNUPGHOME="$T/$_by/gnupg" "$@")
}

forge() { python3 "$FORGE" "$@"; }

# store_digest DIR: what tree_digest (lib.sh) covers -- every path, its type
# and mode, every file's content -- in a few processes rather than a few per
# file: it runs twice for each of the many refusals here.
store_digest() {
	(cd "$1" && { find . -printf "%p %y %m\n" | LC_ALL=C sort &&
		find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum; } | sha256sum)
}

# refused CODE REGEX FILE [PARTY]: PARTY (company) refuses FILE with exit CODE
# and the one line "xch: REGEX..." in verify and in open; open leaves no
# directory and no temporary one; the party's store is unchanged.
refused() {
	_who=${4:-company}
	echo "== $3: expect $1 /$2/"
	_before=$(store_digest "$T/$_who/store") &&
	run "$1" by "$_who" xch verify "$3" && grep_err "^xch: $2" && one_line_err && no_out &&
	run "$1" by "$_who" xch open -o "$T/opened" "$3" && grep_err "^xch: $2" && one_line_err && no_out &&
	[ ! -e "$T/opened" ] && [ -z "$(ls -d "$T"/opened.tmp-* 2>/dev/null)" ] &&
	[ "$(store_digest "$T/$_who/store")" = "$_before" ]
}

# station CODE REGEX FILE: the transfer station's verify --envelope says the same.
station() {
	run "$1" by station xch verify --envelope "$3" && grep_err "^xch: $2" && one_line_err
}

# flipped NAME OFFSET CODE REGEX: b1 with the byte at OFFSET flipped is refused,
# by the recipient and by the transfer station alike.
flipped() {
	echo "== flip $1 at $2"
	cp "$B/b1.xch" "$B/flip-$1.xch" && forge flip "$B/flip-$1.xch" "$2" &&
	refused "$3" "$4" "$B/flip-$1.xch" && station "$3" "$4" "$B/flip-$1.xch"
}

# truncated NAME LENGTH REGEX: b1 cut to LENGTH bytes is refused as malformed (9).
truncated() {
	echo "== cut $1 at $2"
	head -c "$2" "$B/b1.xch" > "$B/cut-$1.xch" &&
	refused 9 "$3" "$B/cut-$1.xch" && station 9 "$3" "$B/cut-$1.xch"
}

# forged CASE CODE REGEX [FORGE-OPTION...]: a payload spoiled as CASE says,
# signed by the agency and encrypted to the company, with a correct envelope.
forged() {
	_case=$1 _code=$2 _re=$3
	shift 3
	echo "== forged $_case $*"
	forge bundle --base "$B/b1.xch" --from "$T/plain" --case "$_case" --gnupghome "$T/agency/gnupg" \
		--signer "$AGENCY" --recipient "$COMPANY" "$@" "$B/forged-$_case.xch" &&
	if [ "$_code" = 0 ]; then
		run 0 by company xch verify "$B/forged-$_case.xch"
	else
		refused "$_code" "$_re" "$B/forged-$_case.xch"
	fi
}

# test_todo DESCRIPTION REASON SCRIPT: a known failure, reported as TODO (XFAIL).
test_todo() {
	test_count=$((test_count + 1))
	if (eval "$3") >"$T/log" 2>&1; then
		echo "ok $test_count - $1 # TODO $2"
	else
		echo "not ok $test_count - $1 # TODO $2"
		sed 's/^/# /' "$T/log"
	fi
}

party agency agency company.pub site.pub &&
party company company agency.pub site.pub &&
party site site agency.pub company.pub &&
party station agency.pub company.pub &&
party mallory mallory company.pub &&
party revoker revoked-unrevoked company.pub &&
party expired expired company.pub || exit 99

test_expect 'set up: partners pinned, records added, bundles sealed and opened' '
	by agency xch identity "$AGENCY" && by company xch identity "$COMPANY" &&
	by site xch identity "$SITE" && by mallory xch identity "$MALLORY" &&
	by revoker xch identity "$REVOKED" &&
	by agency xch partner add company --key "$COMPANY" && by agency xch partner add site --key "$SITE" &&
	by company xch partner add agency --key "$AGENCY" && by company xch partner add site --key "$SITE" &&
	by company xch partner add revoker --key "$KEYS/revoked-unrevoked.pub.asc" &&
	by site xch partner add agency --key "$AGENCY" && by site xch partner add company --key "$COMPANY" &&
	by station xch partner add agency --key "$AGENCY" && by station xch partner add company --key "$COMPANY" &&
	by mallory xch partner add company --key "$COMPANY" && by revoker xch partner add company --key "$COMPANY" &&
	by agency xch add --attach "$EX/attachments/riverside-scada-open-ports.csv" "$EX"/*.json &&
	by mallory xch add "$EX/ADV-2026-0001.json" && by revoker xch add "$EX/ADV-2026-0001.json" &&
	by agency xch seal --to company -o "$B/b1.xch" &&
	by agency xch seal --to company -o "$B/b2.xch" &&
	by agency xch seal --to site -o "$B/to-site.xch" &&
	by company xch open -o "$T/plain" "$B/b1.xch" &&
	by company xch verify "$B/b2.xch" && by site xch verify "$B/to-site.xch" &&
	by station xch verify --envelope "$B/b1.xch" &&
	forge split "$B/b1.xch" "$T/parts" && forge split "$B/b2.xch" "$T/parts2" &&
	forge regions "$B/b1.xch" > regions && forge regions "$B/b2.xch" > regions2
'
[ -s regions ] || { echo "Bail out! set-up failed"; exit 1; }
# the offsets of b1's parts, as shell variables (payload_hdr=0 ...)
eval "$(sed "s/ /=/" regions)"

test_expect 'forge.py rebuilds bundles the recipient accepts (the controls)' '
	forged ok 0 "" && by company xch open -o "$T/forged-open" "$B/forged-ok.xch" &&
	diff -r "$T/plain" "$T/forged-open" &&
	forge container "$B/rebuilt.xch" "$T/parts/payload.gpg" "$T/parts/envelope.json" "$T/parts/envelope.sig" &&
	run 0 by company xch verify "$B/rebuilt.xch" &&
	forge resign --base "$B/b1.xch" --gnupghome "$T/agency/gnupg" --signer "$AGENCY" "$B/resigned.xch" &&
	run 0 by company xch verify "$B/resigned.xch" &&
	cp "$B/b1.xch" "$B/flip-none.xch" && forge flip "$B/flip-none.xch" 0 0 && cmp "$B/b1.xch" "$B/flip-none.xch"
'

test_expect 'a flipped byte in a container header is a malformed container (9)' '
	flipped hdr-name $payload_hdr 9 "malformed container: bad header checksum at offset 0$" &&
	flipped hdr-size $((payload_hdr + 130)) 9 "malformed container: bad header checksum at offset 0$" &&
	flipped hdr-sum $((payload_hdr + 150)) 9 "malformed container: bad header checksum at offset 0$" &&
	flipped hdr-magic $((payload_hdr + 257)) 9 "malformed container: bad header checksum at offset 0$" &&
	flipped env-hdr $((envelope_hdr + 5)) 9 "malformed container: bad header checksum at offset $envelope_hdr$" &&
	flipped sig-hdr $((sig_hdr + 300)) 9 "malformed container: bad header checksum at offset $sig_hdr$"
'

test_expect 'a flipped byte in payload.gpg does not match the signed envelope (6)' '
	re="payload does not match its envelope \(SHA-256 [0-9a-f]{16}\.\.\., signed [0-9a-f]{16}\.\.\.\)$" &&
	flipped payload-first $payload 6 "$re" &&
	flipped payload-middle $((payload + payload_size / 2)) 6 "$re" &&
	flipped payload-last $((payload + payload_size - 1)) 6 "$re"
'

test_expect 'a flipped byte in envelope.json is a bad signature (3), however it parses' '
	re="envelope\.sig: bad signature by .[0-9A-F]{16}.$" &&
	flipped envelope-first $envelope 3 "$re" &&
	flipped envelope-middle $((envelope + envelope_size / 2)) 3 "$re" &&
	flipped envelope-last $((envelope + envelope_size - 1)) 3 "$re"
'

test_expect 'a flipped byte in envelope.sig: a bad signature (3), or no signature at all (9)' '
	re="envelope\.sig: bad signature by .[0-9A-F]{16}.$" &&
	flipped sig-hashed $((sig_hashed + 10)) 3 "$re" &&
	flipped sig-mpi $((sig_mpi + 10)) 3 "$re" &&
	flipped sig-last $((sig + sig_size - 1)) 3 "$re" &&
	flipped sig-tag $sig 9 "envelope\.sig: invalid signature: No data$" &&
	flipped sig-length $((sig + 1)) 9 "envelope\.sig: not an OpenPGP message: invalid packet header$" &&
	flipped sig-version $((sig + 2)) 9 "envelope\.sig: invalid signature: No data$"
'

test_expect 'a flipped byte in the unhashed area of envelope.sig is refused' '
	flipped sig-unhashed $((sig_unhashed + 5)) 3 "envelope\.sig: "
'

test_expect 'a flipped byte in padding or in the end-of-archive blocks is malformed (9)' '
	{ [ $((payload_size % 512)) -eq 0 ] ||
	  flipped payload-pad $((payload + payload_size)) 9 "malformed container: non-zero padding after .payload\.gpg.$"; } &&
	{ [ $((envelope_size % 512)) -eq 0 ] ||
	  flipped envelope-pad $((envelope + envelope_size)) 9 "malformed container: non-zero padding after .envelope\.json.$"; } &&
	flipped sig-pad $((sig + sig_size)) 9 "malformed container: non-zero padding after .envelope\.sig.$" &&
	flipped end-first $end 9 "malformed container: unexpected data after .envelope\.sig. \(entry .\?.\)$" &&
	flipped end-second $((end + 600)) 9 "malformed container: unexpected data after .envelope\.sig.$" &&
	{ [ $size -eq $((end + 1024)) ] ||
	  flipped end-record $((size - 1)) 9 "malformed container: data after the end-of-archive marker at offset [0-9]+$"; }
'

test_expect 'a truncated bundle is malformed (9), wherever it is cut' '
	truncated empty 0 "truncated container: empty file$" &&
	truncated in-header 100 "truncated container: file ends before .payload\.gpg.$" &&
	truncated after-header $payload "truncated container: .payload\.gpg. needs $payload_size bytes, the file has 0 left$" &&
	truncated in-payload $((payload + 1000)) "truncated container: .payload\.gpg. needs $payload_size bytes, the file has 1000 left$" &&
	truncated before-envelope $envelope_hdr "truncated container: file ends before .envelope\.json.$" &&
	truncated in-envelope $((envelope + 10)) "truncated container: .envelope\.json. needs $envelope_size bytes, the file has 10 left$" &&
	truncated before-sig $sig_hdr "truncated container: file ends before .envelope\.sig.$" &&
	truncated in-sig $((sig + 10)) "truncated container: .envelope\.sig. needs $sig_size bytes, the file has 10 left$" &&
	truncated no-end $end "truncated container: no end-of-archive marker$" &&
	truncated half-end $((end + 1023)) "truncated container: no end-of-archive marker$"
'

test_expect 'a truncated payload.gpg in a rebuilt container: tampered (6); signed for as it is: tampered (6)' '
	head -c 3000 "$T/parts/payload.gpg" > "$T/parts/short.gpg" &&
	forge container "$B/short.xch" "$T/parts/short.gpg" "$T/parts/envelope.json" "$T/parts/envelope.sig" &&
	refused 6 "payload is 3000 bytes, the envelope says $payload_size$" "$B/short.xch" &&
	station 6 "payload is 3000 bytes" "$B/short.xch" &&
	forged ok 6 "message was altered after it was encrypted: its encrypted data is cut short$" --cut 3000
'

test_expect 'a signer who is not a pinned partner is untrusted (4)' '
	by mallory xch seal --to company -o "$B/mallory.xch" &&
	refused 4 "envelope\.sig: signature by unknown key .[0-9A-F]{40}.$" "$B/mallory.xch" &&
	station 4 "envelope\.sig: signature by unknown key" "$B/mallory.xch" &&
	GNUPGHOME="$T/company/gnupg" gpg --batch --quiet --import "$KEYS/mallory.pub.asc" 2>/dev/null &&
	refused 4 "bundle signed by $MALLORY, which is not a pinned partner key$" "$B/mallory.xch"
'

test_expect 'a revoked signer is untrusted (4), though it was pinned' '
	by revoker xch seal --to company -o "$B/revoked.xch" &&
	run 0 by company xch verify "$B/revoked.xch" &&
	GNUPGHOME="$T/company/gnupg" gpg --batch --quiet --import "$KEYS/revoked.pub.asc" 2>/dev/null &&
	refused 4 "envelope\.sig: signature by revoked key .[0-9A-F]{40}.$" "$B/revoked.xch"
'

test_expect 'an expired signer is untrusted (4): sealed and pinned while valid' '
	echo "faked-system-time 20200601T000000" > "$T/expired/gnupg/gpg.conf" &&
	(export XCH_NOW=2020-06-01T00:00:00Z &&
	 by expired xch identity "$EXPIRED" && by expired xch partner add company --key "$COMPANY" &&
	 by expired xch add "$EX/ADV-2026-0001.json" &&
	 by expired xch seal --to company -o "$B/expired-signer.xch") &&
	cp "$T/expired/gnupg/gpg.conf" "$T/company/gnupg/gpg.conf" &&
	(export XCH_NOW=2020-06-02T00:00:00Z &&
	 by company xch partner add expired --key "$KEYS/expired.pub.asc" &&
	 run 0 by company xch verify "$B/expired-signer.xch") &&
	rm "$T/company/gnupg/gpg.conf" &&
	refused 4 "envelope\.sig: signature by expired key .[0-9A-F]{40}.$" "$B/expired-signer.xch"
'

test_expect 'a partner'"'"'s key claiming another partner'"'"'s name is a bad signature (3)' '
	forge resign --base "$B/b1.xch" --gnupghome "$T/site/gnupg" --signer "$SITE" "$B/site-as-agency.xch" &&
	refused 3 "envelope signed by $SITE but claims sender $AGENCY$" "$B/site-as-agency.xch" &&
	keys_import "$T/station/gnupg" site.pub && by station xch partner add site --key "$SITE" &&
	station 3 "envelope signed by $SITE but claims sender $AGENCY$" "$B/site-as-agency.xch"
'

test_expect 'a bundle for another partner is not addressed to us (5)' '
	refused 5 "bundle is not addressed to us \($COMPANY\)$" "$B/to-site.xch" &&
	run 0 by company xch verify --envelope "$B/to-site.xch"
'

test_expect 'surreptitious forwarding: re-encrypted to us by another recipient (5)' '
	forge forward --base "$B/b1.xch" --gnupghome "$T/company/gnupg" --signer "$COMPANY" --recipient "$SITE" \
		"$B/forwarded.xch" &&
	tar -xOf "$B/forwarded.xch" payload.gpg | GNUPGHOME="$T/site/gnupg" gpg --batch --status-fd 1 \
		--decrypt 2>/dev/null > status && grep -q "VALIDSIG .* $AGENCY$" status &&
	run 0 by site xch verify --envelope "$B/forwarded.xch" && grep_out "ok, from partner .company." &&
	refused 5 "the signed manifest does not name us as a recipient: re-encrypted to us by someone else\?$" \
		"$B/forwarded.xch" site
'

test_expect 'an expired bundle is refused (7): by the receiver'"'"'s clock and by the sender'"'"'s' '
	(export XCH_NOW=2099-01-01T00:00:00Z &&
	 refused 7 "bundle expired at [0-9T:-]+Z$" "$B/b1.xch" && station 7 "bundle expired at" "$B/b1.xch") &&
	(XCH_NOW=2020-01-01T00:00:00Z && export XCH_NOW && by agency xch seal --to company -o "$B/old.xch") &&
	refused 7 "bundle expired at 2020-01-31T00:00:00Z$" "$B/old.xch"
'

test_expect 'mix-and-match: the payload of one bundle under the envelope of another (6)' '
	forge container "$B/mixed.xch" "$T/parts2/payload.gpg" "$T/parts/envelope.json" "$T/parts/envelope.sig" &&
	size2=$(sed -n "s/^payload_size //p" regions2) &&
	if [ "$size2" = "$payload_size" ]; then
		re="payload does not match its envelope"
	else
		re="payload is $size2 bytes, the envelope says $payload_size$"
	fi &&
	refused 6 "$re" "$B/mixed.xch" && station 6 "$re" "$B/mixed.xch" &&
	id2=$(tar -xOf "$B/b2.xch" envelope.json | python3 -c "import json, sys; print(json.load(sys.stdin)[\"bundle_id\"])") &&
	forge resign --base "$B/b1.xch" --gnupghome "$T/agency/gnupg" --signer "$AGENCY" --set "bundle_id=$id2" \
		"$B/other-id.xch" &&
	refused 6 "manifest and envelope disagree on bundle_id: they are not from the same bundle$" "$B/other-id.xch" &&
	forge resign --base "$B/b1.xch" --gnupghome "$T/agency/gnupg" --signer "$AGENCY" --set-int sequence=7 \
		"$B/other-seq.xch" &&
	refused 6 "manifest and envelope disagree on the sequence$" "$B/other-seq.xch"
'

test_expect 'payload entries with .., absolute paths, links and devices are malformed (9)' '
	forged dotdot 9 "invalid entry name .records/\.\./\.\./evil\.json.: .\.. or .\.\.. component$" &&
	forged absolute 9 "invalid entry name ./tmp/evil\.json.: absolute path$" &&
	forged symlink 9 "entry .records/ASMT-2026-0001\.json. is a symbolic link$" &&
	forged hardlink 9 "entry .records/ASMT-2026-0001\.json. is a hard link$" &&
	forged device 9 "entry .records/ASMT-2026-0001\.json. is a device$" &&
	forged fifo 9 "entry .records/ASMT-2026-0001\.json. is a fifo$" &&
	forged directory 9 "invalid entry name .records/.: trailing slash$"
'

test_expect 'duplicate and case-colliding payload entries are malformed (9)' '
	forged duplicate 9 "duplicate entry .records/ASMT-2026-0001\.json.$" &&
	forged case 9 "entry .records/asmt-2026-0001\.json. differs only in case from an earlier entry$"
'

test_expect 'entries that differ from the manifest are tampered (6)' '
	forged bigger 6 "payload entry .records/ASMT-2026-0001\.json. is [0-9]+ bytes, the manifest says [0-9]+$" &&
	forged sha 6 "payload entry .records/ASMT-2026-0001\.json. does not match its SHA-256 in the manifest$" &&
	second=$(python3 -c "import json, sys; print(json.load(open(sys.argv[1]))[\"entries\"][1][\"path\"])" \
		"$T/plain/manifest.json") &&
	forged reorder 6 "payload entry .$second. is out of the manifest.s order$" &&
	forged extra 6 "payload entry .records/EXTRA-0001\.json. is not in the manifest$" &&
	forged missing 6 "payload lacks .records/[A-Z0-9-]+\.json., which the manifest lists$"
'

test_expect 'a manifest that lies about its counts, comes second or does not parse is refused' '
	forged counts 6 "manifest counts do not match its entries$" &&
	forged notfirst 6 "the payload does not start with manifest\.json$" &&
	forged manifest-dupkey 9 ".manifest\.json.: line [0-9]+, column [0-9]+: duplicate object key" &&
	forged entry-path 9 "manifest\.json is malformed: /entries/1/path: .*pattern" &&
	forged entry-extra 9 "manifest\.json is malformed: /entries/1/mode: property .mode. is not allowed$" &&
	forged empty 9 "the payload is empty$"
'

test_expect 'declared sizes are enforced before anything is inflated (9)' '
	forged bomb-header 9 "entry .records/ASMT-2026-0001\.json. declares 1099511627776 bytes, beyond the [0-9]+-byte limit$" &&
	forged bomb-manifest 9 "manifest\.json is larger than [0-9]+ bytes$"
'

test_expect 'a payload that is not a clean gzip'"'"'d tar is malformed (9)' '
	forged tail-garbage 9 "malformed payload archive: data after the end of the archive$" &&
	forged not-gzip 9 "malformed payload: corrupt compressed data \(incorrect header check\)$" &&
	forged bad-deflate 9 "malformed payload: corrupt compressed data"
'

test_expect 'a refusal keeps its reason while gpg is still writing (a payload larger than a pipe)' '
	forged dotdot 9 "invalid entry name .records/\.\./\.\./evil\.json.: .\.. or .\.\.. component$" --pad 1000000 &&
	forged ok 9 "malformed payload archive: data after the end of the archive$" --pad 1000000
'

test_expect 'zeros after the payload archive are bounded' '
	forged bomb-tail 9 "malformed payload archive: more than [0-9]+ bytes of padding after the end of the archive$"
'

test_done
