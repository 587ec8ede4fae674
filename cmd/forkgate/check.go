package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/forkgate/forkgate/dashboard"
	"github.com/forkgate/forkgate/fleet"
	"github.com/forkgate/forkgate/upgradedoc"
	"github.com/spf13/cobra"
)

func init() { register(newCheckCmd) }

// fleetFlags are the flags that name a fleet.
type fleetFlags struct {
	nodes   string
	net     string
	timeout time.Duration
}

func (f *fleetFlags) add(c *cobra.Command) {
	c.Flags().StringVar(&f.nodes, "nodes", "", "status APIs: URL,URL,... or name=URL,... (host:port works)")
	c.Flags().StringVar(&f.net, "net", "", "a forkgate net directory: check its nodes")
	c.Flags().DurationVar(&f.timeout, "timeout", 5*time.Second, "bound on each request to a node")
}

func (f *fleetFlags) targets() ([]fleet.Target, error) {
	switch {
	case f.nodes != "" && f.net != "":
		return nil, usageErr("give --nodes or --net, not both")
	case f.nodes != "":
		ts, err := fleet.ParseTargets(f.nodes)
		if err != nil {
			return nil, usageErr("--nodes: %v", err)
		}
		return ts, nil
	case f.net != "":
		ts, err := netTargets(f.net)
		if err != nil {
			return nil, usageErr("--net: %v", err)
		}
		return ts, nil
	}
	return nil, usageErr("give the nodes to check: --nodes URL,... or --net DIR")
}

func newCheckCmd() *cobra.Command {
	var ff fleetFlags
	var docPath string
	var lag int64
	var allow []string
	var watch bool
	var httpAddr string
	var interval time.Duration
	c := &cobra.Command{
		Use:   "check pre|post --doc DOC.json (--nodes URL,... | --net DIR)",
		Short: "Pre- and post-upgrade status checks across the nodes of a chain",
		Long: `check reads every node's status API at once and runs the upgrade
document's pre or post checks against the whole fleet (the regulation's
§4.3-4.4), plus the fleet's own:

  pre.node.before-activation  each node is below the first activation height
  pre.config.forks            each node's schedule holds the suggested forks
  pre.nodes.agree / post.nodes.agree
                              every node holds the same state hash at common
                              heights; when they split, a binary search finds
                              the first height where each minority left the
                              majority, and names the nodes on each side
  post.node.version           each node runs the release (version, protocol,
                              and the binary's sha256 when the node reports it)
  post.node.forks-active      each suggested fork active from its height
  post.node.advancing         each node past the activation height
  fleet.nodes.reachable       every status API answers
  fleet.node.release (pre)    each node runs a release the document allows
                              (its release or the previous one; --allow more)
  fleet.signal.on-track (pre) producers signalling (or set to signal) the
                              new protocol version reach its threshold
  fleet.nodes.schedule        every node holds the same fork schedule
  fleet.node.halted           no node stopped for an upgrade (halted)
  fleet.node.lagging          no node more than --lag blocks behind

The release and binary checks read files: with --net they run through ops
check on each home (the supervisor's staged binary, the config); otherwise
run forkgate ops check on each node's machine.

With --watch, check keeps checking every --interval, prints one line per
check, and serves the fleet metrics (GET /metrics) and the dashboard (GET /)
on --http until interrupted.

Exit 0 when every check passes; 1 with one line per finding (what, on which
node, what to do); 2 for unusable input.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			format, err := outputFormat(cmd)
			if err != nil {
				return err
			}
			phase := args[0]
			if phase != upgradedoc.PhasePre && phase != upgradedoc.PhasePost {
				return usageErr("check %q: say pre or post", phase)
			}
			if docPath == "" {
				return usageErr("--doc DOC.json is required (forkgate upgrade doc writes it)")
			}
			doc, err := upgradedoc.Read(docPath)
			if err != nil {
				return usageErr("--doc: %v", err)
			}
			targets, err := ff.targets()
			if err != nil {
				return err
			}
			ctx, stop := signalContext()
			defer stop()
			if watch {
				w := &fleet.Watcher{Targets: targets, Doc: doc, DocPath: docPath, Phase: phase, Interval: interval,
					Metrics: fleet.NewMetrics(), Options: fleet.Options{Lag: lag, Allow: allow, Timeout: ff.timeout}}
				return watchFleet(ctx, cmd.OutOrStdout(), w, httpAddr, dashboard.Options{Title: "forkgate " + phase + "-upgrade checks: " + doc.Chain.Title})
			}
			snap := fleet.Collect(ctx, targets, ff.timeout)
			rep, err := fleet.Check(ctx, snap, doc, docPath, phase, fleet.Options{Lag: lag, Allow: allow, Timeout: ff.timeout})
			if err != nil {
				return usageErr("%v", err)
			}
			return emit(cmd, format, rep, func(w io.Writer) { printFleet(w, rep) }, rep.OK)
		},
	}
	ff.add(c)
	c.Flags().StringVar(&docPath, "doc", "", "the chain's upgrade document (JSON) (required)")
	c.Flags().Int64Var(&lag, "lag", 5, "blocks behind the highest node before a node counts as lagging")
	c.Flags().StringSliceVar(&allow, "allow", nil, "further releases the pre-check accepts")
	c.Flags().BoolVar(&watch, "watch", false, "keep checking; serve metrics and the dashboard on --http")
	c.Flags().StringVar(&httpAddr, "http", "127.0.0.1:9190", "with --watch: address of /metrics and the dashboard")
	c.Flags().DurationVar(&interval, "interval", 2*time.Second, "with --watch: time between checks")
	return c
}

// watchFleet runs the watcher and serves its metrics and dashboard until
// ctx ends, printing one line per check.
func watchFleet(ctx context.Context, out io.Writer, w *fleet.Watcher, addr string, o dashboard.Options) error {
	srv := dashboard.New(w, o)
	errc := make(chan error, 1)
	go func() {
		errc <- dashboard.Serve(ctx, addr, srv, func(a string) {
			fmt.Fprintf(out, "dashboard http://%s/  metrics http://%s/metrics\n", a, a)
		})
	}()
	go w.Run(ctx, func(rep *fleet.Report, err error) {
		if err != nil {
			fmt.Fprintf(out, "check failed: %v\n", err)
			return
		}
		agree := "agree"
		if !rep.Agreement.Agree {
			agree = fmt.Sprintf("split at %d", rep.Agreement.SplitHeight)
		}
		counts := map[string]int{}
		for _, n := range rep.Nodes {
			counts[n.State]++
		}
		fmt.Fprintf(out, "%s highest %d, %s, ok %d lagging %d halted %d split %d unreachable %d, %d finding(s)\n",
			rep.Time.Format("15:04:05"), rep.MaxHeight, agree, counts[fleet.StateOK], counts[fleet.StateLagging],
			counts[fleet.StateHalted], counts[fleet.StateSplit], counts[fleet.StateUnreachable], len(rep.Findings()))
	})
	err := <-errc
	if err != nil {
		return usageErr("%v", err)
	}
	return nil
}

func printFleet(w io.Writer, rep *fleet.Report) {
	fmt.Fprintf(w, "%s-upgrade check: chain %s, release %s, %d node(s), highest %d\n", rep.Phase, rep.Chain, rep.Release, len(rep.Nodes), rep.MaxHeight)
	fmt.Fprintf(w, "  %-10s %-12s %8s %6s %-10s %-14s %s\n", "node", "state", "height", "behind", "release", "upgrade", "state hash")
	for _, n := range rep.Nodes {
		hash := n.StateHash
		if len(hash) > 16 {
			hash = hash[:16]
		}
		fmt.Fprintf(w, "  %-10s %-12s %8d %6d %-10s %-14s %s\n", n.Name, n.State, n.Height, n.Behind, n.AppVersion, n.Upgrade, hash)
	}
	if a := rep.Agreement; !a.Agree && len(a.Groups) > 1 {
		for i, g := range a.Groups {
			fmt.Fprintf(w, "  group %d: %s\n", i+1, strings.Join(g, ","))
		}
	}
	for _, r := range rep.Results {
		fmt.Fprintf(w, "  %-7s %-27s %s\n", r.Result, r.ID, r.What)
		if r.Message != "" {
			fmt.Fprintf(w, "          (%s)\n", r.Message)
		}
	}
	fs := rep.Findings()
	for _, f := range fs {
		fmt.Fprintln(w, "FINDING "+f.Line())
	}
	if len(fs) == 0 {
		fmt.Fprintf(w, "every %s-upgrade check passed\n", rep.Phase)
	} else {
		fmt.Fprintf(w, "%d finding(s)\n", len(fs))
	}
}
