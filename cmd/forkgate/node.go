package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/forkgate/forkgate/chain"

	"github.com/forkgate/forkgate/node"
	"github.com/forkgate/forkgate/schedule"
	sig "github.com/forkgate/forkgate/signal"
	"github.com/spf13/cobra"
)

func init() { register(newNodeCmd) }

// nodeOptions are the options every node command opens a home with; tests
// replace it.
var nodeOptions = func() node.Options { return node.Options{} }

func newNodeCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "node",
		Short: "Run the reference chain: init a home, produce blocks, export, import, status",
		Long: `node runs forkgate's reference chain as a solo producer on a home directory:

  HOME/config.toml   fork config (Chain33 layout) and the [node] table
  HOME/genesis.json  the genesis
  HOME/keys/         producer and account keys (derived from --seed)
  HOME/data/         state store and block store

See docs/node.md. Exit codes: 0 ok, 1 a state hash mismatch or an
incompatible config, 2 unusable input, 3 upgrade needed (a version this
binary does not implement activated; HOME/data/upgrade-info.json says which).`,
	}
	cmd.AddCommand(newNodeInitCmd(), newNodeRunCmd(), newNodeExportCmd(), newNodeImportCmd(), newNodeStatusCmd())
	return cmd
}

// nodeErr maps node errors to exit codes: mismatches, incompatible configs
// and halts are findings (1); anything else is unusable input (2).
func nodeErr(err error) error {
	if err == nil {
		return nil
	}
	var ue *node.UpgradeNeededError
	if errors.As(err, &ue) {
		return &exitError{code: exitUpgrade, msg: err.Error()}
	}
	var me *node.MismatchError
	var ce *schedule.CompatError
	var he *sig.HaltError
	if errors.As(err, &me) || errors.As(err, &ce) || errors.As(err, &he) {
		return &exitError{code: exitFindings, msg: err.Error()}
	}
	var ee *exitError
	if errors.As(err, &ee) {
		return err
	}
	return &exitError{code: exitUsage, msg: err.Error()}
}

func newNodeInitCmd() *cobra.Command {
	var o node.InitOptions
	cmd := &cobra.Command{
		Use:   "init HOME",
		Short: "Create a node home: config.toml, genesis.json, keys and data",
		Long: `init creates HOME with the built-in fork config (or a copy of --config, to
which the default [node] table is added if it has none), a genesis with
--producers producers and funded accounts, their keys derived from --seed
(the same seed always gives the same chain), and an empty data directory.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := textOnly(cmd, "forkgate node status HOME --format json"); err != nil {
				return err
			}
			if err := firstErr(nonEmptyArgs("HOME", args), nonEmpty("chain-id", o.ChainID), inRange("producers", int64(o.Producers), 1, 100),
				inRange("accounts", int64(o.Accounts), 1, 10_000), nonEmpty("seed", o.Seed), inRange("genesis-time", o.GenesisTime, 0, chain.MaxTime),
				inRange("maintenance-interval", o.MaintenanceInterval, 2, chain.MaxHeight), inRange("parent-start", o.ParentStart, 0, chain.MaxHeight)); err != nil {
				return err
			}
			if err := node.Init(args[0], o); err != nil {
				return usageErr("%v", err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "initialised %s: config.toml, genesis.json, keys/, data/\n", args[0])
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.ChainID, "chain-id", node.DefaultChainID, "chain id")
	f.IntVar(&o.Producers, "producers", node.DefaultProducers, "number of genesis producers (p1..pN)")
	f.IntVar(&o.Accounts, "accounts", node.DefaultAccounts, "number of funded accounts (a1..aN) for the transaction source")
	f.StringVar(&o.ConfigPath, "config", "", "fork config to use instead of the built-in one")
	f.StringVar(&o.Seed, "seed", node.DefaultSeed, "seed the keys are derived from")
	f.Int64Var(&o.GenesisTime, "genesis-time", node.DefaultGenesisTime, "genesis time, unix seconds")
	f.Int64Var(&o.MaintenanceInterval, "maintenance-interval", 10, "blocks between producer elections")
	f.Int64Var(&o.ParentStart, "parent-start", 0, "parallel chain: block h is anchored at parent (main) chain height parent-start + h (0: not a parallel chain)")
	return cmd
}

func newNodeRunCmd() *cobra.Command {
	var (
		until, blocks int64
		httpAddr      string
		compat        string
		pace          time.Duration
		quiet         bool
		implemented   uint32
		benchApp      string
	)
	cmd := &cobra.Command{
		Use:   "run HOME [--until H] [--blocks N]",
		Short: "Produce blocks as a solo producer and serve the status API",
		Long: `run opens HOME (checking the config's fork schedule against the stored one,
and re-executing blocks a crash left uncommitted), serves the status API,
and produces blocks until --until H is committed or --blocks N more were
made. Without either it runs until interrupted, one block per --pace
(default: the block interval). Stopping at H and continuing later, with this
or another build, gives the same hashes as an uninterrupted run.

A version this binary does not implement that activates stops the node with
exit code 3 ("upgrade needed") after writing HOME/data/upgrade-info.json
(the version, the height, the release needed, the fork schedule's hash).

With [node] engine = "cometbft" the App runs inside an in-process CometBFT
node (config, keys and data under HOME/cometbft; see docs/node.md): blocks
come from consensus with the other validators, --until, --blocks and --pace
do not apply, and it runs until interrupted or halted.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := textOnly(cmd, "the status API, or forkgate node status HOME --format json"); err != nil {
				return err
			}
			if err := firstErr(nonEmptyArgs("HOME", args), atLeast("until", until, 0), atLeast("blocks", blocks, 0), nonNegativeDuration("pace", pace)); err != nil {
				return err
			}
			opts := nodeOptions()
			opts.Log = cmd.ErrOrStderr()
			if compat != "" {
				opts.Compat = compat
			}
			if implemented > 0 {
				opts.Implemented = implemented
			}
			n, err := node.Open(args[0], opts)
			if err != nil {
				return nodeErr(err)
			}
			defer n.Close()
			if err := n.WriteBanner(cmd.ErrOrStderr()); err != nil {
				return nodeErr(err)
			}
			if httpAddr == "" {
				httpAddr = n.Config().Node.HTTP
			}
			if httpAddr != "off" && httpAddr != "" {
				srv, err := n.ServeHTTP(httpAddr)
				if err != nil {
					return usageErr("%v", err)
				}
				defer srv.Close()
				fmt.Fprintf(cmd.ErrOrStderr(), "status API on http://%s/status\n", srv.Addr())
			}
			if n.Config().Node.EngineName() == "cometbft" {
				return runCometNode(cmd, n, args[0], benchApp, quiet, until != 0 || blocks != 0 || cmd.Flags().Changed("pace"))
			}
			if benchApp != "" {
				return usageErr("--app needs [node] engine = \"cometbft\"")
			}
			if !cmd.Flags().Changed("pace") && until == 0 && blocks == 0 {
				pace = time.Duration(n.Config().Node.BlockInterval) * time.Second
			}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			out := cmd.OutOrStdout()
			start := n.Height()
			began := time.Now()
			var txs int64
			err = n.Run(ctx, node.RunOptions{Until: until, Blocks: blocks, Pace: pace, OnBlock: func(r node.BlockReport) {
				txs += int64(r.Txs)
				if !quiet {
					fmt.Fprintf(out, "height %d hash %x proposer %s v%d txs %d ok %d failed %d\n",
						r.Height, r.AppHash, r.ProposerName, r.Version, r.Txs, r.OK, r.Failed)
				}
			}})
			if errors.Is(err, node.ErrPastUntil) {
				return usageErr("%v", err)
			}
			if err != nil {
				return nodeErr(n.RecordHalt(err))
			}
			st, err := n.Status()
			if err != nil {
				return nodeErr(err)
			}
			d := time.Since(began).Seconds()
			fmt.Fprintf(cmd.ErrOrStderr(), "stopped at height %d, state hash %s (%d blocks, %d txs in %.2fs)\n",
				st.Height, st.StateHash, st.Height-start, txs, d)
			return nil
		},
	}
	f := cmd.Flags()
	f.Int64Var(&until, "until", 0, "stop once this height is committed")
	f.Int64Var(&blocks, "blocks", 0, "stop after this many new blocks")
	f.StringVar(&httpAddr, "http", "", `status API address (default: [node] http; "off" for none)`)
	f.StringVar(&compat, "compat", "", "policy for a config that changes a passed fork: refuse, rewind or ignore (default: [node] compat)")
	f.DurationVar(&pace, "pace", 0, "wait between blocks (default 0 with --until/--blocks, else the block interval)")
	f.BoolVar(&quiet, "quiet", false, "no line per block")
	f.Uint32Var(&implemented, "implemented", 0, "highest protocol version this binary implements (testing upgrades; 0: all)")
	f.MarkHidden("implemented")
	f.StringVar(&benchApp, "app", "", `run another application on the CometBFT node: "kvstore" (CometBFT's example; benchmarks only)`)
	f.MarkHidden("app")
	return cmd
}

func newNodeExportCmd() *cobra.Command {
	var from, to int64
	cmd := &cobra.Command{
		Use:   "export HOME FILE",
		Short: "Write the node's blocks to a versioned block file (- for stdout)",
		Long: `export writes blocks --from..--to (default: all) to FILE: a header line
("forkgate-blocks" and JSON: format, chain id, genesis hash, range), then each
block as a 4-byte length and its canonical encoding, then a zero length and
the sha256 of everything before it. See docs/node.md.`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := textOnly(cmd, "forkgate node status HOME --format json"); err != nil {
				return err
			}
			if err := firstErr(nonEmptyArgs("HOME and FILE", args), atLeast("from", from, 1), atLeast("to", to, 0)); err != nil {
				return err
			}
			if to > 0 && from > to {
				return usageErr("--from %d is above --to %d", from, to)
			}
			n, err := node.OpenReadOnly(args[0], nodeOptions())
			if err != nil {
				return nodeErr(err)
			}
			defer n.Close()
			var w io.Writer = cmd.OutOrStdout()
			var f *os.File
			if args[1] != "-" {
				if f, err = os.Create(args[1] + ".tmp"); err != nil {
					return usageErr("%v", err)
				}
				defer os.Remove(args[1] + ".tmp")
				w = f
			}
			hdr, err := n.Export(w, from, to)
			if err != nil {
				if f != nil {
					f.Close()
				}
				return usageErr("%v", err)
			}
			if f != nil {
				if err := errors.Join(f.Sync(), f.Close(), os.Rename(args[1]+".tmp", args[1])); err != nil {
					return usageErr("%v", err)
				}
				fmt.Fprintf(cmd.ErrOrStderr(), "exported blocks %d..%d of %s to %s\n", hdr.From, hdr.To, hdr.ChainID, args[1])
			}
			return nil
		},
	}
	cmd.Flags().Int64Var(&from, "from", 1, "first block")
	cmd.Flags().Int64Var(&to, "to", 0, "last block (0: the last stored)")
	return cmd
}

func newNodeImportCmd() *cobra.Command {
	var every int64
	var quiet bool
	cmd := &cobra.Command{
		Use:   "import HOME FILE",
		Short: "Replay a block file, checking every state hash",
		Long: `import checks FILE (structure and checksum), then replays its blocks through
the chain (FinalizeBlock and Commit, as for decided blocks) and compares each
resulting state hash with the exported one. Blocks the node already has are
compared by hash. The first mismatch stops the import with exit code 1 and
names the height and both hashes.`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			format, err := outputFormat(cmd)
			if err != nil {
				return err
			}
			if err := firstErr(nonEmptyArgs("HOME and FILE", args), atLeast("progress-every", every, 1)); err != nil {
				return err
			}
			opts := nodeOptions()
			opts.Log = cmd.ErrOrStderr()
			n, err := node.Open(args[0], opts)
			if err != nil {
				return nodeErr(err)
			}
			defer n.Close()
			iopts := node.ImportOptions{ProgressEvery: every}
			if !quiet {
				iopts.Progress = cmd.ErrOrStderr()
			}
			res, err := n.Import(args[1], iopts)
			if err != nil {
				return nodeErr(err)
			}
			out := cmd.OutOrStdout()
			rate := float64(res.Applied) / res.Duration.Seconds()
			if format == "json" {
				return writeJSON(out, importReport{
					File: args[1], ChainID: res.Header.ChainID, From: res.Header.From, To: res.Header.To,
					Checked: res.Checked, Applied: res.Applied, Txs: res.Txs, Height: res.Height,
					StateHash: fmt.Sprintf("%x", res.AppHash), Seconds: res.Duration.Seconds(), BlocksPerSecond: rate,
				})
			}
			fmt.Fprintf(out, "imported %s: %d blocks applied, %d already present and checked; height %d, state hash %x (%.0f blocks/s, %.0f tx/s)\n",
				args[1], res.Applied, res.Checked, res.Height, res.AppHash, rate, float64(res.Txs)/res.Duration.Seconds())
			return nil
		},
	}
	cmd.Flags().Int64Var(&every, "progress-every", 1000, "print a progress line every N blocks")
	cmd.Flags().BoolVar(&quiet, "quiet", false, "no progress lines")
	return cmd
}

func newNodeStatusCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "status HOME",
		Short: "Print the node's status (from its running node's API, else from its data)",
		Long: `status prints height, state hash, versions, fork ID, forks (current, next,
last), signal state and producers. While the node runs it asks its status
API (address in HOME/data/http.addr); otherwise it reads the data directory.
--format json prints the status API's JSON (docs/node.md).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			format, err := outputFormat(cmd)
			if err != nil {
				return err
			}
			st, err := node.ReadStatus(args[0], nodeOptions())
			if err != nil {
				return nodeErr(err)
			}
			out := cmd.OutOrStdout()
			if format == "json" {
				return writeJSON(out, st)
			}
			writeNodeStatus(out, st)
			return nil
		},
	}
	return cmd
}

func writeNodeStatus(w io.Writer, st *node.Status) {
	fmt.Fprintf(w, "chain       %s (%s), genesis %s\n", st.ChainID, st.Title, st.GenesisHash)
	fmt.Fprintf(w, "height      %d (time %d), state hash %s\n", st.Height, st.Time, st.StateHash)
	fmt.Fprintf(w, "version     app %s, protocol %d\n", st.AppVersion, st.ProtocolVersion)
	fmt.Fprintf(w, "fork id     %s\n", st.ForkID)
	point := func(p *node.ForkPoint) string {
		if p == nil {
			return "none"
		}
		return fmt.Sprintf("height %d: %s", p.Height, strings.Join(p.Forks, ", "))
	}
	fmt.Fprintf(w, "forks       current %s\n            next    %s\n            last    %s\n",
		point(st.Forks.Current), point(st.Forks.Next), point(st.Forks.Last))
	for _, v := range st.Versions {
		at := "not active"
		if v.ActivationHeight >= 0 {
			at = fmt.Sprintf("active from %d", v.ActivationHeight)
		}
		fmt.Fprintf(w, "version %d   %s, %s; forks: %s\n", v.Version, v.State, at, strings.Join(v.Forks, ", "))
	}
	for _, v := range st.Signal.Versions {
		fmt.Fprintf(w, "signal v%d   %s %d/%d (threshold %d): %s\n", v.Version, v.State, v.Tally.Count, v.Tally.Denominator, v.Tally.Threshold, v.Expected.Text)
	}
	for _, p := range st.Producers {
		plan := ""
		if p.Signalling != nil {
			plan = fmt.Sprintf(", signals v%d", p.Signalling.Version)
			if p.Signalling.UpgradeHeight > 0 {
				plan += fmt.Sprintf(" then v%d from %d", p.Signalling.UpgradeVersion, p.Signalling.UpgradeHeight)
			}
		}
		fmt.Fprintf(w, "producer %d  %-4s %s last v%d%s, next block %d\n", p.Slot, p.Name, p.Address, p.LastVersion, plan, p.NextSlot)
	}
	if st.Halt != "" {
		fmt.Fprintf(w, "HALT        %s\n", st.Halt)
	}
	if u := st.UpgradeNeeded; u != nil {
		fmt.Fprintf(w, "UPGRADE     needed: protocol version %d from height %d, release %q (this binary %s implements up to %d; data/upgrade-info.json)\n",
			u.Version, u.Height, u.Release, u.Binary, u.Implemented)
	}
	if v := st.Visor; v != nil {
		fmt.Fprintf(w, "visor       release %s, %s (%d releases stored; forkgate visor status HOME)\n", v.Current, v.State, len(v.Releases))
		if sw := v.LastSwitch; sw != nil {
			fmt.Fprintf(w, "            last switch %s -> %s at height %d: %s\n", sw.From, sw.To, sw.Height, sw.Result)
		}
	}
}

// importReport is the JSON schema of `node import` (docs/cli-json.md).
type importReport struct {
	File            string  `json:"file"`
	ChainID         string  `json:"chain_id"`
	From            int64   `json:"from"`
	To              int64   `json:"to"`
	Checked         int64   `json:"checked"`
	Applied         int64   `json:"applied"`
	Txs             int64   `json:"txs"`
	Height          int64   `json:"height"`
	StateHash       string  `json:"state_hash"`
	Seconds         float64 `json:"seconds"`
	BlocksPerSecond float64 `json:"blocks_per_second"`
}

// textOnly refuses --format json for commands whose output is a log, and
// says where the JSON is.
func textOnly(cmd *cobra.Command, jsonHint string) error {
	format, err := outputFormat(cmd)
	if err != nil {
		return err
	}
	if format == "json" {
		return usageErr("%s prints text only; for JSON use %s", cmd.CommandPath(), jsonHint)
	}
	return nil
}

// runCometNode runs a home whose engine is cometbft until interrupted. A halt
// exits with code 3 from inside CometBFT's call into the App (see
// node.CometOptions.OnUpgradeNeeded).
func runCometNode(cmd *cobra.Command, n *node.Node, home, benchApp string, quiet, soloFlags bool) error {
	var app abci.Application
	switch benchApp {
	case "":
	case "kvstore":
		app = node.KVStoreApp(home, n.Config().Node.TxsPerBlock)
	default:
		return usageErr("--app %q: the only other application is \"kvstore\"", benchApp)
	}
	if soloFlags {
		return usageErr("--until, --blocks and --pace drive the solo engine; a cometbft node runs until interrupted (engine = \"cometbft\" in %s)", n.Config().Path)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	out, errw := cmd.OutOrStdout(), cmd.ErrOrStderr()
	var mu sync.Mutex
	err := n.RunCometBFT(ctx, node.CometOptions{
		Log: errw, LogInfo: os.Getenv("FORKGATE_COMETBFT_LOG") == "info", App: app,
		OnBlock: func(r node.BlockReport) {
			if quiet {
				return
			}
			mu.Lock()
			defer mu.Unlock()
			fmt.Fprintf(out, "height %d hash %x proposer %s txs %d ok %d failed %d\n", r.Height, r.AppHash, r.ProposerName, r.Txs, r.OK, r.Failed)
		},
		OnUpgradeNeeded: func(e *node.UpgradeNeededError) {
			fmt.Fprintf(errw, "forkgate: %v\n", e)
			n.Close()
			os.Exit(exitUpgrade)
		},
	})
	if err != nil {
		return nodeErr(err)
	}
	fmt.Fprintf(errw, "stopped at height %d\n", n.Height())
	return nil
}
