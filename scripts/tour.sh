#!/usr/bin/env bash
# make tour: walk the commands on the example chains.
# Every step is a real forkgate command; the script stops at the first
# unexpected exit code.
set -euo pipefail
fg=${1:-bin/forkgate}
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

step() { printf '\n== %s\n$ %s\n' "$1" "${*:2}"; "${@:2}"; }

step "lint the main chain and two parallel chains against the registry" \
  "$fg" config lint --registry examples/registry/sample-chain.toml --parent examples/chains/main.toml \
  examples/chains/main.toml examples/chains/para-a.toml examples/chains/para-b.toml

step "which rules apply at height 120000 on the main chain" \
  "$fg" config show examples/chains/main.toml --height 120000

cp examples/chains/main.toml "$work/main.toml"
step "reschedule a future fork, with a note and a change-record entry" \
  "$fg" config set "$work/main.toml" ForkTxHeight 300000 \
  --note "Read Expire as a height window from 300000, agreed with the producers."

step "what the upgrade changes" "$fg" config diff examples/chains/main.toml "$work/main.toml"

step "fork ID before and after (EIP-2124)" \
  "$fg" forkid --genesis "$(printf '%064d' 0)" --at 130000 --config "$work/main.toml"

echo
echo "== a Chain33 config without notes or change record (lint finds them; exit 1 expected)"
if "$fg" config lint forkfile/testdata/chain33.para.toml; then
  echo "expected findings" >&2; exit 1
fi

if [ -d examples/signal ] && "$fg" signal --help >/dev/null 2>&1; then
  for s in examples/signal/*.toml; do
    step "version signalling: $(basename "$s")" "$fg" signal simulate "$s"
  done
fi
printf '\n== %s\n$ %s\n' "a devnet whose producers upgrade to version 2; its fork switches on (last lines)" \
  "$fg devnet --producers 4 --upgrade-at 20 --blocks 60"
"$fg" devnet --producers 4 --upgrade-at 20 --blocks 60 --http off | tail -4

echo
echo "demo finished: every step behaved as expected"
