package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/forkgate/forkgate/rehearsal"
	"github.com/spf13/cobra"
)

func init() { register(newDemoCmd) }

func newDemoCmd() *cobra.Command {
	var o rehearsal.Options
	c := &cobra.Command{
		Use:   "demo [--dir DIR]",
		Short: "Rehearse a whole network upgrade on the embedded default",
		Long: `demo rehearses a network upgrade end to end, in one process:

  1. a devnet of producers on the old release (protocol version 1), whose
     operators upgrade one by one and start signalling version 2;
  2. the old release halts exactly at version 2's activation height;
  3. the validator is upgraded smoothly: the new release continues on the
     same data, version 2 passes and game.ForkGamePayoutV2 switches on;
  4. a second node syncs fresh from genesis and matches at every height;
  5. upgrade verification records the chain and checks the new upgrade,
     smooth upgrades around the fork and the blocks past it, and writes a
     Markdown report.

The old release is this build limited to protocol version 1. Everything is
written under --dir (default: a new temporary directory, kept, whose path is
printed). Exit 0 when every step holds, 1 when one does not, 2 on bad input.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			format, err := outputFormat(cmd)
			if err != nil {
				return err
			}
			if err := firstErr(inRange("producers", int64(o.Producers), 1, 20), inRange("blocks", o.Blocks, 40, 100_000),
				inRange("upgrade-at", o.UpgradeAt, 1, o.Blocks), inRange("upgrade-step", o.UpgradeStep, 0, o.Blocks)); err != nil {
				return err
			}
			if o.Dir == "" {
				if o.Dir, err = os.MkdirTemp("", "forkgate-demo-"); err != nil {
					return usageErr("%v", err)
				}
			} else if entries, err := os.ReadDir(o.Dir); err == nil && len(entries) > 0 {
				return usageErr("--dir %s is not empty; give a new directory", o.Dir)
			}
			o.Out = cmd.OutOrStdout()
			if format == "json" {
				o.Out = cmd.ErrOrStderr()
			}
			fmt.Fprintf(o.Out, "rehearsing an upgrade in %s\n\n", o.Dir)
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			res, err := rehearsal.Run(ctx, o)
			if format == "json" && res != nil {
				if werr := writeJSON(cmd.OutOrStdout(), res); werr != nil {
					return werr
				}
			}
			if err != nil {
				return &exitError{code: exitFindings, msg: "demo: " + err.Error()}
			}
			fmt.Fprintf(o.Out, "\ndemo: the upgrade rehearsal held at every step; report in %s\n", res.Report)
			return nil
		},
	}
	f := c.Flags()
	f.StringVar(&o.Dir, "dir", "", "work directory (default: a new temporary directory)")
	f.IntVar(&o.Producers, "producers", 4, "producers in the devnet")
	f.Int64Var(&o.Blocks, "blocks", 80, "chain length")
	f.Int64Var(&o.UpgradeAt, "upgrade-at", 20, "height at which the first producer upgrades")
	f.Int64Var(&o.UpgradeStep, "upgrade-step", 3, "blocks between one producer's upgrade and the next's")
	return c
}
