#!/usr/bin/env bash
# Install the real coding-agent CLIs that the e2e tests drive ("peers") into a
# project-local folder <repo>/.peers (gitignored, never global).
#
#   scripts/install-peers.sh            # install / verify pinned versions
#   PEERS_DIR=/some/dir scripts/install-peers.sh
#
# Idempotent: a package whose pinned version is already installed (and whose
# binary runs) is skipped, so a second run takes well under a second or two.
# A failing install prints
#   install-peers: could not install <pkg>: <reason>
# and the script goes on; it always exits 0. Tests that need a missing peer skip
# with "SKIPPED-PEER: ..." (see tests/e2e/peers.py).
#
# Stable binary paths: <repo>/.peers/bin/<name> are symlinks to a binary that
# was seen to run (for opencode this falls back to the native executable in
# node_modules/opencode-linux-x64/bin/ when npm did not run the postinstall
# that makes node_modules/.bin/opencode usable).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PEERS="${PEERS_DIR:-$REPO/.peers}"
NM="$PEERS/node_modules"
BIN="$PEERS/bin"

# package  version  cli-name (or "-" for libraries)
PINS=(
  "opencode-ai                1.18.33  opencode"
  "@google/gemini-cli         0.61.0   gemini"
  "@agentclientprotocol/sdk   2.4.0    -"
  "@openai/codex              0.169.0  codex"
  "@mariozechner/pi-coding-agent 0.73.1 pi"
  "@anthropic-ai/claude-code  2.1.197  claude"
  "@modelcontextprotocol/sdk  1.32.2   -"
)

log() { printf 'install-peers: %s\n' "$*"; }
warn() { printf 'install-peers: %s\n' "$*" >&2; }

# Installed version of a package according to its package.json ("" if absent).
installed_version() {
  local pj="$NM/$1/package.json"
  [[ -f "$pj" ]] || return 0
  node -e 'try{process.stdout.write(require(process.argv[1]).version||"")}catch(e){}' "$pj" 2>/dev/null || true
}

# Print the first candidate binary for CLI $1 whose `--version` mentions $2.
working_binary() {
  local name="$1" want="$2" cand out
  local -a cands=("$NM/.bin/$name")
  if [[ "$name" == opencode ]]; then
    cands+=("$NM/opencode-linux-x64/bin/opencode"
            "$NM/opencode-linux-x64-baseline/bin/opencode"
            "$NM/opencode-ai/bin/opencode.exe")
  fi
  for cand in "${cands[@]}"; do
    [[ -x "$cand" ]] || continue
    out="$(cd "$PEERS" && timeout 60 env GEMINI_CLI_NO_RELAUNCH=true \
           OPENCODE_DISABLE_AUTOUPDATE=1 "$cand" --version </dev/null 2>&1 || true)"
    if [[ "$out" == *"$want"* ]]; then
      printf '%s\n' "$cand"
      return 0
    fi
  done
  return 1
}

link_binary() {
  local name="$1" target="$2"
  mkdir -p "$BIN"
  # Relative link (bin/ and node_modules/ are siblings), so the tree can move.
  ln -sfn "../node_modules/${target#"$NM"/}" "$BIN/$name"
}

is_ok() {
  local pkg="$1" ver="$2" cli="$3" b
  [[ "$(installed_version "$pkg")" == "$ver" ]] || return 1
  [[ "$cli" == "-" ]] && return 0
  b="$(working_binary "$cli" "$ver")" || return 1
  link_binary "$cli" "$b"
}

main() {
  if ! command -v npm >/dev/null 2>&1 || ! command -v node >/dev/null 2>&1; then
    warn "could not install any peer: node/npm not found on PATH"
    exit 0
  fi
  mkdir -p "$PEERS"
  [[ -f "$PEERS/package.json" ]] || printf '{\n  "name": "avenor-peers",\n  "private": true\n}\n' >"$PEERS/package.json"

  local line pkg ver cli errlog start
  for line in "${PINS[@]}"; do
    read -r pkg ver cli <<<"$line"
    if is_ok "$pkg" "$ver" "$cli"; then
      log "$pkg@$ver already installed"
      continue
    fi
    log "installing $pkg@$ver into $PEERS ..."
    start=$SECONDS
    errlog="$(mktemp)"
    if ! npm install --prefix "$PEERS" --no-audit --no-fund --save-exact \
           "$pkg@$ver" >"$errlog" 2>&1; then
      warn "could not install $pkg: npm install failed: $(grep -m1 -iE 'npm (err|error)' "$errlog" || tail -n1 "$errlog")"
      rm -f "$errlog"
      continue
    fi
    rm -f "$errlog"
    if is_ok "$pkg" "$ver" "$cli"; then
      log "$pkg@$ver installed in $((SECONDS - start)) s"
    elif [[ "$(installed_version "$pkg")" != "$ver" ]]; then
      warn "could not install $pkg: found version '$(installed_version "$pkg")' after install, wanted $ver"
    else
      warn "could not install $pkg: '$cli --version' did not print $ver"
    fi
  done
}

main "$@"
exit 0
