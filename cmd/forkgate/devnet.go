package main

import (
	"context"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"github.com/forkgate/forkgate/devnet"

	"github.com/forkgate/forkgate/node"
	"github.com/spf13/cobra"
)

func init() { register(newDevnetCmd) }

func newDevnetCmd() *cobra.Command {
	var (
		o         devnet.Options
		perProd   string
		upgradeAt int64
	)
	cmd := &cobra.Command{
		Use:   "devnet",
		Short: "Rehearse a network upgrade: a solo node whose producers upgrade at their own heights",
		Long: `devnet starts a solo node (a temporary home, or --home) with --producers
producers in round-robin slots. Each producer signals version 1, then
--upgrade-version from its upgrade height (--upgrade-at for all, or
--producer-upgrade p1=30,p2=35 per producer; 0 = never). Blocks carry
--txs transactions from the transaction source; each block prints its
height, state hash prefix, proposer, transactions ok/failed and the signal
state of each version. The status API is served meanwhile (--http).

With the defaults, every producer upgrades at 20, version 2 locks in during
the next maintenance period and activates at the one after, and the
version-activated fork game.ForkGamePayoutV2 switches on at that height,
which the last lines and the status API show.`,
		Example: `  forkgate devnet
  forkgate devnet --producers 4 --upgrade-at 30 --upgrade-version 2 --blocks 80
  forkgate devnet --producer-upgrade p1=30,p2=35,p3=40 --home /tmp/dn --http 127.0.0.1:26680`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			format, err := outputFormat(cmd)
			if err != nil {
				return err
			}
			if err := firstErr(inRange("producers", int64(o.Producers), 1, 100), atLeast("blocks", o.Blocks, 1),
				atLeast("upgrade-at", upgradeAt, 0), atLeast("upgrade-version", int64(o.UpgradeVersion), 1),
				inRange("txs", int64(o.TxsPerBlock), 0, 100_000), nonNegativeDuration("pace", o.Pace), atLeast("every", o.Every, 1)); err != nil {
				return err
			}
			if !slices.Contains(node.SourceNames(), o.Workload) {
				return usageErr("--workload %q: use one of %s", o.Workload, strings.Join(node.SourceNames(), ", "))
			}
			o.UpgradeAt = upgradeAt
			if o.ProducerUpgrades, err = parseProducerUpgrades(perProd); err != nil {
				return err
			}
			o.Node = nodeOptions()
			if format == "text" {
				o.Out = cmd.OutOrStdout()
			} else {
				o.Out = cmd.ErrOrStderr()
			}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			res, err := devnet.Run(ctx, o)
			if err != nil {
				return nodeErr(err)
			}
			if format == "json" {
				return writeJSON(cmd.OutOrStdout(), res)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Home, "home", "", "home directory to use or continue (default: a temporary one, removed at the end)")
	f.BoolVar(&o.Keep, "keep", false, "keep the temporary home and print its path")
	f.IntVar(&o.Producers, "producers", node.DefaultProducers, "number of producers")
	f.Int64Var(&o.Blocks, "blocks", devnet.DefaultBlocks, "blocks to produce")
	f.Int64Var(&upgradeAt, "upgrade-at", 20, "height from which every producer signals --upgrade-version (0: never)")
	f.Uint32Var(&o.UpgradeVersion, "upgrade-version", 2, "version producers upgrade to")
	f.StringVar(&perProd, "producer-upgrade", "", "per-producer upgrade heights, e.g. p1=30,p2=35 (others: --upgrade-at)")
	f.IntVar(&o.TxsPerBlock, "txs", 16, "transactions per block")
	f.StringVar(&o.Workload, "workload", "mixed", "transaction source: mixed (every executor), coins or none")
	f.StringVar(&o.Seed, "seed", node.DefaultSeed, "key seed")
	f.StringVar(&o.HTTP, "http", "127.0.0.1:0", `status API address ("off" for none)`)
	f.DurationVar(&o.Pace, "pace", 0, "wait between blocks (e.g. 200ms to watch the status API)")
	f.Int64Var(&o.Every, "every", 1, "print a progress line every N blocks")
	return cmd
}

func parseProducerUpgrades(s string) (map[string]int64, error) {
	out := map[string]int64{}
	if strings.TrimSpace(s) == "" {
		return out, nil
	}
	for _, part := range strings.Split(s, ",") {
		name, h, ok := strings.Cut(strings.TrimSpace(part), "=")
		v, err := strconv.ParseInt(strings.TrimSpace(h), 10, 64)
		if !ok || err != nil || v < 0 || strings.TrimSpace(name) == "" {
			return nil, usageErr("--producer-upgrade: %q is not NAME=HEIGHT (e.g. p1=30; 0 = never)", part)
		}
		out[strings.TrimSpace(name)] = v
	}
	return out, nil
}
