#!/usr/bin/env bats
# husk as a Debian package: scripts/deb.sh builds it (meson install into a
# staging root, dependencies from dpkg-shlibdeps), apt installs it into a
# fresh Debian 12 root made by mmdebstrap, and there husk runs a container.

load helpers

bats_require_minimum_version 1.5.0

REPO=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)

setup() {
	TEST_DIR=$(mktemp -d /tmp/husk-pkg.XXXXXX)
}

teardown() {
	# processes rooted in the fresh root are ours: the mount namespace
	# they live in goes with the last of them
	local p
	for p in /proc/[0-9]*; do
		[ "$(readlink "$p/root" 2>/dev/null)" = "$TEST_DIR/root" ] && kill -9 "${p#/proc/}" 2>/dev/null
	done
	rm -rf "$TEST_DIR"
}

# in_root SCRIPT: run sh -c SCRIPT chrooted into the fresh root, with /proc,
# /sys, /dev and a /run of its own, in a mount namespace of its own (so
# that nothing mounted here is left on the host)
in_root() {
	unshare -m --propagation private sh -ec '
		r=$1
		mount --bind "$r" "$r"
		mount -t proc proc "$r/proc"
		mount --rbind /sys "$r/sys"
		mount --rbind /dev "$r/dev"
		mount -t tmpfs tmpfs "$r/run"
		mount -t tmpfs tmpfs "$r/tmp"
		chroot "$r" /bin/sh -ec "$2"' _ "$TEST_DIR/root" "$1"
}

@test "the Debian package installs into a fresh Debian 12 root, and there husk runs a container" {
	command -v mmdebstrap >/dev/null || skip "mmdebstrap is not installed (scripts/setup.sh installs it)"
	command -v dpkg-shlibdeps >/dev/null || skip "dpkg-dev is not installed (scripts/setup.sh installs it)"
	deb=$(cd "$REPO" && ./scripts/deb.sh "$TEST_DIR")
	deb="$TEST_DIR/$(basename "$deb")"
	[ -f "$deb" ]
	run dpkg-deb -f "$deb" Package Depends
	[[ "$output" == *"Package: husk"* ]]
	[[ "$output" == *"libc6"* && "$output" == *"busybox-static"* ]]
	run dpkg-deb -c "$deb"
	for f in usr/bin/husk usr/bin/husk-oci usr/bin/husk-monitor usr/share/man/man1/husk.1.gz \
		usr/share/man/man1/husk-run.1.gz usr/share/bash-completion/completions/husk \
		usr/share/zsh/vendor-completions/_husk usr/share/fish/vendor_completions.d/husk.fish; do
		grep -q " \./$f\$" <<<"$output" || { echo "the package lacks $f"; return 1; }
	done
	# a fresh minimal Debian 12 from the host's own apt sources, then
	# `apt-get install ./husk.deb` as a user would (apt brings the dependencies)
	cp "$deb" "$TEST_DIR/husk.deb"
	mmdebstrap --quiet --mode=root --variant=minbase \
		--customize-hook="cp '$TEST_DIR/husk.deb' \"\$1/tmp/\"" \
		--customize-hook='chroot "$1" apt-get install -y -qq /tmp/husk.deb >/dev/null' \
		bookworm "$TEST_DIR/root" /etc/apt/sources.list.d/debian.sources
	run in_root 'husk run --rm busybox echo ok'
	[ "$status" -eq 0 ]
	[ "$output" = ok ]
	run in_root 'husk run -d --name bg busybox sleep 100 >/dev/null; husk ps --format "{{.Names}} {{.State}}"; husk rm -f bg'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "bg running" ]
	# the completion and the runtime are the installed ones
	run in_root 'bash -c ". /usr/share/bash-completion/completions/husk; COMP_WORDS=(husk ru); COMP_CWORD=1; _husk; echo \${COMPREPLY[*]}"'
	[ "$output" = run ]
	run in_root 'husk-oci --version'
	[ "$status" -eq 0 ]
}
