#!/usr/bin/env bash
# Type-check both crates (lib and tests) for the non-Linux targets the npm package is built
# for, with every warning an error:
#
#   bash scripts/check-cross-targets.sh                      # the three targets below
#   bash scripts/check-cross-targets.sh aarch64-apple-darwin # some of them
#
# Only the host target is installed with rustup, so std is built from source for each
# target (`-Zbuild-std`) by Debian's Rust 1.96 (/usr/bin/rustc + its std source), with
# RUSTC_BOOTSTRAP=1 to allow that unstable flag. Nothing is linked or run: this proves the
# `cfg` gating compiles, not that the code works there. Build output goes to
# $XCHECK_TARGET_DIR (default /tmp/xcheck-ci), never to the repository's target/.
set -euo pipefail
cd "$(dirname "$0")/.."

RUST_VERSION=1.96 # the oldest tried (bookworm-security's rustc-web); newer ones are accepted
RUSTC_BIN=/usr/bin/rustc
CARGO_BIN=/usr/bin/cargo

targets=("$@")
[[ ${#targets[@]} -eq 0 ]] && targets=(x86_64-unknown-freebsd x86_64-apple-darwin aarch64-apple-darwin)

missing() {
  echo "check-cross-targets: $1" >&2
  cat >&2 <<EOF
This check needs Debian's Rust $RUST_VERSION with its standard library source:
  $RUSTC_BIN, $CARGO_BIN and the std source under its sysroot (lib/rustlib/src/rust)
On Debian 12 (bookworm) they come from bookworm-security:
  apt-get install -y rustc-web cargo-web rust-web-src
EOF
  exit 1
}

[[ -x $RUSTC_BIN && -x $CARGO_BIN ]] || missing "$RUSTC_BIN or $CARGO_BIN is missing"
version=$("$RUSTC_BIN" --version | cut -d' ' -f2)
[[ $(printf '%s\n%s\n' "$RUST_VERSION" "$version" | sort -V | head -1) == "$RUST_VERSION" ]] ||
  missing "$RUSTC_BIN is $version, older than $RUST_VERSION"
STD_SRC="$("$RUSTC_BIN" --print sysroot)/lib/rustlib/src/rust"
[[ -d $STD_SRC/library/std ]] || missing "the std source $STD_SRC/library is missing"

export RUSTC=$RUSTC_BIN RUSTC_BOOTSTRAP=1 RUSTFLAGS="-D warnings"
export CARGO_TARGET_DIR=${XCHECK_TARGET_DIR:-/tmp/xcheck-ci}

status=0
for target in "${targets[@]}"; do
  echo "== $target"
  start=$SECONDS
  if "$CARGO_BIN" check --locked --quiet -Zbuild-std=std,panic_abort --target "$target" \
      -p unixgram-core -p unixgram-node --all-targets; then
    echo "ok: $target ($((SECONDS - start)) s)"
  else
    echo "FAILED: $target" >&2
    status=1
  fi
done
exit $status
