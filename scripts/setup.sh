#!/bin/sh
# Install what husk needs from Debian 12 and build it into build/.
set -eu
cd "$(dirname "$0")/.."
pkgs="meson ninja-build pkg-config gcc libjansson-dev libseccomp-dev libcap-dev libcmocka-dev libarchive-dev libssl-dev criu
      busybox-static bats jq iproute2 procps util-linux runc crun clang-format qemu-system-x86
      podman buildah containerd slirp4netns curl bc clang libclang-rt-14-dev
      libcurl4-openssl-dev libmnl-dev libnftables-dev nftables docker-registry skopeo umoci zstd openssl python3
      man-db groff-base bash-completion zsh fish mmdebstrap dpkg-dev tini iperf3
      docker.io python3-grpcio python3-grpc-tools musl-tools"
missing=""
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	# No service may start from a package: docker.io would start a system
	# dockerd (its own bridge, iptables rules, /run/docker.sock); the tests
	# start their own daemons in temp dirs. A policy-rc.d refusing every
	# start is put in place for the install unless one is there already.
	policy=""
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		policy=/usr/sbin/policy-rc.d
		printf '#!/bin/sh\nexit 101\n' >"$policy"
		chmod +x "$policy"
	fi
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $missing >/dev/null
	[ -z "$policy" ] || rm -f "$policy"
fi
# and none starts at boot or on a socket's first use
if command -v systemctl >/dev/null && [ -e /lib/systemd/system/docker.service ]; then
	systemctl mask docker.service docker.socket >/dev/null 2>&1 || true
	if [ -d /run/systemd/system ]; then
		systemctl stop docker.socket docker.service >/dev/null 2>&1 || true
	fi
fi
command -v update-rc.d >/dev/null && [ -e /etc/init.d/docker ] && update-rc.d docker disable >/dev/null 2>&1 || true
# CRIU 4.1 for the checkpoint tests, built from Debian trixie's source
# (Debian 12's 3.17 cannot run on this kernel): they skip without it, so a
# failure here does not fail the setup
./scripts/build-criu.sh || echo "setup: CRIU 4.1 was not built: the checkpoint tests will skip" >&2
[ -f build/build.ninja ] || meson setup build >/dev/null
ninja -C build >/dev/null
echo "built: $(pwd)/build/husk-oci"
