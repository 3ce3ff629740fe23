#!/bin/sh
. "$XCH_TOP_SRCDIR/tests/cli/lib.sh"
test_done
