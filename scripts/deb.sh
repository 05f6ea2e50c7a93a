#!/bin/sh
# Build husk's Debian package: a release build installed by meson into a
# staging root (binaries, man pages, completions), its library
# dependencies found by dpkg-shlibdeps, then dpkg-deb.
#   scripts/deb.sh [OUT_DIR]     (default build-deb/); prints the .deb's path
set -eu
cd "$(dirname "$0")/.."
out=${1:-build-deb}
build=build-deb/build
mkdir -p "$out" build-deb
[ -f $build/build.ninja ] || meson setup $build --prefix=/usr --buildtype=release -Dtests=disabled >/dev/null
ninja -C $build >/dev/null
stage=$(mktemp -d build-deb/stage.XXXXXX)
trap 'rm -rf "$stage"' EXIT
DESTDIR=$(pwd)/$stage meson install -C $build --quiet >/dev/null
gzip -9n "$stage"/usr/share/man/man1/*.1
version=$(meson introspect $build --projectinfo | sed -n 's/.*"version": "\([^"]*\)".*/\1/p')
arch=$(dpkg --print-architecture)

# the shared libraries the ELF files need, as Debian package names
mkdir -p "$stage/debian"
printf 'Source: husk\n\nPackage: husk\nArchitecture: any\n' >"$stage/debian/control"
shlibs=$(cd "$stage" && dpkg-shlibdeps -O -e usr/bin/husk -e usr/bin/husk-oci -e usr/bin/husk-monitor 2>/dev/null |
	sed -n 's/^shlibs:Depends=//p')
rm -rf "$stage/debian"
# and what husk opens at run time: libcurl (pull, push), libarchive (load,
# save, import), libnftables (bridge networks), libcrypto (SHA-256 of
# blobs, layers and the build cache), and /bin/busybox for the
# built-in busybox image, tini for --init, and the default seccomp profile
# (containers-common)
depends="$shlibs, libcurl4, libarchive13, libnftables1, libssl3, busybox-static, tini, golang-github-containers-common"

mkdir -p "$stage/DEBIAN"
cat >"$stage/DEBIAN/control" <<EOF
Package: husk
Version: $version
Architecture: $arch
Maintainer: husk developers <husk@localhost>
Depends: $depends
Section: admin
Priority: optional
Installed-Size: $(du -sk --exclude=DEBIAN "$stage" | cut -f1)
Description: daemonless container engine and OCI runtime
 husk runs containers from OCI and Docker images with Docker's command line
 (husk), each under a small monitor process and with no daemon, and is an
 OCI runtime with runc's command line (husk-oci) for Podman, containerd and
 Docker.
EOF
deb="$out/husk_${version}_${arch}.deb"
dpkg-deb --root-owner-group --build "$stage" "$deb" >/dev/null
echo "$deb"
