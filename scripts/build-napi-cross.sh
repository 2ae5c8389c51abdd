#!/usr/bin/env bash
# Build the linux-x64-gnu addon the way the release workflow does (`napi build
# --use-napi-cross`: crosstool-NG GCC against glibc 2.17, from npm), put it in place of the
# local build, and prove it: at most glibc 2.17, and the pack-and-install, fd and batch tests
# pass with it. Used by .ci/run; `npm ci` (a host build) must have run first.
#   bash scripts/build-napi-cross.sh
set -euo pipefail
cd "$(dirname "$0")/.."

target=x86_64-unknown-linux-gnu
binary=unixgram.linux-x64-gnu.node
# `napi build --use-napi-cross` looks for the toolchain in ~/.napi-rs/cross-toolchain/<version
# of @napi-rs/cross-toolchain>/<triple> and otherwise downloads it with `npm pack` of the same
# version, which the registry does not have (1.0.5 here; the x86_64 toolchain is published as
# 1.0.0), and unpacks it with @napi-rs/lzma, whose binary is skipped on Node 20. So unpack the
# published toolchain there ourselves, with the system's tar and xz.
version=$(node -p "JSON.parse(require('fs').readFileSync('node_modules/@napi-rs/cross-toolchain/package.json', 'utf8')).version")
toolchain="$HOME/.napi-rs/cross-toolchain/$version/$target"
if [ ! -f "$toolchain/package.json" ]; then
  pkg=@napi-rs/cross-toolchain-x64-target-x86_64@1.0.0
  echo "== unpacking $pkg into $toolchain"
  tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent "$pkg" >/dev/null && tar -xzf ./*.tgz)
  mkdir -p "$toolchain"
  tar -xJf "$tmp/package/$target.tar.xz" -C "$toolchain"
  rm -rf "$tmp"
  test -f "$toolchain/package.json"
fi

out=target/napi-cross
mkdir -p "$out"
echo "== napi build --use-napi-cross --target $target"
CARGO_TARGET_DIR=target/napi-cross-build \
  npx napi build --platform --release --use-napi-cross --target "$target" -p unixgram-node -o "$out"

node scripts/check-glibc.mjs "$out/$binary" --max 2.17

# Test that binary as the package's own (the host build is put back afterwards).
cp "$binary" "$out/$binary.host"
cp "$out/$binary" "$binary"
restore() { cp "$out/$binary.host" "$binary"; }
trap restore EXIT
echo "== tests with the napi-cross binary"
UNIXGRAM_EXPECT_NAPI_CROSS=1 npx ava __test__/glibc.spec.ts __test__/pack.spec.ts __test__/fds.spec.ts __test__/batch.spec.ts
