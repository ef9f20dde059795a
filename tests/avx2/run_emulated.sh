#!/usr/bin/env bash
# Runs one test program as an AVX2-only x86 CPU (issue 13): Debian's qemu-user (TCG)
# emulating a Haswell, whose CPUID has AVX2 and FMA3 but no AVX-512 and no VNNI, so ONNX
# Runtime's MLAS picks its saturating u8×s8 kernel (vpmaddubsw) as on such a host.
# First it checks that docquant itself reads the emulated CPU as "avx2" -- if a future
# qemu exposed VNNI, this run would silently test the exact kernel twice.
# Usage: run_emulated.sh QEMU DOCQUANT TEST_PROGRAM [ARGS...]
set -euo pipefail
qemu=$1 docquant=$2
shift 2
if [[ ! -x "$qemu" ]]; then
  echo "error: qemu-x86_64 not found ('$qemu'): install Debian's qemu-user (scripts/setup.sh does)" >&2
  exit 1
fi
# TCG does not implement these Haswell features; leaving them out keeps qemu from warning.
cpu=Haswell,-pcid,-x2apic,-tsc-deadline,-hle,-invpcid,-rtm
version=$("$qemu" -cpu "$cpu" "$docquant" --version)
if [[ "$version" != *"int8 kernel on this CPU: avx2"* ]]; then
  echo "error: under '$qemu -cpu $cpu' docquant reports '$version', not the avx2 int8 kernel" >&2
  exit 1
fi
echo "$version (emulated: qemu-x86_64 -cpu $cpu)"
exec "$qemu" -cpu "$cpu" "$@"
