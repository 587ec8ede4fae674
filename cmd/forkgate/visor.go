package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/forkgate/forkgate/nodestatus"
	"github.com/forkgate/forkgate/release"
	"github.com/forkgate/forkgate/visor"
	"github.com/spf13/cobra"
)

func init() { register(newVisorCmd) }

// visorErr maps the supervisor's errors to the exit codes.
func visorErr(err error) error {
	if err == nil {
		return nil
	}
	var ve *visor.Error
	if errors.As(err, &ve) {
		return &exitError{code: ve.Code, msg: err.Error()}
	}
	var nr *visor.NoReleaseError
	var me *visor.MissingError
	switch {
	case errors.As(err, &nr), errors.As(err, &me):
		return &exitError{code: exitUpgrade, msg: err.Error()}
	case errors.Is(err, release.ErrMismatch), errors.Is(err, release.ErrSignature):
		return &exitError{code: exitFindings, msg: err.Error()}
	}
	return &exitError{code: exitUsage, msg: err.Error()}
}

func newVisorCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "visor",
		Short: "Supervise a node: verified releases, the switch at the upgrade height, rollback",
		Long: `visor runs a node home's node with the release its data needs, and when the
node halts for a protocol version that release does not implement, switches
to the release that does: journaled, after a checkpoint of the data, and
behind a health gate that rolls back to the checkpoint and the old release
when the new one fails.

  HOME/visor/releases/<version>/   verified releases (bin/forkgate, release.json, ...)
  HOME/visor/current               link to the running release
  HOME/visor/journal.json          the switch in progress
  HOME/visor/status.json           what the supervisor last did
  HOME/visor/backups/<H>-<a>-<b>/  checkpoints (Pebble: hard-linked tables)

See docs/visor.md. Exit codes: 0 ok, 1 a release refused (tampered, wrong
version, bad signature) or a switch rolled back, 2 unusable input, 3 upgrade
needed (no stored release can run the data: add one).`,
	}
	cmd.AddCommand(newVisorInitCmd(), newVisorAddCmd(), newVisorRunCmd(), newVisorStatusCmd(), newVisorRollbackCmd())
	return cmd
}

func newVisorInitCmd() *cobra.Command {
	var src, pubkey string
	cmd := &cobra.Command{
		Use:   "init HOME --release DIR|ARCHIVE|URL [--pubkey KEY]",
		Short: "Set up HOME/visor with a first release, made current",
		Long: `init creates HOME/visor for an existing node home (forkgate node init) and
adds its first release, which becomes current. With --pubkey the key is
stored as the trusted release key: from then on every release must carry a
signature by it.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := textOnly(cmd, "forkgate visor status HOME --format json"); err != nil {
				return err
			}
			if src == "" {
				return usageErr("--release DIR|ARCHIVE|URL is required")
			}
			key, err := trustedKey(pubkey)
			if err != nil {
				return err
			}
			m, err := visor.Init(cmd.Context(), args[0], src, key)
			if err != nil {
				return visorErr(err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "initialised %s: release %s (protocol version %d) is current\n", visor.Layout{Home: args[0]}.Dir(), m.Version, m.Build.Implemented)
			return nil
		},
	}
	cmd.Flags().StringVar(&src, "release", "", "the first release: a release directory, its archive, or a store URL")
	cmd.Flags().StringVar(&pubkey, "pubkey", "", "trusted release key (.pub file or RW... string); releases must then be signed by it")
	return cmd
}

func newVisorAddCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "add HOME DIR|ARCHIVE|URL",
		Short: "Verify a release and store it for a later switch",
		Long: `add checks a release before storing it: its checksums file, the signature
when a trusted key is configured, the binary's sha256 against the manifest,
and the binary's own "version --format json" against the manifest (which
refuses a binary of another version or build). Nothing unverified is stored.
A URL is a store URL as for forkgate release fetch. Add releases ahead of
the upgrade height: the supervisor stops with exit code 3 when the data
needs a release it does not have.`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := textOnly(cmd, "forkgate visor status HOME --format json"); err != nil {
				return err
			}
			m, err := visor.Add(cmd.Context(), args[0], args[1])
			if err != nil {
				return visorErr(err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "added release %s (protocol version %d, min height %d, binary sha256 %s)\n", m.Version, m.Build.Implemented, m.MinHeight, m.Binary.SHA256)
			return nil
		},
	}
	return cmd
}

func newVisorRunCmd() *cobra.Command {
	var o visor.Options
	var hook string
	cmd := &cobra.Command{
		Use:   "run HOME [flags] [-- NODE ARGS]",
		Short: "Run the node under the supervisor",
		Long: `run finishes a switch a crash interrupted, picks the release the data needs
(the current one while it implements the active protocol version and may run
at the next height), verifies it, and runs "<release>/bin/forkgate NODE ARGS"
(default: node run HOME). When the node stops because a version it does not
implement activates, run switches:

  1. the target release present and verified, disk space for a checkpoint;
  2. the pre-upgrade hook (--pre-upgrade CMD, called with VERSION HEIGHT;
     exit 0 or 1 continue, 30 aborts, 31 retries up to --hook-retries);
  3. a checkpoint of the data under HOME/visor/backups/;
  4. current switched to the new release (rename, directory fsynced);
  5. the new release started under the health gate: it must commit
     --gate-blocks blocks from the activation height within --gate-timeout,
     and with --gate-replay reproduce every recorded state hash (within
     --gate-replay-timeout).
     A failed gate restores the checkpoint and the old release (exit 1).

Every step is journaled before it is taken; after a crash, run resumes.
SIGINT/SIGTERM stop the node (SIGKILL after --grace).`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := textOnly(cmd, "forkgate visor status HOME --format json"); err != nil {
				return err
			}
			home := args[0]
			if dash := cmd.ArgsLenAtDash(); dash >= 0 {
				if dash != 1 {
					return usageErr("visor run takes HOME, then -- and the node's arguments")
				}
				o.Args = args[1:]
			} else if len(args) > 1 {
				return usageErr("visor run takes HOME, then -- and the node's arguments (got %q)", args[1:])
			}
			if hook != "" {
				o.PreUpgrade = []string{hook}
			}
			o.Stdout, o.Stderr = cmd.OutOrStdout(), cmd.ErrOrStderr()
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return visorErr(visor.Run(ctx, home, o))
		},
	}
	f := cmd.Flags()
	f.Int64Var(&o.GateBlocks, "gate-blocks", 2, "blocks the new release must commit from the activation height")
	f.DurationVar(&o.GateTimeout, "gate-timeout", 2*time.Minute, "time the new release has to pass the gate")
	f.BoolVar(&o.GateReplay, "gate-replay", true, "also replay the chain up to the switch with the new release (every state hash must match)")
	f.DurationVar(&o.ReplayTimeout, "gate-replay-timeout", 10*time.Minute, "time the replay of the chain may take")
	f.StringVar(&hook, "pre-upgrade", "", "command run before a switch with VERSION HEIGHT (exit 0/1 continue, 30 abort, 31 retry)")
	f.IntVar(&o.HookRetries, "hook-retries", 3, "retries of the pre-upgrade hook on exit 31")
	f.DurationVar(&o.HookTimeout, "hook-timeout", 5*time.Minute, "time limit of one pre-upgrade hook attempt")
	f.DurationVar(&o.Grace, "grace", 10*time.Second, "time between SIGTERM and SIGKILL when stopping the node")
	return cmd
}

func newVisorStatusCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "status HOME",
		Short: "Print the supervisor's state: current release, releases, last switch",
		Long: `status prints the release current points at, the stored releases (with a
failed health gate, if any), a switch in progress (journal phase), and the
last switch with its downtime. --format json prints HOME/visor/status.json
as refreshed from the releases directory (docs/visor.md).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			format, err := outputFormat(cmd)
			if err != nil {
				return err
			}
			v, err := visor.ReadStatus(args[0])
			if err != nil {
				return visorErr(err)
			}
			if format == "json" {
				return writeJSON(cmd.OutOrStdout(), v)
			}
			writeVisorStatus(cmd.OutOrStdout(), v)
			return nil
		},
	}
	return cmd
}

func writeVisorStatus(w io.Writer, v *nodestatus.Visor) {
	fmt.Fprintf(w, "current   %s\nstate     %s\n", v.Current, v.State)
	if v.Detail != "" {
		fmt.Fprintf(w, "detail    %s\n", v.Detail)
	}
	if v.Journal != "" {
		fmt.Fprintf(w, "journal   switch in progress, phase %s (visor run resumes it)\n", v.Journal)
	}
	fmt.Fprintln(w, "releases")
	for _, r := range v.Releases {
		mark := " "
		if r.Version == v.Current {
			mark = "*"
		}
		fmt.Fprintf(w, " %s %-12s protocol v%d, min height %d", mark, r.Version, r.Implemented, r.MinHeight)
		if r.GateFailed != "" {
			fmt.Fprintf(w, ", FAILED ITS GATE: %s", r.GateFailed)
		}
		fmt.Fprintln(w)
	}
	if s := v.LastSwitch; s != nil {
		fmt.Fprintf(w, "last switch %s -> %s at height %d: %s", s.From, s.To, s.Height, s.Result)
		if s.Result == "passed" {
			fmt.Fprintf(w, " (downtime %d ms, checkpoint %d ms)", s.DowntimeMS, s.CheckpointMS)
		}
		if s.Reason != "" {
			fmt.Fprintf(w, ": %s", s.Reason)
		}
		fmt.Fprintf(w, "\n  checkpoint %s\n", s.Checkpoint)
	}
}

func newVisorRollbackCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "rollback HOME",
		Short: "Restore the last switch's checkpoint and the release it came from",
		Long: `rollback, with the node stopped, restores the data checkpointed before the
last switch (the data it replaces is kept beside the checkpoint) and points
current back at the old release. The release it leaves is marked so that
visor run does not switch to it again: add a fixed release to move on.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := textOnly(cmd, "forkgate visor status HOME --format json"); err != nil {
				return err
			}
			sw, err := visor.Rollback(cmd.Context(), args[0], cmd.ErrOrStderr())
			if err != nil {
				return visorErr(err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "rolled back %s -> %s: the data is as it was before height %d\n", sw.To, sw.From, sw.Height)
			return nil
		},
	}
	return cmd
}
