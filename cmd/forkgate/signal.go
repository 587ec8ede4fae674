package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/forkgate/forkgate/signal"
	"github.com/forkgate/forkgate/signal/sim"
)

func init() { register(newSignalCmd) }

func newSignalCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "signal",
		Short: "Version-signal activation: simulate producer signalling scenarios",
	}
	cmd.AddCommand(newSignalSimulateCmd())
	return cmd
}

func newSignalSimulateCmd() *cobra.Command {
	var each bool
	cmd := &cobra.Command{
		Use:   "simulate FILE",
		Short: "Run a TOML signalling scenario and check its expectations",
		Long: `simulate plays a scenario (versions, producers, mode, then steps of blocks,
maintenances, proposals and expectations) on a fresh in-memory store.

By default it prints the state of every version at the end; --each prints it
after every step. Exit 1 if an expectation fails, 2 if the file is malformed
(the message names file:line). See docs/signal.md for both formats.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			format, err := outputFormat(cmd)
			if err != nil {
				return err
			}
			data, err := os.ReadFile(args[0])
			if err != nil {
				return usageErr("cannot read scenario: %v", err)
			}
			sc, err := sim.Parse(args[0], data)
			if err != nil {
				return usageErr("%v", err)
			}
			rep, err := sc.Run(each)
			if err != nil {
				var se *sim.Error
				if errors.As(err, &se) {
					return usageErr("%v", err)
				}
				return err
			}
			out := cmd.OutOrStdout()
			if format == "json" {
				if err := writeJSON(out, rep); err != nil {
					return err
				}
			} else {
				writeReportText(out, rep)
			}
			if !rep.OK {
				return findings()
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&each, "each", false, "print the state after every step, not only at the end")
	return cmd
}

func writeReportText(w io.Writer, r *sim.Report) {
	title := r.File
	if r.Name != "" {
		title += " — " + r.Name
	}
	fmt.Fprintf(w, "scenario %s [%s mode]\n", title, r.Mode)
	for _, s := range r.Steps {
		fmt.Fprintf(w, "\nstep %d (line %d): %s\n", s.Index, s.Line, s.Action)
		if s.Note != "" {
			fmt.Fprintf(w, "  # %s\n", s.Note)
		}
		if s.Error != "" {
			fmt.Fprintf(w, "  error: %s\n", s.Error)
		}
		if s.Status != nil {
			writeStatusText(w, s.Status)
		}
	}
	fmt.Fprintf(w, "\nfinal state after height %d (time %d):\n", r.Height, r.Time)
	writeStatusText(w, &r.Final)
	for _, f := range r.Failures {
		fmt.Fprintf(w, "FAIL %s:%d (step %d): %s\n", r.File, f.Line, f.Index, f.Message)
	}
	if r.OK {
		fmt.Fprintf(w, "ok: %d expectation(s) met\n", r.Expectations)
	} else {
		fmt.Fprintf(w, "FAILED: %d failure(s)\n", len(r.Failures))
	}
}

func writeStatusText(w io.Writer, st *signal.Status) {
	fmt.Fprintf(w, "  %-8s %-10s %-7s %-12s %s\n", "version", "state", "since", "tally", "slots / expected")
	for _, v := range st.Versions {
		tally := fmt.Sprintf("%d/%d need %d", v.Tally.Count, v.Tally.Denominator, v.Tally.Threshold)
		extra := v.Expected.Text
		if v.CarriedBy != 0 {
			extra += fmt.Sprintf(" (carried by %d)", v.CarriedBy)
		}
		if !v.Implemented {
			extra += " [not implemented here]"
		}
		fmt.Fprintf(w, "  %-8d %-10s %-7d %-12s %s  %s\n", v.Version, v.State, v.SinceHeight, tally, v.Tally.Slots, extra)
	}
	if st.LatestVersion != 0 {
		fmt.Fprintf(w, "  latest_version %d\n", st.LatestVersion)
	}
	var ps []string
	for _, p := range st.Producers {
		ps = append(ps, fmt.Sprintf("%s=%d", p.Producer, p.LastVersion))
	}
	fmt.Fprintf(w, "  producers (last version): %s\n", strings.Join(ps, " "))
	for _, p := range st.Params {
		fmt.Fprintf(w, "  param %s = %d\n", p.Name, p.Value)
	}
	for _, p := range st.Proposals {
		fmt.Fprintf(w, "  proposal %d: %s = %d by %s, %d/%d approvals\n", p.ID, p.Param, p.Value, p.Proposer, p.Approvals, p.Needed)
	}
	if st.Newer != nil {
		fmt.Fprintf(w, "  WARNING: %s (%d of %d producers signal up to version %d)\n", st.Newer.Message, st.Newer.Count, st.Newer.Denominator, st.Newer.Highest)
	}
	if st.Halt != nil {
		fmt.Fprintf(w, "  HALT: %s\n", st.Halt.Message)
	}
}
