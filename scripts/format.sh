#!/bin/sh
# Format every C file the way CI checks it.
cd "$(dirname "$0")/.." && clang-format -i src/*/*.c src/*/*.h tests/unit/*.c \
	tests/integration/tools/*.c tests/integration/attacks/*.c tests/fuzz/*.c
