# Shared by scripts/demo and scripts/test: output helpers, the idempotent
# installs of the widget's build tools, and the widget build itself.
# Source it; it expects ROOT to be the repository root.

TRUNK_VERSION="0.21.14"
# The widget's release bundle only (build_widget); everything else uses the
# default (stable) toolchain. The dated channel nightly-2026-05-20 is
# rustc 1.97.0-nightly (e50aa6fba 2026-05-19).
NIGHTLY_TOOLCHAIN="nightly-2026-05-20"
BINARYEN_VERSION="132.0.0"
TERSER_VERSION="5.51.4"
TOOLS_DIR="$ROOT/.tools" # npm-installed build tools (wasm-opt, terser), not committed

banner() {
  local line="=============================================================================="
  printf '\n%s\n== %s\n%s\n' "$line" "$*" "$line"
}

note() { printf '>> %s\n' "$*"; }

die() {
  printf '%s: %s\n' "$(basename "$0")" "$*" >&2
  exit 1
}

# Runs a command as root: directly when we are root, else through sudo.
as_root() {
  if [ "$(id -u)" -eq 0 ]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo -n "$@" || sudo "$@"
  else
    die "need root to run: $* (not root, and no sudo)"
  fi
}

ensure_wasm_target() {
  local sysroot
  sysroot="$(rustc --print sysroot)"
  if [ -d "$sysroot/lib/rustlib/wasm32-unknown-unknown" ]; then
    note "Rust target wasm32-unknown-unknown: installed"
  elif command -v rustup >/dev/null 2>&1; then
    note "Rust target wasm32-unknown-unknown: installing"
    rustup target add wasm32-unknown-unknown
  else
    die "the wasm32-unknown-unknown target is missing and rustup is not available to add it"
  fi
}

# Trunk 0.21 (0.22 needs a newer rustc); about 17 minutes the first time.
ensure_trunk() {
  if trunk --version 2>/dev/null | grep -qx "trunk $TRUNK_VERSION"; then
    note "trunk $TRUNK_VERSION: installed"
  else
    note "trunk $TRUNK_VERSION: installing with cargo (slow the first time)"
    cargo install trunk --version "$TRUNK_VERSION" --locked
  fi
}

# wasm-bindgen-cli must match the wasm-bindgen of Cargo.lock exactly; it
# brings wasm-bindgen-test-runner too. (--locked fails on this crate.)
ensure_wasm_bindgen() {
  local want
  want="$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' "$ROOT/Cargo.lock")"
  [ -n "$want" ] || die "no wasm-bindgen in Cargo.lock"
  if wasm-bindgen --version 2>/dev/null | grep -qx "wasm-bindgen $want" && command -v wasm-bindgen-test-runner >/dev/null; then
    note "wasm-bindgen-cli $want: installed"
  else
    note "wasm-bindgen-cli $want: installing with cargo"
    cargo install wasm-bindgen-cli --version "$want"
  fi
}

# Trunk would download wasm-opt from GitHub; the npm package binaryen has it.
# terser minifies the JS glue (Trunk.toml's post_build hook). One npm call
# installs both: a later `npm install --no-save` would drop the other.
ensure_wasm_opt() {
  if [ -x "$TOOLS_DIR/node_modules/.bin/wasm-opt" ] &&
    "$TOOLS_DIR/node_modules/.bin/wasm-opt" --version | grep -q "version_${BINARYEN_VERSION%%.*}" &&
    [ "$("$TOOLS_DIR/node_modules/.bin/terser" --version 2>/dev/null)" = "terser $TERSER_VERSION" ]; then
    note "wasm-opt (binaryen $BINARYEN_VERSION), terser $TERSER_VERSION: installed"
  else
    note "wasm-opt (binaryen $BINARYEN_VERSION), terser $TERSER_VERSION: installing with npm"
    mkdir -p "$TOOLS_DIR"
    npm install --prefix "$TOOLS_DIR" --no-audit --no-fund --no-save \
      "binaryen@$BINARYEN_VERSION" "terser@$TERSER_VERSION" >/dev/null
  fi
  export PATH="$TOOLS_DIR/node_modules/.bin:$PATH"
}

# The release bundle is built with build-std (page weight, see Trunk.toml),
# which needs a nightly toolchain and its rust-src; no wasm32 target: std is
# built from source. About 120 MB to download, 670 MB installed. Trunk builds
# offline, so the crates std depends on (rust-src's library/Cargo.lock) are
# fetched into cargo's cache once too.
ensure_nightly() {
  local library
  command -v rustup >/dev/null 2>&1 ||
    die "rustup is needed to install the Rust toolchain $NIGHTLY_TOOLCHAIN (the widget's release build)"
  if rustup run "$NIGHTLY_TOOLCHAIN" rustc --version >/dev/null 2>&1 &&
    rustup component list --toolchain "$NIGHTLY_TOOLCHAIN" --installed 2>/dev/null | grep -q '^rust-src'; then
    note "Rust toolchain $NIGHTLY_TOOLCHAIN with rust-src: installed"
  else
    note "Rust toolchain $NIGHTLY_TOOLCHAIN with rust-src: installing with rustup"
    rustup toolchain install "$NIGHTLY_TOOLCHAIN" --profile minimal --component rust-src
  fi
  library="$(rustup run "$NIGHTLY_TOOLCHAIN" rustc --print sysroot)/lib/rustlib/src/rust/library"
  if ! rustup run "$NIGHTLY_TOOLCHAIN" cargo fetch --locked --offline --manifest-path "$library/Cargo.toml" >/dev/null 2>&1; then
    note "crates of $NIGHTLY_TOOLCHAIN's std: fetching with cargo"
    rustup run "$NIGHTLY_TOOLCHAIN" cargo fetch --locked --manifest-path "$library/Cargo.toml"
  fi
}

ensure_widget_tools() {
  ensure_wasm_target
  ensure_nightly
  ensure_trunk
  ensure_wasm_bindgen
  ensure_wasm_opt
}

# A hash of everything the widget bundle is built from, this file included
# (the toolchain and the flags of build_widget).
widget_sources_hash() {
  (
    cd "$ROOT" || exit 1
    find src examples style loader crates/api index.html Trunk.toml Cargo.toml Cargo.lock scripts/lib.sh -type f -print0 | sort -z |
      xargs -0 sha256sum
  ) | sha256sum | cut -d' ' -f1
}

# Builds the widget into dist/ (bundle + loader) unless dist/ was built from
# the same sources already. The bundle is built on $NIGHTLY_TOOLCHAIN with
# build-std, panics that abort at once, no panic locations and no Debug
# formatting (why: Trunk.toml). It sets RUSTFLAGS for that build: a RUSTFLAGS
# of the caller's environment is replaced there, not added to, and a
# CARGO_ENCODED_RUSTFLAGS (which cargo would prefer) is unset.
build_widget() {
  local stamp="$ROOT/dist/.connect360-sources.sha256" want have=""
  want="$(widget_sources_hash)"
  [ -f "$stamp" ] && have="$(cat "$stamp")"
  if [ "$want" = "$have" ]; then
    note "widget bundle (dist/): up to date"
    return
  fi
  ensure_widget_tools
  note "widget bundle (dist/): trunk build --release --offline on $NIGHTLY_TOOLCHAIN with build-std"
  (
    cd "$ROOT" &&
      env -u CARGO_ENCODED_RUSTFLAGS \
        RUSTUP_TOOLCHAIN="$NIGHTLY_TOOLCHAIN" \
        CARGO_UNSTABLE_BUILD_STD=std,panic_abort \
        CARGO_UNSTABLE_BUILD_STD_FEATURES=optimize_for_size \
        RUSTFLAGS="-Zunstable-options -Cpanic=immediate-abort -Zlocation-detail=none -Zfmt-debug=none" \
        trunk build --release --offline
  )
  # The loader has a fixed name; the build fills in the widget's constants it
  # shares (src/loader.rs), the server the bundle's hashed names.
  # Minified as the JS glue is (names and whitespace only: the server's
  # placeholder stays as it is); without terser it is copied as it is.
  (cd "$ROOT" && cargo run --quiet --locked -p connect360-widget --example loader -- loader/widget.js) >"$ROOT/dist/widget.js.tmp"
  if [ -x "$TOOLS_DIR/node_modules/.bin/terser" ]; then
    "$TOOLS_DIR/node_modules/.bin/terser" "$ROOT/dist/widget.js.tmp" --mangle --output "$ROOT/dist/widget.js"
    rm "$ROOT/dist/widget.js.tmp"
  else
    mv "$ROOT/dist/widget.js.tmp" "$ROOT/dist/widget.js"
  fi
  compress_widget "$ROOT/dist"
  printf '%s\n' "$want" >"$stamp"
}

# The team inbox's sources: its own files, and what it shares (the widget's
# src, the wire types) and the toolchain's inputs.
inbox_sources_hash() {
  (
    cd "$ROOT" || exit 1
    find src crates/api crates/inbox/src crates/inbox/style crates/inbox/index.html crates/inbox/Trunk.toml \
      crates/inbox/Cargo.toml Cargo.toml Cargo.lock scripts/lib.sh -type f -print0 | sort -z | xargs -0 sha256sum
  ) | sha256sum | cut -d' ' -f1
}

# Builds the team inbox into crates/inbox/dist/ (served at /inbox) unless it
# was built from the same sources already: `trunk build --release --offline`
# on the default toolchain (no page weight budget of the widget's kind; its
# size: bench/RESULTS.md), then each file's .br and .gz beside it.
build_inbox() {
  local dist="$ROOT/crates/inbox/dist" want have=""
  want="$(inbox_sources_hash)"
  [ -f "$dist/.connect360-sources.sha256" ] && have="$(cat "$dist/.connect360-sources.sha256")"
  if [ "$want" = "$have" ]; then
    note "team inbox (crates/inbox/dist/): up to date"
    return
  fi
  ensure_wasm_target
  ensure_trunk
  ensure_wasm_bindgen
  ensure_wasm_opt
  note "team inbox (crates/inbox/dist/): trunk build --release --offline"
  (cd "$ROOT/crates/inbox" && env -u CARGO_ENCODED_RUSTFLAGS -u RUSTFLAGS trunk build --release --offline)
  compress_widget "$dist"
  printf '%s\n' "$want" >"$dist/.connect360-sources.sha256"
}

# Writes each bundle file's .br (quality 11, node's zlib) and .gz (gzip -9)
# beside it: the server sends the one a request accepts (tower-http's
# ServeFile), compressed once here rather than at every server start. The
# loader is filled in by the server, which compresses it per request.
compress_widget() {
  local dir="$1" f
  for f in "$dir"/*.js "$dir"/*.wasm "$dir"/*.css; do
    [ "$(basename "$f")" = widget.js ] && continue
    gzip -9 -n -k -f "$f"
    node -e '
      const fs = require("fs"), zlib = require("zlib"), file = process.argv[1], raw = fs.readFileSync(file);
      const c = zlib.constants;
      fs.writeFileSync(file + ".br", zlib.brotliCompressSync(raw, { params: {
        [c.BROTLI_PARAM_QUALITY]: 11, [c.BROTLI_PARAM_LGWIN]: 22, [c.BROTLI_PARAM_SIZE_HINT]: raw.length } }));
    ' "$f"
  done
}
