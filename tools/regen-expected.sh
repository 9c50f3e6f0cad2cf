#!/bin/sh
# Regenerate traces/expected/NAME/PID.{maps,smaps} from the HOST KERNEL:
# dupmm-hostrun performs each trace's calls natively, with real forks, and
# writes what /proc/self/maps and smaps showed.  Never from dupmm's output.
# Usage: tools/regen-expected.sh BUILDDIR
set -eu
build=${1:?usage: tools/regen-expected.sh BUILDDIR}
top=$(cd "$(dirname "$0")/.." && pwd)
for t in "$top"/traces/*.strace; do
	n=$(basename "$t" .strace)
	rm -rf "$top/traces/expected/$n"
	"$build/tools/dupmm-hostrun" -o "$top/traces/expected/$n" "$t"
done
