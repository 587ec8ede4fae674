// Package devnet rehearses a network-wide version upgrade in one process: a
// solo node (package node) whose producers switch the version they signal at
// heights of their own, with the transaction source busy, progress printed
// per block and the status API served meanwhile.
package devnet

import (
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/forkgate/forkgate/node"
	"github.com/forkgate/forkgate/nodestatus"
)

// Options configure Run. Zero values take the defaults.
type Options struct {
	Home      string // "": a temporary home, removed at the end unless Keep
	Keep      bool
	Producers int   // default 4
	Blocks    int64 // default 60
	// Every producer signals UpgradeVersion from UpgradeAt (0: never) unless
	// ProducerUpgrades names it (name -> height, 0: never).
	UpgradeAt        int64
	UpgradeVersion   uint32 // default 2
	ProducerUpgrades map[string]int64
	TxsPerBlock      int    // default 16
	Workload         string // transaction source; default "mixed" (every executor busy)
	Seed             string // default DefaultSeed
	HTTP             string // status API address; "" = 127.0.0.1:0, "off" = none
	Pace             time.Duration
	Every            int64     // progress line every N blocks (default 1)
	Out              io.Writer // progress; nil: none
	Node             node.Options
	// OnServe is called with the status API address once it listens.
	OnServe func(addr string)
}

// Result summarises a devnet run.
type Result struct {
	Home       string                   `json:"home,omitempty"` // empty when the temporary home was removed
	HTTP       string                   `json:"-"`              // the status API served during the run
	Height     int64                    `json:"height"`
	StateHash  string                   `json:"state_hash"`
	Blocks     int64                    `json:"blocks"`
	Txs        int64                    `json:"txs"`
	OK         int64                    `json:"ok"`
	Failed     int64                    `json:"failed"`
	Duration   time.Duration            `json:"duration_ns"`
	BlocksPerS float64                  `json:"blocks_per_second"`
	TxsPerS    float64                  `json:"txs_per_second"`
	Versions   []nodestatus.VersionInfo `json:"versions"`
	// SwitchedOn lists the forks that switched on during the run, with the
	// height each is active from.
	SwitchedOn []nodestatus.ForkInfo `json:"switched_on"`
}

// DefaultBlocks is how long a devnet runs by default: long enough for
// producers upgrading at the default heights to activate version 2.
const DefaultBlocks = 60

// devnetNodeTable renders the [node.producer.*] tables of a devnet.
func devnetNodeTable(o Options) string {
	var b strings.Builder
	names := make([]string, 0, o.Producers)
	for i := 1; i <= o.Producers; i++ {
		names = append(names, fmt.Sprintf("p%d", i))
	}
	for _, name := range names {
		h := o.UpgradeAt
		if ph, ok := o.ProducerUpgrades[name]; ok {
			h = ph
		}
		fmt.Fprintf(&b, "[node.producer.%s]\nupgrade_height = %d\nupgrade_version = %d\n", name, h, o.UpgradeVersion)
	}
	return b.String()
}

// Run starts a solo node with N producers in round-robin slots, each with
// its own upgrade height, runs blocks with the transaction source busy,
// prints progress, serves the status API, and stops after Blocks blocks.
// With an existing Home it continues that chain.
func Run(ctx context.Context, o Options) (res *Result, err error) {
	if o.Producers == 0 {
		o.Producers = node.DefaultProducers
	}
	if o.Blocks == 0 {
		o.Blocks = DefaultBlocks
	}
	if o.UpgradeVersion == 0 {
		o.UpgradeVersion = 2
	}
	if o.TxsPerBlock == 0 {
		o.TxsPerBlock = 16
	}
	if o.Workload == "" {
		o.Workload = "mixed"
	}
	if o.Every <= 0 {
		o.Every = 1
	}
	out := o.Out
	if out == nil {
		out = io.Discard
	}
	for name := range o.ProducerUpgrades {
		var i int
		if _, err := fmt.Sscanf(name, "p%d", &i); err != nil || i < 1 || i > o.Producers || fmt.Sprintf("p%d", i) != name {
			return nil, fmt.Errorf("producer %q: devnet producers are p1..p%d", name, o.Producers)
		}
	}
	home := o.Home
	if home == "" {
		dir, err := os.MkdirTemp("", "forkgate-devnet-")
		if err != nil {
			return nil, err
		}
		home = dir + "/home"
		if !o.Keep {
			defer os.RemoveAll(dir)
			defer func() {
				if res != nil {
					res.Home = ""
				}
			}()
		}
	}
	if _, err := os.Stat(node.Home(home).Config()); err != nil {
		io := node.InitOptions{Producers: o.Producers, Seed: o.Seed, NodeTable: devnetNodeTable(o),
			NodeKeys: map[string]string{"txs_per_block": fmt.Sprint(o.TxsPerBlock), "workload": fmt.Sprintf("%q", o.Workload)}}
		if err := node.Init(home, io); err != nil {
			return nil, err
		}
		fmt.Fprintf(out, "devnet: initialised %s with %d producers\n", home, o.Producers)
	} else {
		fmt.Fprintf(out, "devnet: continuing the chain in %s\n", home)
	}
	opts := o.Node
	if opts.Log == nil {
		opts.Log = out
	}
	n, err := node.Open(home, opts)
	if err != nil {
		return nil, err
	}
	defer n.Close()
	res = &Result{Home: home, SwitchedOn: []nodestatus.ForkInfo{}}
	if o.HTTP != "off" {
		addr := o.HTTP
		if addr == "" {
			addr = "127.0.0.1:0"
		}
		srv, err := n.ServeHTTP(addr)
		if err != nil {
			return nil, err
		}
		defer srv.Close()
		res.HTTP = srv.Addr()
		fmt.Fprintf(out, "devnet: status API on http://%s/status\n", srv.Addr())
		if o.OnServe != nil {
			o.OnServe(srv.Addr())
		}
	}
	var plan []string
	for i := 1; i <= o.Producers; i++ {
		name := fmt.Sprintf("p%d", i)
		s := n.Config().Node.SignallingFor(name)
		if s.UpgradeHeight > 0 {
			plan = append(plan, fmt.Sprintf("%s v%d→v%d at %d", name, s.Version, s.UpgradeVersion, s.UpgradeHeight))
		} else {
			plan = append(plan, fmt.Sprintf("%s v%d", name, s.Version))
		}
	}
	fmt.Fprintf(out, "devnet: producers %s; running %d blocks from height %d\n", strings.Join(plan, ", "), o.Blocks, n.Height())

	startHeight := n.Height()
	began := time.Now()
	err = n.Run(ctx, node.RunOptions{Blocks: o.Blocks, Pace: o.Pace, OnBlock: func(r node.BlockReport) {
		res.Blocks++
		res.Txs += int64(r.Txs)
		res.OK += int64(r.OK)
		res.Failed += int64(r.Failed)
		if r.Height%o.Every == 0 {
			fmt.Fprintf(out, "height %5d  hash %s  proposer %-3s v%d  txs %3d ok %3d failed %3d  %s\n",
				r.Height, shortHash(r.AppHash), r.ProposerName, r.Version, r.Txs, r.OK, r.Failed, versionLine(n))
		}
	}})
	res.Duration = time.Since(began)
	if err != nil {
		return res, err
	}
	st, err := n.Status()
	if err != nil {
		return res, err
	}
	res.Height, res.StateHash, res.Versions = st.Height, st.StateHash, st.Versions
	for _, f := range st.Forks.All {
		if f.Active && f.Height > startHeight {
			res.SwitchedOn = append(res.SwitchedOn, f)
		}
	}
	sort.SliceStable(res.SwitchedOn, func(i, j int) bool { return res.SwitchedOn[i].Height < res.SwitchedOn[j].Height })
	if s := res.Duration.Seconds(); s > 0 {
		res.BlocksPerS = float64(res.Blocks) / s
		res.TxsPerS = float64(res.Txs) / s
	}
	fmt.Fprintf(out, "devnet: height %d, state hash %s; %d blocks, %d txs (%d ok, %d failed) in %s: %.0f blocks/s, %.0f tx/s\n",
		res.Height, res.StateHash, res.Blocks, res.Txs, res.OK, res.Failed, res.Duration.Round(time.Millisecond), res.BlocksPerS, res.TxsPerS)
	for _, v := range res.Versions {
		if v.ActivationHeight >= 0 {
			fmt.Fprintf(out, "devnet: version %d active from height %d; forks switched on with it: %s\n", v.Version, v.ActivationHeight, strings.Join(v.Forks, ", "))
		} else {
			fmt.Fprintf(out, "devnet: version %d is %s (not active yet)\n", v.Version, v.State)
		}
	}
	return res, nil
}

// versionLine is the signal state of every declared version, e.g.
// "v2 started 2/4 (need 3)".
func versionLine(n *node.Node) string {
	st, err := n.Status()
	if err != nil {
		return err.Error()
	}
	vs := st.Signal.Versions
	parts := make([]string, 0, len(vs))
	sort.Slice(vs, func(i, j int) bool { return vs[i].Version < vs[j].Version })
	for _, v := range vs {
		switch v.State {
		case "active":
			parts = append(parts, fmt.Sprintf("v%d active since %d", v.Version, v.SinceHeight))
		case "locked_in":
			parts = append(parts, fmt.Sprintf("v%d %s (%s)", v.Version, v.State, v.Expected.Text))
		default:
			parts = append(parts, fmt.Sprintf("v%d %s %d/%d (need %d)", v.Version, v.State, v.Tally.Count, v.Tally.Denominator, v.Tally.Threshold))
		}
	}
	return strings.Join(parts, "; ")
}

func shortHash(b []byte) string {
	s := hex.EncodeToString(b)
	if len(s) > 12 {
		return s[:12]
	}
	return s
}
