#!/usr/bin/env bash
# Installs ONNX Runtime's C/C++ API (headers + shared library) laid out like
# Microsoft's release tarball onnxruntime-linux-x64-<version>/{include,lib}.
#
# Where the pieces come from (ONNX Runtime is not packaged in Debian 12):
#   - libonnxruntime.so: Microsoft's own build, from Maven Central
#     com.microsoft.onnxruntime:onnxruntime:<version> (ai/onnxruntime/native/linux-x64/).
#   - the C/C++ headers: Maven's Android AAR is not served here, so they come from
#     the npm package com.github.asus4.onnxruntime, a repackaging of the same
#     release. We check that the Linux library inside that package is byte-identical
#     to Microsoft's (sha256 below): that proves headers and library are one release.
# Usage: scripts/install_onnxruntime.sh PREFIX   (installs into PREFIX/onnxruntime-<version>)
set -euo pipefail

ORT_VERSION=1.29.0
ASUS4_VERSION=0.4.9
JAR_SHA256=5933bbc0c6c4d89afc04bf7c11011de23a947509c1352e5bf5936e62a84e4d10
LIB_SHA256=5715f06d8992ca8eeeddcce43df3a7d38f97d537052126f558e912cb312460ca
NPM_TGZ_SHA256=e59788788818fdde1b2e522e766a21ba0f7d8391de55737abf81e32cc801785d

prefix=${1:?usage: install_onnxruntime.sh PREFIX}
dest="$prefix/onnxruntime-$ORT_VERSION"
if [[ -f "$dest/.complete" ]]; then
  echo "onnxruntime $ORT_VERSION already installed in $dest"
  exit 0
fi

check_sha() {  # file expected
  local got
  got=$(sha256sum "$1" | cut -d' ' -f1)
  if [[ "$got" != "$2" ]]; then
    echo "error: sha256 mismatch for $1: expected $2, got $got" >&2
    exit 1
  fi
}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "fetching com.microsoft.onnxruntime:onnxruntime:$ORT_VERSION from Maven Central"
mvn -q -B dependency:get -Dartifact="com.microsoft.onnxruntime:onnxruntime:$ORT_VERSION" >"$work/mvn.log" 2>&1 ||
  { cat "$work/mvn.log" >&2; echo "error: maven could not fetch onnxruntime $ORT_VERSION" >&2; exit 1; }
jar="$HOME/.m2/repository/com/microsoft/onnxruntime/onnxruntime/$ORT_VERSION/onnxruntime-$ORT_VERSION.jar"
check_sha "$jar" "$JAR_SHA256"
(cd "$work" && unzip -q -o "$jar" 'ai/onnxruntime/native/linux-x64/libonnxruntime.so')
check_sha "$work/ai/onnxruntime/native/linux-x64/libonnxruntime.so" "$LIB_SHA256"

echo "fetching headers from npm com.github.asus4.onnxruntime@$ASUS4_VERSION"
(cd "$work" && npm pack --silent "com.github.asus4.onnxruntime@$ASUS4_VERSION" >/dev/null)
tgz="$work/com.github.asus4.onnxruntime-$ASUS4_VERSION.tgz"
check_sha "$tgz" "$NPM_TGZ_SHA256"
mkdir -p "$work/npm"
tar -xzf "$tgz" -C "$work/npm"
check_sha "$work/npm/package/Plugins/Linux/x64/libonnxruntime.so" "$LIB_SHA256"
headers="$work/npm/package/Plugins/iOS~/onnxruntime.xcframework/ios-arm64/onnxruntime.framework/Headers"
# ORT_API_VERSION is the release's minor number (1.29.0 -> 29).
grep -qx "#define ORT_API_VERSION $(cut -d. -f2 <<<"$ORT_VERSION")" "$headers/onnxruntime_c_api.h" ||
  { echo "error: headers are not ONNX Runtime $ORT_VERSION" >&2; exit 1; }

stage="$dest.partial"
rm -rf "$stage"
mkdir -p "$stage/include" "$stage/lib"
cp "$headers"/*.h "$stage/include/"
cp "$work/ai/onnxruntime/native/linux-x64/libonnxruntime.so" "$stage/lib/libonnxruntime.so.$ORT_VERSION"
ln -s "libonnxruntime.so.$ORT_VERSION" "$stage/lib/libonnxruntime.so.1"
ln -s "libonnxruntime.so.1" "$stage/lib/libonnxruntime.so"
echo "$ORT_VERSION" >"$stage/VERSION_NUMBER"
touch "$stage/.complete"
rm -rf "$dest"
mv "$stage" "$dest"
echo "onnxruntime $ORT_VERSION installed in $dest"
