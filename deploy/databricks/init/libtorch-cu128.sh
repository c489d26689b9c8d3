#!/usr/bin/env bash
# Databricks cluster init script: CUDA libtorch for the GPU jar (target/sparkner-<version>-gpu.jar).
#
# The GPU jar bundles no libtorch. Its pytorch-jni (DJL 0.36.0) is built for libtorch 2.7.1 and carries
# the JNI binding for two flavours on linux-x86_64: cpu and cu128. This script puts the official
# libtorch 2.7.1+cu128 build (with its CUDA runtime, cuBLAS and cuDNN libraries) under
# $LIBTORCH_HOME/lib on every node; the cluster's spark_env_vars point DJL at it:
#   PYTORCH_LIBRARY_PATH=/databricks/libtorch/lib  PYTORCH_VERSION=2.7.1  PYTORCH_FLAVOR=cu128
# The node needs an NVIDIA driver that runs CUDA 12.8 builds (the GPU runtimes' drivers; check
# nvidia-smi) and network access to download.pytorch.org. A failure here fails the cluster start:
# a GPU cluster never comes up without its libtorch.
#
# Optional environment: LIBTORCH_URL (a mirror, e.g. a copy of the zip in a volume: file:///Volumes/...),
# LIBTORCH_SHA256 (checked when set), LIBTORCH_HOME (default /databricks/libtorch).
set -euo pipefail

VERSION="2.7.1+cu128"
URL="${LIBTORCH_URL:-https://download.pytorch.org/libtorch/cu128/libtorch-cxx11-abi-shared-with-deps-2.7.1%2Bcu128.zip}"
HOME_DIR="${LIBTORCH_HOME:-/databricks/libtorch}"

if [[ -f "$HOME_DIR/lib/libtorch.so" && "$(cat "$HOME_DIR/build-version" 2>/dev/null)" == "$VERSION" ]]; then
  echo "libtorch $VERSION already in $HOME_DIR"
  exit 0
fi

WORK="$(mktemp -d /tmp/libtorch.XXXXXX)"
trap 'rm -rf "$WORK"' EXIT
echo "downloading libtorch $VERSION from $URL"
curl -fsSL --retry 5 --retry-delay 10 -o "$WORK/libtorch.zip" "$URL"
if [[ -n "${LIBTORCH_SHA256:-}" ]]; then
  echo "${LIBTORCH_SHA256}  $WORK/libtorch.zip" | sha256sum -c -
fi
unzip -q "$WORK/libtorch.zip" -d "$WORK"
FOUND="$(cat "$WORK/libtorch/build-version" 2>/dev/null || echo none)"
if [[ "$FOUND" != "$VERSION" ]]; then
  echo "libtorch from $URL is $FOUND, sparkner's pytorch-jni needs $VERSION" >&2
  exit 1
fi
for lib in libtorch.so libtorch_cpu.so libtorch_cuda.so libc10.so libc10_cuda.so; do
  if [[ ! -f "$WORK/libtorch/lib/$lib" ]]; then
    echo "libtorch from $URL has no lib/$lib" >&2
    exit 1
  fi
done
# replace as a whole: a half-written directory is never left under the final name
rm -rf "$HOME_DIR.new"
mkdir -p "$(dirname "$HOME_DIR")"
mv "$WORK/libtorch" "$HOME_DIR.new"
rm -rf "$HOME_DIR"
mv "$HOME_DIR.new" "$HOME_DIR"
echo "libtorch $VERSION in $HOME_DIR/lib"
