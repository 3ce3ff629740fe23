#!/bin/sh
# make-huge.sh OUT [MIB]
#
# Write to OUT a well-formed assessment record of about MIB mebibytes
# (default 20), its bulk in one long "summary" string. Everything about it
# is valid except its size: a reader must refuse it for exceeding the
# 16 MiB limit on a JSON document (see xch-records(5)) without reading it
# all into memory first. The file is generated, never committed.
set -eu

if [ $# -lt 1 ] || [ $# -gt 2 ]; then
	echo "usage: make-huge.sh OUT [MIB]" >&2
	exit 2
fi
out=$1
mib=${2:-20}
case $mib in
''|*[!0-9]*|0|0*) echo "make-huge.sh: MIB must be a whole number from 1" >&2; exit 2 ;;
esac

{
	printf '{\n  "assessment": {\n    "date": "2026-04-01",\n    "type": "infrastructure_survey"\n  },\n'
	printf '  "created": "2026-04-02T08:00:00Z",\n'
	printf '  "facility": {\n    "location": {\n      "country": "US"\n    },\n'
	printf '    "name": "Lakeview Dam",\n    "sector": "dams"\n  },\n'
	printf '  "findings": [],\n  "id": "ASMT-TEST-HUGE",\n'
	printf '  "marking": {\n    "tlp": "GREEN"\n  },\n'
	printf '  "modified": "2026-04-02T08:00:00Z",\n'
	printf '  "revision_history": [\n    {\n      "date": "2026-04-02T08:00:00Z",\n'
	printf '      "id": "1",\n      "summary": "Initial report."\n    }\n  ],\n'
	printf '  "summary": "'
	head -c $((mib * 1024 * 1024)) /dev/zero | tr '\000' 'a'
	printf '",\n  "title": "A record too large to accept",\n  "type": "assessment"\n}\n'
} >"$out"
