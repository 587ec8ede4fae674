package main

import (
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/forkgate/forkgate/verify"
	"github.com/spf13/cobra"
)

func init() { register(newRecordCmd) }

func newRecordCmd() *cobra.Command {
	var (
		blocks int64
		out    string
		quiet  bool
	)
	cmd := &cobra.Command{
		Use:   "record CHAIN_DIR... [--blocks N] [--out FILE]",
		Short: "Record a library chain's fixture: blocks, state hashes, tx outcomes, write sets",
		Long: `record runs each chain directory's chain from genesis with this build (a solo
node on a scratch home, with the [node] workload) and writes its fixture
(default CHAIN_DIR/fixture.gz): a versioned, gzip-compressed file with the
blocks (the node's canonical encoding), the state hash at every height, each
transaction's result code and write-set digest, and each height's write set,
from which verify rebuilds the recording node's state at any height.

--blocks N records heights 1..N (default: [library] blocks). See
docs/verify.md. Exit codes: 0 ok, 2 unusable input.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := textOnly(cmd, "forkgate verify CHAIN_DIR --format json (the fixture header is JSON too: docs/verify.md)"); err != nil {
				return err
			}
			if err := firstErr(nonEmptyArgs("CHAIN_DIR", args), atLeast("blocks", blocks, 0)); err != nil {
				return err
			}
			if out != "" && len(args) > 1 {
				return usageErr("--out names one file: give one CHAIN_DIR with it")
			}
			for _, dir := range args {
				c, err := verify.LoadChain(dir)
				if err != nil {
					return usageErr("%v", err)
				}
				path := out
				if path == "" {
					path = c.FixturePath()
				}
				bars := newBars(cmd.ErrOrStderr(), quiet)
				o := verify.RecordOptions{Blocks: blocks}
				if bars != nil {
					total := blocks
					if total == 0 {
						total = c.Lib.Blocks
					}
					bars.Start(c.Name, 2*total)
					var last int64
					o.Progress = func(done, _ int64) {
						bars.Add(c.Name, done-last)
						last = done
					}
				}
				f, err := verify.Record(c, o)
				if bars != nil {
					bars.Finish(c.Name, err != nil)
					bars.Wait()
				}
				if err != nil {
					return usageErr("%v", err)
				}
				if err := f.WriteFile(path); err != nil {
					return usageErr("%v", err)
				}
				st, _ := os.Stat(path)
				fmt.Fprintf(cmd.OutOrStdout(), "recorded %s: heights %d..%d, %d txs, %s; %s (%d KB)\n",
					c.Name, f.Header.From, f.Header.To, f.Header.Txs, actionSummary(f.Header.Actions), path, st.Size()/1024)
			}
			return nil
		},
	}
	cmd.Flags().Int64Var(&blocks, "blocks", 0, "record heights 1..N (default: [library] blocks)")
	cmd.Flags().StringVar(&out, "out", "", "fixture file (default CHAIN_DIR/fixture.gz)")
	cmd.Flags().BoolVar(&quiet, "quiet", false, "no progress bar")
	return cmd
}

// actionSummary counts successful transactions per executor.
func actionSummary(actions map[string]int64) string {
	per := map[string]int64{}
	for k, v := range actions {
		exec, _, _ := strings.Cut(k, ".")
		per[exec] += v
	}
	names := make([]string, 0, len(per))
	for n := range per {
		names = append(names, n)
	}
	sort.Strings(names)
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = fmt.Sprintf("%s %d", n, per[n])
	}
	return "ok by executor: " + strings.Join(parts, ", ")
}
