#!/bin/sh
# Build CRIU 4.1.1 (Debian trixie's source: the upstream tarball of its
# criu_4.1.1-1) into /opt/criu-4.1, beside Debian 12's criu 3.17.1, which
# it does not replace: 3.17 cannot run on a 6.x kernel's vDSO layout
# ("vdso: Unexpected rt vDSO area bounds"), and trixie's binary package
# needs trixie's libc.  Two patches of scripts/criu/ make it work on the
# machines husk runs on: Linux 6.16's SO_PASSCRED on TCP sockets
# (--tcp-established) and hardware breakpoints that never fire in a
# Firecracker guest (every dump and restore hung).
#
# The checkpoint tests use it when it is there (tests/integration/
# checkpoint.bats); setup.sh runs this and goes on if it fails.  About two
# and a half minutes on 2 cores; nothing to do when the same build is there.
# CRIU_PREFIX overrides where it goes.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
prefix=${CRIU_PREFIX:-/opt/criu-4.1}
version=4.1.1
sha256=f80a66cb3726bb2116266d4759ce3bcbfab7abdb6b6d430bf20dd41911717afe
url=http://deb.debian.org/debian/pool/main/c/criu/criu_$version.orig.tar.xz
deps="gcc make pkg-config libbsd-dev libcap-dev libnet1-dev libnl-3-dev libnftables-dev
      libprotobuf-c-dev libprotobuf-dev protobuf-c-compiler protobuf-compiler uuid-dev curl xz-utils"

# what is built: the version and the patches
stamp=$(cat "$here"/criu/*.patch | sha256sum | cut -d' ' -f1)
stamp="$version $stamp"
if [ -x "$prefix/sbin/criu" ] && [ "$(cat "$prefix/.husk-build" 2>/dev/null)" = "$stamp" ] &&
	"$prefix/sbin/criu" --version >/dev/null 2>&1; then
	echo "criu $version: $prefix/sbin/criu is there"
	exit 0
fi

missing=""
for p in $deps; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

work=$(mktemp -d /tmp/husk-criu-build.XXXXXX)
trap 'rm -rf "$work"' EXIT
curl -fsS --retry 2 --max-time 120 -o "$work/criu.tar.xz" "$url"
echo "$sha256  $work/criu.tar.xz" | sha256sum -c --quiet
tar -xJf "$work/criu.tar.xz" -C "$work"
src="$work/criu-$version"
for p in "$here"/criu/*.patch; do
	patch -s -d "$src" -p1 <"$p"
done
# only the criu binary: no docs (asciidoc), no python tools
make -s -C "$src" -j"$(nproc)" criu >"$work/make.log" 2>&1 || {
	tail -20 "$work/make.log" >&2
	exit 1
}
install -D -m 755 "$src/criu/criu" "$prefix/sbin/criu.new"
mv -f "$prefix/sbin/criu.new" "$prefix/sbin/criu"
echo "$stamp" >"$prefix/.husk-build"
echo "criu $version: built into $prefix/sbin/criu ($("$prefix/sbin/criu" check 2>&1 | tail -1))"
