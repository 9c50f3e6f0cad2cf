#!/bin/sh
# check-format.sh SRCDIR: every C file of the tree formatted as .clang-format
# says (clang-format 14, Debian 12's), else the files that are not and how to
# fix them.  A meson test (suite style) runs it.
set -eu
top=${1:?usage: tools/check-format.sh SRCDIR}
cf=$(command -v clang-format-14 || command -v clang-format || true)
if [ -z "$cf" ]; then
	echo "check-format: clang-format (Debian's clang-format-14) is not installed; ./dev installs it" >&2
	exit 1
fi
cd "$top"
bad=$(find include mm emu tools tests -name '*.[ch]' | sort | while read -r f; do
	"$cf" --dry-run --Werror "$f" >/dev/null 2>&1 || echo "$f"
done)
if [ -n "$bad" ]; then
	echo "check-format: not formatted as .clang-format says (fix: $cf -i FILE):" >&2
	echo "$bad" | sed 's/^/  /' >&2
	exit 1
fi
echo "check-format: $(find include mm emu tools tests -name '*.[ch]' | wc -l) files formatted"
