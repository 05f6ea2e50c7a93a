#!/bin/sh
# Install what husk needs from Debian 12 and build it into build/.
set -eu
cd "$(dirname "$0")/.."
pkgs="meson ninja-build pkg-config gcc libjansson-dev libseccomp-dev libcap-dev libcmocka-dev libarchive-dev libssl-dev
      busybox-static bats jq iproute2 procps util-linux runc crun clang-format qemu-system-x86
      podman buildah containerd slirp4netns curl bc clang libclang-rt-14-dev
      libcurl4-openssl-dev libmnl-dev libnftables-dev nftables docker-registry skopeo umoci zstd openssl python3
      man-db groff-base bash-completion zsh fish mmdebstrap dpkg-dev tini iperf3"
missing=""
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi
[ -f build/build.ninja ] || meson setup build >/dev/null
ninja -C build >/dev/null
echo "built: $(pwd)/build/husk-oci"
