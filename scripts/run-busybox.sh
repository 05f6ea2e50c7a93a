#!/bin/sh
# run-busybox.sh [CMD...]: run CMD (default: a greeting) in a container made
# from the host's busybox, then remove it.  Needs root.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
husk_oci=$here/../build/husk-oci
b=$(mktemp -d /tmp/husk-busybox.XXXXXX)
trap 'rm -rf "$b"' EXIT
HUSK_OCI=$husk_oci "$here/make-busybox-bundle.sh" "$b" >/dev/null
if [ $# -eq 0 ]; then
	set -- sh -c 'echo "hello from $(hostname): pid $$, $(id)"; uname -sr'
fi
args=$(printf '%s\n' "$@" | jq -R . | jq -s -c .)
jq ".process.args = $args" "$b/config.json" >"$b/config.new" && mv "$b/config.new" "$b/config.json"
exec "$husk_oci" run --bundle "$b" "busybox-$$"
