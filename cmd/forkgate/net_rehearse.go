package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/forkgate/forkgate/network"
	"github.com/forkgate/forkgate/node"
	"github.com/spf13/cobra"
)

func newNetRehearseCmd() *cobra.Command {
	var (
		o        network.RehearseOptions
		oldBin   string
		newBin   string
		markdown string
		noKill   bool
		quiet    bool
	)
	cmd := &cobra.Command{
		Use:   "rehearse [--old BIN] [--new BIN]",
		Short: "Rehearse a rolling upgrade on a real CometBFT network and check every height",
		Long: `rehearse runs the whole upgrade on a local network of --validators
validators (one process each, loopback):

  1. every validator starts on the old release (--old);
  2. all but the last switch to the new release (--new) one at a time while
     the network keeps producing blocks;
  3. the last is cut off (relay) before the final switch, so before the new
     protocol version can activate, and restarted while cut off;
  4. the upgraded validators lock the version in and pass its activation;
  5. the last is healed: its old binary catches up (block sync) and must stop
     with exit code 3 exactly before the activation height, having written
     data/upgrade-info.json;
  6. it is switched to the new release, killed -9 while catching up (unless
     --no-kill), started again, and catches up;
  7. the network is stopped and every node's block store compared: the same
     state hash at every height.

It prints a report (text, --format json, and --markdown FILE). Without --old,
the old release is this binary capped at protocol version 1 (node run's
--implemented 1), which behaves as a build with buildinfo.implemented=1
(make build-old) would; without --new, this binary.

Exit codes: 0 all checks passed, 1 a check failed (nodes disagree at some
height, the old binary did not stop with 3 at the activation height), 2 the
rehearsal could not run.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			format, err := outputFormat(cmd)
			if err != nil {
				return err
			}
			if err := inRange("validators", int64(o.Validators), 4, 16); err != nil {
				return err
			}
			self, err := os.Executable()
			if err != nil {
				return usageErr("%v", err)
			}
			if newBin == "" {
				newBin = self
			}
			o.New = network.Binary{Path: newBin, Label: "new " + filepath.Base(newBin)}
			if oldBin == "" {
				v := node.Implemented()
				if v < 2 {
					return usageErr("this binary implements protocol version %d only: give --new with a release implementing 2", v)
				}
				o.Old = network.Binary{Path: newBin, RunArgs: []string{"--implemented", fmt.Sprint(v - 1)}, Label: fmt.Sprintf("%s capped at v%d", filepath.Base(newBin), v-1)}
				o.Version = v
			} else {
				o.Old = network.Binary{Path: oldBin, Label: "old " + filepath.Base(oldBin)}
			}
			o.KillDuringCatchUp = !noKill
			if !quiet {
				o.Log = cmd.ErrOrStderr()
			}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			rep, err := network.Rehearse(ctx, o)
			if err != nil {
				return usageErr("rehearsal: %v", err)
			}
			out := cmd.OutOrStdout()
			if format == "json" {
				if err := rep.WriteJSON(out); err != nil {
					return err
				}
			} else {
				rep.WriteText(out)
			}
			if markdown != "" {
				f, err := os.Create(markdown)
				if err != nil {
					return usageErr("%v", err)
				}
				rep.WriteMarkdown(f)
				if err := f.Close(); err != nil {
					return usageErr("%v", err)
				}
			}
			if !rep.OK {
				return findings()
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.IntVar(&o.Validators, "validators", 4, "number of validators")
	f.StringVar(&oldBin, "old", "", "the old release's forkgate binary (default: this one capped at the previous protocol version)")
	f.StringVar(&newBin, "new", "", "the new release's forkgate binary (default: this one)")
	f.StringVar(&o.Dir, "dir", "", "keep the network in this new directory (default: a temporary one, removed)")
	f.StringVar(&markdown, "markdown", "", "also write the report as Markdown to this file")
	f.BoolVar(&noKill, "no-kill", false, "do not kill -9 the cut-off validator while it catches up")
	f.BoolVar(&quiet, "quiet", false, "no progress lines")
	f.Int64Var(&o.After, "after", 20, "blocks past the activation every node must reach before the final check")
	return cmd
}
