#!/usr/bin/env bash
# make release-demo: the release path of an upgrade, end to end, on this
# source tree. Two signed, reproducible releases (an "old" 0.1.0 capped at
# protocol version 1, and 0.2.0 classified against it), published to a
# file:// artifact store; upgrade documents for three library chains (a
# main chain, a parallel chain following its parent's heights, and one
# with forks far in the future); then an operator fetches 0.2.0 and runs
# the ops check on a node home of the main chain: the wrong binary and the
# missing fork item are named, then fixed, then everything matches.
# Every step is a real forkgate command; the script stops at the first
# unexpected exit code.
set -euo pipefail
fg=${1:-bin/forkgate}
dir=${2:-out/release-demo}
cd "$(dirname "$0")/.."
rm -rf "$dir"
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
fg=$(cd "$(dirname "$fg")" && pwd)/$(basename "$fg")

step() { printf '\n== %s\n$ %s\n' "$1" "${*:2}"; "${@:2}"; }
# expect CODE TITLE CMD...: a step whose exit code is CODE (a finding).
expect() {
  local code=$1 title=$2
  shift 2
  printf '\n== %s (exit %s expected)\n$ %s\n' "$title" "$code" "$*"
  set +e
  "$@"
  local got=$?
  set -e
  if [ "$got" != "$code" ]; then echo "release-demo: exit $got, expected $code" >&2; exit 1; fi
}

# The demo builds from the work tree as it is (--allow-dirty); a release
# for real comes from a clean commit.
cat >"$dir/notes-0.2.0.md" <<'EOF'
forkgate 0.2.0 implements protocol version 2: once the producers adopt it,
game winners get 98% of the pot (game.ForkGamePayoutV2). Each chain also
schedules the candidate bond of [mver.producers.ForkMinBondV2] at a height
of its own.
EOF
echo "forkgate 0.1.0: the release the chains run today." >"$dir/notes-0.1.0.md"

step "a release key (minisign)" "$fg" release keygen --out "$dir/release"
step "the old release: this tree capped at protocol version 1" \
  "$fg" release build --version 0.1.0 --implemented 1 --allow-dirty \
  --notes "$dir/notes-0.1.0.md" --sign "$dir/release.key" --out "$dir/releases/0.1.0"
step "the new release, classified against the old one and verified on the library" \
  "$fg" release build --version 0.2.0 --previous "$dir/releases/0.1.0" --verify --allow-dirty \
  --notes "$dir/notes-0.2.0.md" --sign "$dir/release.key" --out "$dir/releases/0.2.0"
step "publish both to the artifact store (immutable objects, read back)" \
  "$fg" release publish "$dir/releases/0.1.0" --store "file://$dir/store" --pubkey "$dir/release.pub"
"$fg" release publish "$dir/releases/0.2.0" --store "file://$dir/store" --pubkey "$dir/release.pub"
step "publishing again is a no-op" \
  "$fg" release publish "$dir/releases/0.2.0" --store "file://$dir/store"

step "one upgrade document per chain, heights computed and checked per chain" \
  "$fg" upgrade doc --release "$dir/releases/0.2.0" --pubkey "$dir/release.pub" \
  --chain testdata/chains/main/config.toml --base upgradedoc/testdata/base/main.toml --head 30 --parent-head - \
  --chain testdata/chains/para-beta/config.toml --base upgradedoc/testdata/base/para-beta.toml --head 10 --parent-head 14 \
  --chain testdata/chains/future/config.toml --base upgradedoc/testdata/base/future.toml --head 100 --parent-head - \
  --parent testdata/chains/main/config.toml --out "$dir/docs"
doc="$dir/docs/UPGRADE-0.2.0-forkgate.library.main.json"

step "the operator fetches 0.2.0: signature, checksum, the binary's own version" \
  "$fg" release fetch "file://$dir/store/0.2.0" --pubkey "$dir/release.pub" --out "$dir/operator/forkgate-0.2.0"
step "a node of the main chain, still on the old config" \
  "$fg" node init "$dir/operator/home" --config upgradedoc/testdata/base/main.toml --chain-id forkgate-main

expect 1 "ops check with the old release: the wrong binary is named" \
  "$fg" ops check --doc "$doc" --binary "$dir/releases/0.1.0"
expect 1 "ops check on the home: the missing fork item is named" \
  "$fg" ops check --doc "$doc" --home "$dir/operator/home" --binary "$dir/operator/forkgate-0.2.0"
step "configure the suggested height" \
  "$fg" config set "$dir/operator/home/config.toml" producers.ForkMinBondV2 44 \
  --note "Take the candidate bond from [mver.producers.ForkMinBondV2] minBond: height 44 on this chain, per the upgrade document." --date 2026-12-01
cat >>"$dir/operator/home/config.toml" <<'EOF'

[mver.producers.ForkMinBondV2]
minBond = 2000
EOF
step "ops check again: the binary and the home match the document" \
  "$fg" ops check --doc "$doc" --home "$dir/operator/home" --binary "$dir/operator/forkgate-0.2.0"

printf '\nrelease-demo: releases in %s/releases, store in %s/store, documents in %s/docs\n' "$dir" "$dir" "$dir"
ls "$dir/docs"
