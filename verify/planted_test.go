package verify

import (
	"context"
	"strings"
	"testing"

	"github.com/forkgate/forkgate/chain"
)

// plant runs verify on one library chain with an ungated change planted in
// the chain (chain.Planted), and returns the chain's report and its text.
func plant(t *testing.T, name string, set func()) (*ChainReport, string) {
	t.Helper()
	c := libraryChain(t, name)
	set()
	defer func() { chain.Planted.Rules, chain.Planted.FeeOffByOne, chain.Planted.RejectCodes = nil, false, false }()
	defer func() { chain.Planted.Nondeterministic, chain.Planted.AccountFormat2 = false, false }()
	rep, err := Run(context.Background(), Options{Chains: []*Chain{c}, Heights: []int64{2}, Parallel: 2, WorkDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	rep.WriteText(&b)
	if rep.ExitCode != 1 || rep.Chains[0].Root == nil {
		t.Fatalf("exit %d, want 1 with a root diagnosis:\n%s", rep.ExitCode, b.String())
	}
	return rep.Chains[0], b.String()
}

// Each of the six rules the library's mixed load never exercised gets an
// ungated change planted: its fork check dropped (the new rule at every
// height) or, for the minimum fee, an off-by-one. On the future chain, where
// no fork is active, verify catches each at a recorded transaction of the
// rule's executor, with the advice for an ungated change (register a fork).
// Before the coverage workload every one of them passed verify.
func TestPlantedUngatedRulesAreCaught(t *testing.T) {
	for _, tc := range []struct {
		rule string
		exec string
		set  func()
	}{
		{"address checksum", "coins.transfer", func() { chain.Planted.Rules = map[string]bool{chain.ForkAddrChecksum.Key(): true} }},
		{"minimum fee", "coins.transfer", func() { chain.Planted.FeeOffByOne = true }},
		{"token symbol digits", "token.create", func() { chain.Planted.Rules = map[string]bool{chain.ForkTokenSymbolDigits.Key(): true} }},
		{"owner-only issue", "token.issue", func() { chain.Planted.Rules = map[string]bool{chain.ForkTokenOwnerIssue.Key(): true} }},
		{"no self-vote", "producers.vote", func() { chain.Planted.Rules = map[string]bool{chain.ForkNoSelfVote.Key(): true} }},
		{"one open proposal", "governance.propose", func() { chain.Planted.Rules = map[string]bool{chain.ForkGovOneOpenProposal.Key(): true} }},
	} {
		t.Run(tc.rule, func(t *testing.T) {
			cr, text := plant(t, "future", tc.set)
			d := cr.Root
			if d.Kind != "state-hash" || d.Tx == nil || d.Tx.Exec+"."+d.Tx.Action != tc.exec || d.Tx.RecordedCode == d.Tx.Code {
				t.Fatalf("root diagnosis names %+v, want a %s whose code changed\n%s", d.Tx, tc.exec, text)
			}
			if !strings.Contains(d.Advice, "no fork gates the change") || !strings.Contains(d.Advice, "the config is unchanged") || strings.Contains(d.Advice, "restore") {
				t.Errorf("advice: %s", d.Advice)
			}
			if strings.Count(text, "the root diagnosis") != 1 {
				t.Errorf("want one root diagnosis for the chain:\n%s", text)
			}
		})
	}
}

// The same rules with the new rule never switched on (the old one at every
// height): on para-alpha, whose forks activate at 6 and 30 inside the
// recording, verify stops at exactly the fork's activation height and says
// that the fork's own rule behaves differently there, naming the fork and
// its executor, without suggesting a config change (the config is
// unchanged).
func TestPlantedRuleAtActivationHeight(t *testing.T) {
	for _, tc := range []struct {
		fork   string
		height int64
	}{
		{chain.ForkAddrChecksum.Key(), 6},
		{chain.ForkTokenSymbolDigits.Key(), 6},
		{chain.ForkNoSelfVote.Key(), 6},
		{chain.ForkTokenOwnerIssue.Key(), 30},
		{chain.ForkGovOneOpenProposal.Key(), 30},
	} {
		t.Run(tc.fork, func(t *testing.T) {
			cr, text := plant(t, "para-alpha", func() { chain.Planted.Rules = map[string]bool{tc.fork: false} })
			d := cr.Root
			exec, _, _ := strings.Cut(tc.fork, ".")
			if d.Height != tc.height || d.Tx == nil || d.Tx.Exec != exec {
				t.Fatalf("root at %d (tx %+v), want %d in %s\n%s", d.Height, d.Tx, tc.height, exec, text)
			}
			for _, want := range []string{"where " + tc.fork, "executor " + exec, "the config is unchanged", "rule of the fork itself"} {
				if !strings.Contains(d.Advice, want) {
					t.Errorf("advice lacks %q: %s", want, d.Advice)
				}
			}
			if strings.Contains(d.Advice, "restore") || strings.Contains(d.Advice, "height in the config") {
				t.Errorf("advice suggests a config change: %s", d.Advice)
			}
		})
	}
}

// A change of results only (every rejection reported as CodeExec): the
// state hashes all match, the receipts do not, and verify reports it at the
// first rejected transaction as a results divergence, with LastResultsHash.
func TestPlantedReceiptOnlyChangeIsCaught(t *testing.T) {
	cr, text := plant(t, "main", func() { chain.Planted.RejectCodes = true })
	d := cr.Root
	if d.Kind != "results" || d.Tx == nil || d.Tx.Code != chain.CodeExec || d.Tx.RecordedCode == chain.CodeExec || len(d.Keys) != 0 {
		t.Fatalf("root: kind %s, tx %+v, %d keys\n%s", d.Kind, d.Tx, len(d.Keys), text)
	}
	if !strings.Contains(d.Results, "code") || !strings.Contains(d.Advice, "LastResultsHash") {
		t.Errorf("results %q, advice %q", d.Results, d.Advice)
	}
}

// A nondeterministic build (a transfer credits a random extra) is named as
// such: the divergent block executed twice gives two results.
func TestPlantedNondeterminismIsNamed(t *testing.T) {
	cr, text := plant(t, "all-zero", func() { chain.Planted.Nondeterministic = true })
	d := cr.Root
	if d.Kind != "nondeterministic" || len(d.Runs) != 2 || d.Runs[0] == d.Runs[1] || !strings.Contains(d.Advice, "nondeterministic build") {
		t.Fatalf("root: %+v\n%s", d, text)
	}
	if !strings.Contains(text, "run 1:") || !strings.Contains(text, "run 2:") {
		t.Errorf("text lacks both runs:\n%s", text)
	}
}

// An encoding change of accounts (format byte 2, same fields) first shows in
// the genesis state: verify names the genesis, not block 1, and says that
// only the bytes differ.
func TestPlantedEncodingChangeInGenesis(t *testing.T) {
	cr, text := plant(t, "main", func() { chain.Planted.AccountFormat2 = true })
	d := cr.Root
	if d.Kind != "genesis" || d.Height != 0 || !d.EncodingOnly || len(d.Keys) == 0 || !strings.HasPrefix(d.Keys[0].Key, "acct/") {
		t.Fatalf("root: kind %s, height %d, encoding only %v, keys %d\n%s", d.Kind, d.Height, d.EncodingOnly, len(d.Keys), text)
	}
	for _, want := range []string{"the genesis state differs", "encoding change", "only the bytes differ"} {
		if !strings.Contains(text, want) {
			t.Errorf("text lacks %q:\n%s", want, text)
		}
	}
}
