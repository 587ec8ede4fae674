package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/forkgate/forkgate/verify"
	"github.com/spf13/cobra"
)

func init() {
	register(newVerifyCmd)
	register(newVerifyExecCmd)
}

// defaultLibrary is the library verify checks without arguments.
const defaultLibrary = "testdata/chains"

func newVerifyCmd() *cobra.Command {
	var (
		library, old, newBin, report, heights, work string
		window                                      int64
		parallel                                    int
		quiet, keep                                 bool
	)
	cmd := &cobra.Command{
		Use:   "verify [CHAIN_DIR...|--library DIR] [--old BINARY|FIXTURE] [--new BINARY]",
		Short: "Check that a new build upgrades smoothly and syncs fresh to the recorded state hashes",
		Long: `verify checks every chain of a library (default testdata/chains) or the given
chain directories against their recorded fixtures (forkgate record):

  new upgrade     the new build replays the fixture from genesis on a fresh
                  home; every state hash must equal the recorded one;
  smooth upgrade  the old data at height h, then the new build continues on
                  the same data directory (with the chain's current config)
                  to the end of the fixture; default h: one before each fork
                  height inside the fixture, the fork height, and the middle;
  past-forks      every node then produces fresh blocks past the new
                  release's fork heights ([library] extra_blocks at most),
                  and all must agree at every height.

--old FIXTURE (default: each chain's fixture) rebuilds the old data at h from
the fixture alone; --old BINARY has that binary import the fixture's blocks up
to h through its node CLI. --new BINARY drives another build through its node
CLI; by default the new build is this one, in-process.

On a mismatch verify names the first divergent height, the transaction whose
execution diverged, the differing state keys with decoded old and new values
(a walk of the two Merkle trees), and the forks active there.

--format text|json|markdown; --report FILE also writes the report (Markdown
for .md, JSON for .json, else text). Exit codes: 0 all consistent, 1 a
mismatch, 2 unusable input (bad fixture, missing binary, bad flags).`,
		RunE: func(cmd *cobra.Command, args []string) error {
			format, _ := cmd.Flags().GetString("format")
			switch format {
			case "text", "json", "markdown", "md":
			default:
				return usageErr("--format must be text, json or markdown, not %q", format)
			}
			if err := firstErr(nonEmptyArgs("CHAIN_DIR", args), inRange("parallel", int64(parallel), 1, 64), atLeast("smooth-window", window, -1)); err != nil {
				return err
			}
			hs, err := parseHeights(heights)
			if err != nil {
				return err
			}
			if library != "" && len(args) > 0 {
				return usageErr("give chain directories or --library, not both")
			}
			var chains []*verify.Chain
			if len(args) == 0 {
				if library == "" {
					library = defaultLibrary
				}
				if chains, err = verify.LoadLibrary(library); err != nil {
					return usageErr("%v", err)
				}
			}
			for _, dir := range args {
				c, err := verify.LoadChain(dir)
				if err != nil {
					return usageErr("%v", err)
				}
				chains = append(chains, c)
			}
			bars := newBars(cmd.ErrOrStderr(), quiet)
			o := verify.Options{Chains: chains, Old: old, New: newBin, Heights: hs, SmoothWindow: window, Parallel: parallel, WorkDir: work, Keep: keep}
			if bars != nil {
				o.Progress = bars
			}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			rep, err := verify.Run(ctx, o)
			if bars != nil {
				bars.Wait()
			}
			if err != nil {
				var ie *verify.InputError
				if errors.As(err, &ie) {
					return usageErr("%v", err)
				}
				return usageErr("%v", err)
			}
			out := cmd.OutOrStdout()
			switch format {
			case "json":
				if err := rep.WriteJSON(out); err != nil {
					return err
				}
			case "markdown", "md":
				rep.WriteMarkdown(out)
			default:
				rep.WriteText(out)
			}
			if report != "" {
				var b bytes.Buffer
				switch strings.ToLower(filepath.Ext(report)) {
				case ".md", ".markdown":
					rep.WriteMarkdown(&b)
				case ".json":
					rep.WriteJSON(&b)
				default:
					rep.WriteText(&b)
				}
				if err := os.WriteFile(report, b.Bytes(), 0o644); err != nil {
					return usageErr("--report: %v", err)
				}
			}
			switch rep.ExitCode {
			case 0:
				return nil
			case 1:
				return findings()
			}
			return &exitError{code: exitUsage}
		},
	}
	f := cmd.Flags()
	f.StringVar(&library, "library", "", "library directory of chain directories (default testdata/chains)")
	f.StringVar(&old, "old", "", "old release: a fixture file or a forkgate binary (default: each chain's fixture)")
	f.StringVar(&newBin, "new", "", "new release: a forkgate binary (default: this build, in-process)")
	f.StringVar(&report, "report", "", "also write the report to FILE (.md Markdown, .json JSON, else text)")
	f.StringVar(&heights, "heights", "", "smooth-upgrade heights h1,h2,... (default: around each fork, and the middle)")
	f.Int64Var(&window, "smooth-window", 0, "blocks each smooth upgrade replays past its height, at least to the next fork (0: 5; -1: to the end); the last one always runs to the end")
	f.IntVar(&parallel, "parallel", verify.DefaultParallel(), "scenarios run at once (default: the machine's CPUs)")
	f.BoolVar(&quiet, "quiet", false, "no progress bars")
	f.StringVar(&work, "work", "", "directory for the scratch homes (default: a temporary directory)")
	f.BoolVar(&keep, "keep", false, "keep the scratch homes (with --work)")
	return cmd
}

func parseHeights(s string) ([]int64, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var out []int64
	for _, p := range strings.Split(s, ",") {
		h, err := strconv.ParseInt(strings.TrimSpace(p), 10, 64)
		if err != nil || h < 1 {
			return nil, usageErr("--heights: %q is not a height (give h1,h2,... with each h ≥ 1)", p)
		}
		out = append(out, h)
	}
	return out, nil
}

// newVerifyExecCmd is the hidden command verify runs on another build to
// diagnose a mismatch with that build: it rebuilds the fixture's state at
// height-1, executes the block at height, and writes the outcome as JSON
// (verify.ExecResult), leaving the state store in --dir for a tree diff.
func newVerifyExecCmd() *cobra.Command {
	var fixture, config, dir, out string
	var height int64
	cmd := &cobra.Command{
		Use:    "verify-exec --fixture F --config C --height H --dir D --out FILE",
		Short:  "Execute one fixture block with this build (used by verify for a diagnosis)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := textOnly(cmd, "the --out file, which is JSON"); err != nil {
				return err
			}
			if fixture == "" || config == "" || dir == "" || out == "" || height < 1 {
				return usageErr("verify-exec needs --fixture, --config, --height, --dir and --out")
			}
			f, err := verify.ReadFixture(fixture)
			if err != nil {
				return usageErr("%v", err)
			}
			res, err := verify.ExecBlock(f, config, height, dir)
			if err != nil {
				return usageErr("%v", err)
			}
			b, err := json.MarshalIndent(res, "", "  ")
			if err != nil {
				return err
			}
			if err := os.WriteFile(out, append(b, '\n'), 0o644); err != nil {
				return usageErr("%v", err)
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "executed block %d: state hash %s\n", height, res.Root)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&fixture, "fixture", "", "fixture file")
	f.StringVar(&config, "config", "", "config.toml the block runs under")
	f.Int64Var(&height, "height", 0, "height of the block to execute")
	f.StringVar(&dir, "dir", "", "new directory for the state store")
	f.StringVar(&out, "out", "", "JSON output file")
	return cmd
}
