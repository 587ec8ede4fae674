// Package rehearsal rehearses a whole network upgrade on the embedded
// default, the way forkgate's users run one for real:
//
//  1. a devnet of producers running the old release (protocol version 1)
//     whose operators upgrade one by one, each at its own height, so their
//     blocks start signalling version 2;
//  2. the old release halts exactly where version 2 activates, naming the
//     release to install;
//  3. the validator's node is upgraded smoothly: the new release continues on
//     the same data, version 2 passes and its fork switches on;
//  4. a second node syncs fresh from genesis with the new release;
//  5. upgrade verification replays the chain as recorded and confirms
//     identical state hashes at every height, and the report is written.
//
// The "old release" is this build limited to protocol version 1
// (node.Options.Implemented = 1): it runs the same code for version 1 and
// halts where a real old binary would have to.
package rehearsal

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/forkgate/forkgate/chain"
	"github.com/forkgate/forkgate/node"
	"github.com/forkgate/forkgate/verify"
)

// Options configure Run.
type Options struct {
	Dir       string    // work directory; created if missing
	Out       io.Writer // the narrative
	Producers int       // default 4
	Blocks    int64     // chain length; default 80
	// UpgradeAt is the height the first producer upgrades at; the others
	// follow every UpgradeStep blocks. Defaults 20 and 3.
	UpgradeAt, UpgradeStep int64
	// SkipVerify leaves out step 5 (for quick tests).
	SkipVerify bool
}

// Result is what the rehearsal established.
type Result struct {
	HaltHeight     int64  `json:"halt_height"`      // the old release stopped before this block
	HaltMessage    string `json:"halt_message"`     // what it said
	Activation     int64  `json:"activation"`       // version 2 active from this height
	ForkHeight     int64  `json:"fork_height"`      // game.ForkGamePayoutV2 switched on here
	Height         int64  `json:"height"`           // final height of both nodes
	StateHash      string `json:"state_hash"`       // final state hash (equal on both)
	FreshSyncEqual bool   `json:"fresh_sync_equal"` // the fresh node matched at every height
	VerifyOK       bool   `json:"verify_ok"`
	VerifySummary  string `json:"verify_summary,omitempty"`
	Report         string `json:"report,omitempty"`
}

// Run rehearses the upgrade in o.Dir.
func Run(ctx context.Context, o Options) (*Result, error) {
	if o.Producers == 0 {
		o.Producers = 4
	}
	if o.Blocks == 0 {
		o.Blocks = 80
	}
	if o.UpgradeAt == 0 {
		o.UpgradeAt = 20
	}
	if o.UpgradeStep == 0 {
		o.UpgradeStep = 3
	}
	if o.Out == nil {
		o.Out = io.Discard
	}
	if err := os.MkdirAll(o.Dir, 0o755); err != nil {
		return nil, err
	}
	say := func(format string, args ...any) { fmt.Fprintf(o.Out, format+"\n", args...) }
	res := &Result{}

	// 1. The network: producers p1..pN upgrade at staggered heights.
	validator := filepath.Join(o.Dir, "validator")
	var table strings.Builder
	for i := 1; i <= o.Producers; i++ {
		at := o.UpgradeAt + int64(i-1)*o.UpgradeStep
		fmt.Fprintf(&table, "[node.producer.p%d]\nupgrade_height = %d\nupgrade_version = 2\n", i, at)
	}
	if err := node.Init(validator, node.InitOptions{Producers: o.Producers, NodeTable: table.String()}); err != nil {
		return nil, fmt.Errorf("init %s: %w (remove it, or give another --dir)", validator, err)
	}
	say("== 1. a devnet of %d producers on the old release (protocol version 1)", o.Producers)
	say("   producers upgrade their software at heights %d, %d, … and then signal version 2", o.UpgradeAt, o.UpgradeAt+o.UpgradeStep)

	// 2. The old release runs until it must stop.
	old, err := node.Open(validator, node.Options{Implemented: 1, Log: io.Discard})
	if err != nil {
		return nil, err
	}
	err = old.Run(ctx, node.RunOptions{Until: o.Blocks})
	res.HaltHeight = old.Height() + 1
	old.Close()
	if !node.IsHalt(err) {
		if err == nil {
			return nil, fmt.Errorf("the old release reached height %d without halting: version 2 never activated; give more --blocks", o.Blocks)
		}
		return nil, err
	}
	res.HaltMessage = err.Error()
	say("== 2. the old release halts at the activation height, before executing it")
	say("   %s", res.HaltMessage)

	// 3. Smooth upgrade: the new release on the same data.
	upgraded, err := node.Open(validator, node.Options{Log: io.Discard})
	if err != nil {
		return nil, fmt.Errorf("smooth upgrade: %w", err)
	}
	defer upgraded.Close()
	if err := upgraded.Run(ctx, node.RunOptions{Until: o.Blocks}); err != nil {
		return nil, fmt.Errorf("smooth upgrade: %w", err)
	}
	st, err := upgraded.Status()
	if err != nil {
		return nil, err
	}
	res.Activation, res.ForkHeight = -1, -1
	if h, ok := upgraded.App().Signal().ActivationHeight(2); ok {
		res.Activation = h
	}
	for _, f := range st.Forks.All {
		if f.Key == chain.ForkGamePayoutV2.Key() && f.Active {
			res.ForkHeight = f.Height
		}
	}
	res.Height, res.StateHash = st.Height, st.StateHash
	say("== 3. the validator upgrades smoothly: the new release continues on the same data")
	say("   version 2 active from height %d; game.ForkGamePayoutV2 switched on at %d; height %d, state hash %s",
		res.Activation, res.ForkHeight, res.Height, short(res.StateHash))
	if res.Activation < 0 || res.ForkHeight != res.Activation {
		return res, errors.New("version 2 did not activate with its fork; see the status above")
	}

	// 4. Fresh sync: a new node replays every block with the new release.
	blocks := filepath.Join(o.Dir, "chain.blocks")
	if err := exportTo(upgraded, blocks); err != nil {
		return nil, err
	}
	fresh := filepath.Join(o.Dir, "fresh")
	if err := cloneHome(validator, fresh); err != nil {
		return nil, err
	}
	fn, err := node.Open(fresh, node.Options{Log: io.Discard})
	if err != nil {
		return nil, err
	}
	ir, err := fn.Import(blocks, node.ImportOptions{})
	fn.Close()
	if err != nil {
		return nil, fmt.Errorf("fresh sync: %w", err)
	}
	res.FreshSyncEqual = fmt.Sprintf("%x", ir.AppHash) == res.StateHash && ir.Height == res.Height
	say("== 4. a second node syncs fresh from genesis with the new release")
	say("   %d blocks replayed, every state hash equal to the upgraded node's: %v", ir.Applied, res.FreshSyncEqual)
	if !res.FreshSyncEqual {
		return res, fmt.Errorf("fresh sync ended at %d with %x, the upgraded node at %d with %s", ir.Height, ir.AppHash, res.Height, res.StateHash)
	}

	// 5. Upgrade verification and its report.
	if !o.SkipVerify {
		res.Report = filepath.Join(o.Dir, "report.md")
		ok, summary, err := verifyRehearsal(ctx, o, validator, res)
		if err != nil {
			return res, fmt.Errorf("verify: %w", err)
		}
		res.VerifyOK, res.VerifySummary = ok, summary
		say("== 5. upgrade verification (new upgrade, smooth upgrades around the fork, past the forks)")
		say("   %s", summary)
		say("   report: %s", res.Report)
		if !ok {
			return res, errors.New("verification found a mismatch; see the report")
		}
	}
	return res, nil
}

func short(h string) string {
	if len(h) > 12 {
		return h[:12] + "…"
	}
	return h
}

func exportTo(n *node.Node, path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := n.Export(f, 0, 0); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// cloneHome makes a fresh home for the same chain: config, genesis and keys,
// and no data.
func cloneHome(from, to string) error {
	for _, p := range []string{"config.toml", "genesis.json"} {
		b, err := os.ReadFile(filepath.Join(from, p))
		if err != nil {
			return err
		}
		if err := os.MkdirAll(to, 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(to, p), b, 0o644); err != nil {
			return err
		}
	}
	keys, err := os.ReadDir(filepath.Join(from, "keys"))
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(to, "keys"), 0o700); err != nil {
		return err
	}
	for _, k := range keys {
		b, err := os.ReadFile(filepath.Join(from, "keys", k.Name()))
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(to, "keys", k.Name()), b, 0o600); err != nil {
			return err
		}
	}
	return os.MkdirAll(filepath.Join(to, "data"), 0o755)
}

// verifyRehearsal turns the rehearsed chain into a library chain, records
// its fixture with this build (which must end at the validator's state
// hash, so the fixture is the rehearsed chain), and runs upgrade
// verification on it, writing the Markdown report.
func verifyRehearsal(ctx context.Context, o Options, validator string, res *Result) (bool, string, error) {
	dir := filepath.Join(o.Dir, "library", "rehearsal")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return false, "", err
	}
	cfg, err := os.ReadFile(node.Home(validator).Config())
	if err != nil {
		return false, "", err
	}
	g, err := chain.LoadGenesis(node.Home(validator).Genesis())
	if err != nil {
		return false, "", err
	}
	lib := fmt.Sprintf("\n# What verify needs to make this chain's genesis again.\n[library]\nchain_id = %q\nproducers = %d\naccounts = %d\nseed = %q\nmaintenance_interval = %d\ngenesis_time = %d\nblocks = %d\n",
		g.ChainID, o.Producers, node.DefaultAccounts, node.DefaultSeed, g.MaintenanceInterval, g.Time, res.Height)
	if err := os.WriteFile(filepath.Join(dir, verify.ConfigFile), append(cfg, lib...), 0o644); err != nil {
		return false, "", err
	}
	c, err := verify.LoadChain(dir)
	if err != nil {
		return false, "", err
	}
	f, err := verify.Record(c, verify.RecordOptions{})
	if err != nil {
		return false, "", err
	}
	if got := fmt.Sprintf("%x", f.Root(res.Height)); got != res.StateHash {
		return false, "", fmt.Errorf("the recording ends at state hash %s, the rehearsed chain at %s", got, res.StateHash)
	}
	if err := f.WriteFile(c.FixturePath()); err != nil {
		return false, "", err
	}
	rep, err := verify.Run(ctx, verify.Options{Chains: []*verify.Chain{c}, WorkDir: filepath.Join(o.Dir, "verify-work")})
	if err != nil {
		return false, "", err
	}
	out, err := os.Create(res.Report)
	if err != nil {
		return false, "", err
	}
	rep.WriteMarkdown(out)
	if err := out.Close(); err != nil {
		return false, "", err
	}
	var scenarios, compared int
	for _, cr := range rep.Chains {
		for _, s := range cr.Scenarios {
			scenarios++
			compared += s.Compared
		}
	}
	summary := fmt.Sprintf("%s: %d scenarios, %d state hashes compared, %d blocks executed in %.1f s",
		strings.ToUpper(rep.Result), scenarios, compared, rep.Blocks, rep.Seconds)
	return rep.ExitCode == 0, summary, nil
}
