#!/bin/sh
# musl-include.sh DIR: the headers the musl build of husk-monitor takes
# from the system beside musl's own: the kernel's UAPI (linux/, asm/,
# asm-generic/: libc-neutral) and jansson's (declarations only: nothing
# the monitor links calls it).  Symlinks, made at configure time.
set -eu
dir=$1
arch=$(gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)
mkdir -p "$dir"
ln -sfn /usr/include/linux "$dir/linux"
ln -sfn "/usr/include/$arch/asm" "$dir/asm"
ln -sfn /usr/include/asm-generic "$dir/asm-generic"
ln -sfn /usr/include/jansson.h "$dir/jansson.h"
ln -sfn /usr/include/jansson_config.h "$dir/jansson_config.h"
