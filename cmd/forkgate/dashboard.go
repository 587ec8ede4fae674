package main

import (
	"time"

	"github.com/forkgate/forkgate/dashboard"
	"github.com/forkgate/forkgate/fleet"
	"github.com/forkgate/forkgate/upgradedoc"
	"github.com/spf13/cobra"
)

func init() { register(newDashboardCmd) }

func newDashboardCmd() *cobra.Command {
	var ff fleetFlags
	var docPath, phase, httpAddr, campaignFile string
	var interval time.Duration
	var lag int64
	c := &cobra.Command{
		Use:   "dashboard (--nodes URL,... | --net DIR) [--doc DOC.json --phase pre|post] [--campaign FILE]",
		Short: "Serve a live web page of a fleet: heights, agreement, versions, signalling, forks, upgrade state",
		Long: `dashboard checks the fleet every --interval and serves a page on --http
(server-rendered, embedded in the binary, no external assets) that updates
live through server-sent events: per node its state (ok, lagging, halted,
split, unreachable), height, release and upgrade state, protocol version,
state hash, each version's signalling progress towards its threshold as a
chart, and its forks with their heights. With --doc the page shows the
document's pre or post checks and their findings; with --campaign, the
campaign's parties and their states. GET /metrics serves the fleet metrics,
GET /report.json the last report.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			targets, err := ff.targets()
			if err != nil {
				return err
			}
			w := &fleet.Watcher{Targets: targets, Interval: interval, Metrics: fleet.NewMetrics(), Options: fleet.Options{Lag: lag, Timeout: ff.timeout}}
			o := dashboard.Options{Title: "forkgate fleet"}
			if docPath != "" {
				doc, err := upgradedoc.Read(docPath)
				if err != nil {
					return usageErr("--doc: %v", err)
				}
				if phase != upgradedoc.PhasePre && phase != upgradedoc.PhasePost {
					return usageErr("--phase %q: pre or post", phase)
				}
				w.Doc, w.DocPath, w.Phase = doc, docPath, phase
				o.Title = "forkgate " + phase + "-upgrade checks: " + doc.Chain.Title
			}
			if campaignFile != "" {
				if _, err := campaignRows(campaignFile); err != nil {
					return usageErr("--campaign: %v", err)
				}
				o.Campaign = func() ([]dashboard.CampaignRow, error) { return campaignRows(campaignFile) }
			}
			ctx, stop := signalContext()
			defer stop()
			return watchFleet(ctx, cmd.OutOrStdout(), w, httpAddr, o)
		},
	}
	ff.add(c)
	c.Flags().StringVar(&docPath, "doc", "", "an upgrade document whose checks to run")
	c.Flags().StringVar(&phase, "phase", "post", "with --doc: pre or post")
	c.Flags().StringVar(&campaignFile, "campaign", "", "a campaign file (forkgate campaign) to show")
	c.Flags().StringVar(&httpAddr, "http", "127.0.0.1:9190", "address to serve the page on")
	c.Flags().DurationVar(&interval, "interval", 2*time.Second, "time between checks")
	c.Flags().Int64Var(&lag, "lag", 5, "blocks behind the highest node before a node counts as lagging")
	return c
}
