package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/forkgate/forkgate/network"
	"github.com/forkgate/forkgate/node"
	"github.com/forkgate/forkgate/verify"
	"github.com/spf13/cobra"
)

func init() { register(newNetCmd) }

func newNetCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "net",
		Short: "Local CometBFT networks: init, up, down, status, perturb, rehearse",
		Long: `net runs a local network of forkgate validators on CometBFT v0.38: one OS
process per validator on loopback, each peer link through a relay so a node
can be cut off and healed without privileges. See docs/node.md ("Networks").

  forkgate net init DIR --validators 4     homes and DIR/network.json
  forkgate net up DIR                      start (in the background), wait for blocks
  forkgate net status DIR                  height, state hash, versions, state per node
  forkgate net perturb DIR n3 --cut        kill, restart, pause, resume, cut, heal, switch-binary
  forkgate net down DIR                    stop every process
  forkgate net rehearse                    a whole rolling upgrade, checked, with a report
  forkgate net record DIR n0 CHAIN_DIR     n0's blocks as a fixture for forkgate verify

Processes never outlive the network: they die with the process that
started them, with net down, or after the network's maximum lifetime.`,
	}
	cmd.AddCommand(newNetInitCmd(), newNetUpCmd(), newNetServeCmd(), newNetDownCmd(), newNetStatusCmd(), newNetPerturbCmd(), newNetRehearseCmd(), newNetRecordCmd(), newNetBenchCmd())
	return cmd
}

func newNetInitCmd() *cobra.Command {
	var o network.Options
	var lifetime time.Duration
	var visorInitial, visorReleases, visorArgs []string
	var visorKey string
	cmd := &cobra.Command{
		Use:   "init DIR",
		Short: "Write a network: N validator homes (equal power, loopback) and DIR/network.json",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := textOnly(cmd, "forkgate net status DIR --format json"); err != nil {
				return err
			}
			if err := firstErr(nonEmptyArgs("DIR", args), inRange("validators", int64(o.Validators), 1, 32), inRange("power", o.Power, 1, 1_000_000)); err != nil {
				return err
			}
			o.MaxLifetime = lifetime
			if len(visorInitial) > 0 {
				o.Visor = &network.VisorOptions{Initial: visorInitial, Releases: visorReleases, Args: visorArgs, PubKey: visorKey}
			} else if len(visorReleases) > 0 || len(visorArgs) > 0 || visorKey != "" {
				return usageErr("--visor, --visor-arg and --visor-pubkey need --visor-initial (the release each node starts on)")
			}
			f, err := network.Init(args[0], o)
			if err != nil {
				return usageErr("%v", err)
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "initialised a network of %d validators in %s (chain %s, power %d each, max lifetime %s)\n", len(f.Nodes), args[0], f.ChainID, f.Power, f.MaxLifetime)
			for _, n := range f.Nodes {
				fmt.Fprintf(w, "  %s  producer %s  node %s  %s\n", n.Name, n.Producer, n.NodeID, n.Binary)
			}
			fmt.Fprintf(w, "next: forkgate net up %s\n", args[0])
			return nil
		},
	}
	f := cmd.Flags()
	f.IntVar(&o.Validators, "validators", 4, "number of validators")
	f.Int64Var(&o.Power, "power", 10, "voting power of each validator (10 or more keeps block sync in use)")
	f.StringSliceVar(&o.Binaries, "binary", nil, "forkgate binary of the nodes: once for all, or once per validator (default: this one)")
	f.StringVar(&o.ChainID, "chain-id", "", "chain id (default forkgate-devnet)")
	f.StringVar(&o.Seed, "seed", "", "key seed (default forkgate)")
	f.StringVar(&o.ConfigPath, "config", "", "fork config (default: the built-in one)")
	f.IntVar(&o.TxsPerBlock, "txs-per-block", 0, "workload transactions each proposer adds (default 16; -1 none)")
	f.Uint32Var(&o.SignalVersion, "signal-version", 0, "protocol version every validator signals, capped at what its binary implements (default: the config's)")
	f.DurationVar(&lifetime, "max-lifetime", 30*time.Minute, "the network stops itself after this long")
	f.StringSliceVar(&visorInitial, "visor-initial", nil, "run every node under forkgate visor, starting on this release (once for all, or once per validator); see docs/visor.md")
	f.StringSliceVar(&visorReleases, "visor", nil, "a release every node's supervisor stores for a later switch (repeatable)")
	f.StringSliceVar(&visorArgs, "visor-arg", nil, "an argument of visor run (repeatable), e.g. --visor-arg=--gate-replay=false")
	f.StringVar(&visorKey, "visor-pubkey", "", "trusted release key of the supervisors")
	return cmd
}

func newNetUpCmd() *cobra.Command {
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "up DIR",
		Short: "Start the network in the background and wait until it produces blocks",
		Long: `up starts a background process that holds the network (node processes and
relay; its log is DIR/logs/net.log), then waits until every node committed
height 2 and prints the status. Stop it with forkgate net down DIR.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := textOnly(cmd, "forkgate net status DIR --format json"); err != nil {
				return err
			}
			dir := args[0]
			if _, err := network.Load(dir); err != nil {
				return usageErr("%v", err)
			}
			if _, err := network.Dial(dir); err == nil {
				return usageErr("the network in %s is already up: forkgate net status %s", dir, dir)
			}
			exe, err := os.Executable()
			if err != nil {
				return usageErr("%v", err)
			}
			logPath := filepath.Join(dir, "logs", "net.log")
			logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
			if err != nil {
				return usageErr("%v", err)
			}
			defer logf.Close()
			bg := exec.Command(exe, "net", "serve", dir)
			bg.Env = os.Environ()
			bg.Stdout, bg.Stderr = logf, logf
			bg.SysProcAttr = &syscall.SysProcAttr{Setsid: true} // survives this command; bounded by the network's lifetime
			if err := bg.Start(); err != nil {
				return usageErr("start the network process: %v", err)
			}
			exited := make(chan error, 1)
			go func() { exited <- bg.Wait() }()
			deadline := time.Now().Add(timeout)
			for {
				if c, err := network.Dial(dir); err == nil {
					if sts, err := c.Status(); err == nil && allAtLeast(sts, 2) {
						fmt.Fprintf(cmd.OutOrStdout(), "network %s is up (pid %d; log %s)\n", dir, bg.Process.Pid, logPath)
						writeNetStatus(cmd.OutOrStdout(), sts)
						return nil
					}
				}
				select {
				case err := <-exited:
					return usageErr("the network process ended (%v); see %s", err, logPath)
				case <-time.After(300 * time.Millisecond):
				}
				if time.Now().After(deadline) {
					if c, err := network.Dial(dir); err == nil {
						c.Down()
					}
					return usageErr("the network did not produce blocks within %s; see %s and the node logs", timeout, filepath.Join(dir, "logs"))
				}
			}
		},
	}
	cmd.Flags().DurationVar(&timeout, "timeout", 90*time.Second, "how long to wait for blocks")
	return cmd
}

func allAtLeast(sts []network.NodeStatus, h int64) bool {
	for _, s := range sts {
		if s.Height < h {
			return false
		}
	}
	return len(sts) > 0
}

// newNetServeCmd is the background process of net up.
func newNetServeCmd() *cobra.Command {
	return &cobra.Command{
		Use:    "serve DIR",
		Short:  "Hold a network in the foreground (what net up runs in the background)",
		Hidden: true,
		Args:   cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			nw, err := network.Up(ctx, args[0], network.UpOptions{Log: cmd.ErrOrStderr(), WaitHeight: -1})
			if err != nil {
				return usageErr("%v", err)
			}
			go func() {
				<-ctx.Done()
				nw.Down()
			}()
			if err := network.Serve(nw); err != nil {
				nw.Down()
				return usageErr("%v", err)
			}
			nw.Down()
			return nil
		},
	}
}

func newNetDownCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "down DIR",
		Short: "Stop every process of the network",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := network.Dial(args[0])
			if err != nil {
				return usageErr("%v", err)
			}
			if err := c.Down(); err != nil {
				return usageErr("%v", err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "network %s is down\n", args[0])
			return nil
		},
	}
}

func newNetStatusCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "status DIR",
		Short: "Per node: state, height, state hash, versions, binary",
		Long: `status asks the running network (or reads the nodes' data when it is down)
and prints per node its state (running, paused, cut, killed, upgrade-needed,
...), height, state hash, the version its producer signalled, the versions
its binary implements, and the binary. Exit code 1 if two nodes at the same
height report different state hashes.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			format, err := outputFormat(cmd)
			if err != nil {
				return err
			}
			var sts []network.NodeStatus
			if c, err := network.Dial(args[0]); err == nil {
				if sts, err = c.Status(); err != nil {
					return usageErr("%v", err)
				}
			} else if errors.Is(err, network.ErrNotUp) {
				if sts, err = network.OfflineStatus(args[0]); err != nil {
					return usageErr("%v", err)
				}
			}
			if format == "json" {
				if err := writeJSON(cmd.OutOrStdout(), sts); err != nil {
					return err
				}
			} else {
				writeNetStatus(cmd.OutOrStdout(), sts)
			}
			if msg := network.Disagreement(sts); msg != "" {
				return &exitError{code: exitFindings, msg: msg}
			}
			return nil
		},
	}
}

func writeNetStatus(w io.Writer, sts []network.NodeStatus) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NODE\tSTATE\tHEIGHT\tSTATE HASH\tPOWER\tSIGNALS\tIMPLEMENTS\tBINARY")
	for _, s := range sts {
		state := s.State
		if s.Cut {
			state += ",cut"
		}
		if s.ExitCode != nil {
			state += fmt.Sprintf(" (exit %d)", *s.ExitCode)
		}
		hash := s.StateHash
		if len(hash) > 16 {
			hash = hash[:16]
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%d\tv%d\tv%d (%s)\t%s\n", s.Name, state, s.Height, hash, s.VotingPower, s.Signalled, s.Implemented, s.AppVersion, filepath.Base(s.Binary))
	}
	tw.Flush()
	for _, s := range sts {
		if u := s.UpgradeNeeded; u != nil {
			fmt.Fprintf(w, "%s: upgrade needed: protocol version %d from height %d, release %q\n", s.Name, u.Version, u.Height, u.Release)
		}
		if s.Error != "" {
			fmt.Fprintf(w, "%s: %s\n", s.Name, s.Error)
		}
	}
}

func newNetPerturbCmd() *cobra.Command {
	var binary string
	flags := map[string]*bool{}
	cmd := &cobra.Command{
		Use:   "perturb DIR NODE --kill|--restart|--start|--pause|--resume|--cut|--heal|--switch-binary PATH",
		Short: "Kill, restart, pause, resume, cut off, heal a node, or switch its binary",
		Long: `perturb changes one node of a running network:

  --kill              SIGKILL (kill -9) its process group
  --restart           stop it (SIGTERM) and start it again
  --start             start a node that is not running
  --pause, --resume   SIGSTOP / SIGCONT
  --cut, --heal       close and refuse (or allow again) every peer link through the relay
  --switch-binary P   stop it and start it on binary P (kept in network.json)`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := textOnly(cmd, "forkgate net status DIR --format json"); err != nil {
				return err
			}
			var actions []string
			for _, a := range network.Actions {
				if a == network.SwitchBinary {
					if binary != "" {
						actions = append(actions, a)
					}
				} else if *flags[a] {
					actions = append(actions, a)
				}
			}
			if len(actions) != 1 {
				return usageErr("give exactly one of --%s PATH", strings.Join(network.Actions, ", --"))
			}
			c, err := network.Dial(args[0])
			if err != nil {
				return usageErr("%v", err)
			}
			if err := c.Perturb(args[1], actions[0], binary); err != nil {
				return usageErr("%v", err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: %s done\n", args[1], actions[0])
			return nil
		},
	}
	for _, a := range network.Actions {
		if a == network.SwitchBinary {
			continue
		}
		flags[a] = cmd.Flags().Bool(a, false, a+" the node")
	}
	cmd.Flags().StringVar(&binary, "switch-binary", "", "stop the node and start it on this binary")
	return cmd
}

func newNetRecordCmd() *cobra.Command {
	var blocks int64
	cmd := &cobra.Command{
		Use:   "record DIR NODE CHAIN_DIR [--blocks N]",
		Short: "Record a network node's blocks as a library chain's fixture (then: forkgate verify CHAIN_DIR)",
		Long: `record writes CHAIN_DIR as a library chain directory for the network's chain
(config.toml: the node's fork config as a solo node's, with a [library]
table that makes the same genesis) and records blocks 1..N of NODE's block
store (default: all it holds) as CHAIN_DIR/fixture.gz: the blocks CometBFT
decided, replayed with this build to capture every state hash, receipt and
write set. forkgate verify CHAIN_DIR then checks them like the library's
chains. The network must be down (net down DIR).`,
		Args: cobra.ExactArgs(3),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := textOnly(cmd, "forkgate verify CHAIN_DIR --format json"); err != nil {
				return err
			}
			if err := firstErr(nonEmptyArgs("DIR, NODE and CHAIN_DIR", args), atLeast("blocks", blocks, 0)); err != nil {
				return err
			}
			if _, err := network.Dial(args[0]); err == nil {
				return usageErr("the network in %s is up: its block stores are in use; run forkgate net down %s first", args[0], args[0])
			}
			f, err := network.Load(args[0])
			if err != nil {
				return usageErr("%v", err)
			}
			i, err := f.Index(args[1])
			if err != nil {
				return usageErr("%v", err)
			}
			if blocks == 0 {
				bs, err := node.OpenHomeBlockStore(filepath.Join(args[0], f.Nodes[i].Home))
				if err != nil {
					return usageErr("%v", err)
				}
				blocks = bs.Height()
				bs.Close()
				if blocks == 0 {
					return usageErr("%s holds no blocks yet", args[1])
				}
			}
			home, err := network.WriteChainDir(args[0], args[1], args[2], blocks)
			if err != nil {
				return usageErr("%v", err)
			}
			c, err := verify.LoadChain(args[2])
			if err != nil {
				return usageErr("%v", err)
			}
			fx, err := verify.Record(c, verify.RecordOptions{Blocks: blocks, FromHome: home})
			if err != nil {
				return usageErr("%v", err)
			}
			if err := fx.WriteFile(c.FixturePath()); err != nil {
				return usageErr("%v", err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "recorded %s's blocks 1..%d (%d txs, %s) into %s; next: forkgate verify %s\n",
				args[1], blocks, fx.Header.Txs, actionSummary(fx.Header.Actions), c.FixturePath(), args[2])
			return nil
		},
	}
	cmd.Flags().Int64Var(&blocks, "blocks", 0, "record heights 1..N (default: every block the node holds)")
	return cmd
}

func newNetBenchCmd() *cobra.Command {
	var (
		o       network.BenchOptions
		apps    string
		seconds int
		cut     int
		quiet   bool
	)
	cmd := &cobra.Command{
		Use:   "bench [--app forkgate,kvstore] [--seconds 30] [--validators 4]",
		Short: "Measure a local network: blocks/s, tx/s, CPU and memory per node, catch-up after a partition",
		Long: `bench starts a temporary network of --validators nodes for each --app and
measures, over --seconds: blocks/s and workload transactions/s (counted from
the blocks, via CometBFT's RPC), each node's CPU (percent of one core) and
resident memory; then it cuts the last validator off for --cut seconds,
heals it and times its catch-up. "forkgate" is the reference chain with its
[node] workload (mixed, --txs-per-block per block); "kvstore" is CometBFT's
kvstore example on the same node setup, its proposer adding as many
key=value transactions. Figures vary between runs and machines
(docs/benchmarks.md).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			format, err := outputFormat(cmd)
			if err != nil {
				return err
			}
			if err := firstErr(inRange("validators", int64(o.Validators), 1, 16), inRange("seconds", int64(seconds), 1, 3600), inRange("cut", int64(cut), 0, 60)); err != nil {
				return err
			}
			self, err := os.Executable()
			if err != nil {
				return usageErr("%v", err)
			}
			o.Binary = network.Binary{Path: self}
			o.Duration = time.Duration(seconds) * time.Second
			o.Partition = time.Duration(cut) * time.Second
			if cut == 0 {
				o.Partition = -1
			}
			if !quiet {
				o.Log = cmd.ErrOrStderr()
			}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			var results []*network.BenchResult
			for _, app := range strings.Split(apps, ",") {
				o.App = strings.TrimSpace(app)
				r, err := network.Bench(ctx, o)
				if err != nil {
					return usageErr("bench %s: %v", o.App, err)
				}
				results = append(results, r)
			}
			out := cmd.OutOrStdout()
			if format == "json" {
				return writeJSON(out, results)
			}
			tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "APP\tVALIDATORS\tSECONDS\tBLOCKS\tBLOCKS/S\tTXS\tTX/S\tCPU %/NODE\tRSS MB/NODE\tCATCH-UP")
			for _, r := range results {
				var cpu, rss []string
				for _, n := range r.Nodes {
					cpu = append(cpu, fmt.Sprintf("%.0f", n.CPUPercent))
					rss = append(rss, fmt.Sprintf("%.0f", n.RSSMB))
				}
				catch := "-"
				if r.CutSeconds > 0 {
					catch = fmt.Sprintf("%d blocks in %.1fs (cut %.0fs)", r.BlocksBehind, r.CatchUpSeconds, r.CutSeconds)
				}
				fmt.Fprintf(tw, "%s\t%d\t%.1f\t%d\t%.2f\t%d\t%.1f\t%s\t%s\t%s\n", r.App, r.Validators, r.Seconds, r.Blocks, r.BlocksPerSec, r.Txs, r.TxsPerSec,
					strings.Join(cpu, " "), strings.Join(rss, " "), catch)
			}
			return tw.Flush()
		},
	}
	f := cmd.Flags()
	f.StringVar(&apps, "app", "forkgate,kvstore", "applications to measure, comma-separated: forkgate, kvstore")
	f.IntVar(&o.Validators, "validators", 4, "number of validators")
	f.IntVar(&o.TxsPerBlock, "txs-per-block", 16, "workload transactions the proposer adds per block")
	f.IntVar(&seconds, "seconds", 30, "measured window")
	f.IntVar(&cut, "cut", 10, "seconds the last validator is cut off before the catch-up measurement (0: none)")
	f.BoolVar(&quiet, "quiet", false, "no progress lines")
	return cmd
}
