#!/bin/sh
# make-busybox-bundle.sh DIR: an OCI bundle whose rootfs is Debian's
# busybox-static, with husk-oci's default config (no terminal).
set -eu
dir=$1
husk_oci=${HUSK_OCI:-$(dirname "$0")/../build/husk-oci}
mkdir -p "$dir/rootfs"
cd "$dir/rootfs"
mkdir -p bin dev proc sys etc tmp root run var
cp /bin/busybox bin/busybox
for app in $(/bin/busybox --list); do
	[ "$app" = busybox ] || ln -sf busybox "bin/$app"
done
echo 'root:x:0:0:root:/root:/bin/sh' >etc/passwd
echo 'root:x:0:' >etc/group
chmod 1777 tmp
cd ..
rm -f config.json
"$husk_oci" spec
# no terminal, so that it runs the same from a script or a terminal
sed -i 's/"terminal": true/"terminal": false/' config.json
