package main

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/forkgate/forkgate/campaign"
	"github.com/forkgate/forkgate/dashboard"
	"github.com/forkgate/forkgate/fleet"
	"github.com/forkgate/forkgate/upgradedoc"
	"github.com/spf13/cobra"
)

func init() { register(newCampaignCmd) }

func newCampaignCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "campaign",
		Short: "The upgrade campaign with each project party: planned, notified, acknowledged, upgraded, verified",
		Long: `campaign keeps, for one release, every project party, its chains (upgrade
document and nodes) and its state, in one versioned file written atomically:

  planned       added (campaign add)
  notified      the appointment (time and reason) was sent (campaign notify),
                to a file outbox (contact file:DIR, the default) or a webhook
                (contact webhook:URL, a JSON POST)
  acknowledged  the party confirmed the height it will use (campaign ack);
                the height passes lint and the compatibility check first
  upgraded      every node of the party runs the release's binary, and
  verified      every post-check passes: both only from campaign check,
                which runs the post-checks against the party's nodes; a
                wrong binary keeps the party acknowledged

Feedback is recorded with its time (campaign feedback); every transition is
logged with its evidence. campaign status prints the table.`,
	}
	var file string
	c.PersistentFlags().StringVar(&file, "file", "campaign.json", "the campaign file")
	load := func() (*campaign.Campaign, error) {
		cp, err := campaign.Load(file)
		if err != nil {
			return nil, usageErr("%v", err)
		}
		return cp, nil
	}
	save := func(cp *campaign.Campaign) error {
		if err := cp.Save(file); err != nil {
			return fmt.Errorf("save %s: %v", file, err)
		}
		return nil
	}

	c.AddCommand(&cobra.Command{
		Use: "new RELEASE", Short: "Start a campaign file for a release", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if _, err := campaign.Load(file); err == nil {
				return usageErr("%s already holds a campaign: keep it, or give another --file", file)
			}
			return save(campaign.New(args[0]))
		}})

	var contact, doc, nodes string
	add := &cobra.Command{
		Use: "add PARTY --doc DOC.json --nodes URL,... [--contact file:DIR|webhook:URL]", Short: "Add a planned party with a chain", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cp, err := load()
			if err != nil {
				return err
			}
			d, err := upgradedoc.Read(doc)
			if err != nil {
				return usageErr("--doc: %v", err)
			}
			if d.Release.Version != cp.Release {
				return usageErr("--doc is for release %s, the campaign for %s", d.Release.Version, cp.Release)
			}
			abs, err := filepath.Abs(doc) // the file is read later, from anywhere
			if err != nil {
				return usageErr("--doc: %v", err)
			}
			if _, err := fleet.ParseTargets(nodes); err != nil {
				return usageErr("--nodes: %v", err)
			}
			ch := campaign.Chain{Title: d.Chain.Title, Doc: abs, Nodes: strings.Split(nodes, ",")}
			if p, err := cp.Party(args[0]); err == nil {
				p.Chains = append(p.Chains, ch) // another chain of the same party
			} else if err := cp.Add(campaign.Party{Name: args[0], Contact: contact, Chains: []campaign.Chain{ch}}, time.Now()); err != nil {
				return usageErr("%v", err)
			}
			return save(cp)
		}}
	add.Flags().StringVar(&contact, "contact", "file:outbox", "file:DIR (outbox) or webhook:URL")
	add.Flags().StringVar(&doc, "doc", "", "the chain's upgrade document")
	add.Flags().StringVar(&nodes, "nodes", "", "the party's nodes' status APIs")
	c.AddCommand(add)

	var at, reason string
	notify := &cobra.Command{
		Use: "notify PARTY... --at TIME --reason TEXT", Short: "Send parties the appointment (time and reason)", Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cp, err := load()
			if err != nil {
				return err
			}
			when, err := time.Parse(time.RFC3339, at)
			if err != nil {
				return usageErr("--at %q: an RFC 3339 time (2026-12-20T10:00:00Z)", at)
			}
			ctx, stop := signalContext()
			defer stop()
			for _, name := range args {
				if err := cp.Notify(ctx, name, when, reason, filepath.Dir(file), time.Now()); err != nil {
					save(cp)
					return &exitError{code: exitFindings, msg: err.Error()}
				}
			}
			return save(cp)
		}}
	notify.Flags().StringVar(&at, "at", "", "the upgrade time (RFC 3339)")
	notify.Flags().StringVar(&reason, "reason", "", "why the upgrade happens")
	c.AddCommand(notify)

	var fork string
	var height, head int64
	ack := &cobra.Command{
		Use: "ack PARTY --fork KEY --height H --head HEAD", Short: "Record the height a party confirms (lint and compat checked)", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cp, err := load()
			if err != nil {
				return err
			}
			p, err := cp.Party(args[0])
			if err != nil {
				return usageErr("%v", err)
			}
			ch := p.Chains[0]
			d, err := upgradedoc.Read(ch.Doc)
			if err != nil {
				return usageErr("%v", err)
			}
			if head == 0 {
				head = d.Chain.Head
			}
			if err := cp.Acknowledge(p.Name, ch.Title, fork, height, head, d, time.Now()); err != nil {
				return &exitError{code: exitFindings, msg: err.Error()}
			}
			return save(cp)
		}}
	ack.Flags().StringVar(&fork, "fork", "", "the fork item (scope.Name)")
	ack.Flags().Int64Var(&height, "height", 0, "the height the party will use")
	ack.Flags().Int64Var(&head, "head", 0, "the chain's height now (default: the document's head)")
	c.AddCommand(ack)

	c.AddCommand(&cobra.Command{
		Use: "feedback PARTY TEXT", Short: "Record a party's feedback with its time", Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			cp, err := load()
			if err != nil {
				return err
			}
			if err := cp.AddFeedback(args[0], args[1], time.Now()); err != nil {
				return usageErr("%v", err)
			}
			return save(cp)
		}})

	var timeout time.Duration
	chk := &cobra.Command{
		Use: "check [PARTY...]", Short: "Run the post-checks against parties' nodes and move them by the evidence",
		RunE: func(cmd *cobra.Command, args []string) error {
			cp, err := load()
			if err != nil {
				return err
			}
			if len(args) == 0 {
				for _, p := range cp.Parties {
					args = append(args, p.Name)
				}
			}
			ctx, stop := signalContext()
			defer stop()
			for _, name := range args {
				if _, err := cp.Check(ctx, name, ".", timeout, time.Now()); err != nil {
					fmt.Fprintf(cmd.ErrOrStderr(), "%s: %v\n", name, err)
				}
			}
			if err := save(cp); err != nil {
				return err
			}
			printCampaign(cmd.OutOrStdout(), cp)
			for _, p := range cp.Parties {
				if p.State != campaign.Verified {
					return findings()
				}
			}
			return nil
		}}
	chk.Flags().DurationVar(&timeout, "timeout", 5*time.Second, "bound on each request to a node")
	c.AddCommand(chk)

	c.AddCommand(&cobra.Command{
		Use: "status", Short: "Print every party's state", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			format, err := outputFormat(cmd)
			if err != nil {
				return err
			}
			cp, err := load()
			if err != nil {
				return err
			}
			if format == "json" {
				return writeJSON(cmd.OutOrStdout(), cp)
			}
			printCampaign(cmd.OutOrStdout(), cp)
			return nil
		}})
	return c
}

func printCampaign(w io.Writer, cp *campaign.Campaign) {
	fmt.Fprintf(w, "campaign for release %s\n", cp.Release)
	for _, r := range campaignTable(cp) {
		fmt.Fprintf(w, "  %-16s %-13s %-20s %s\n    %s\n", r.Party, r.State, r.Since, r.Chains, r.Evidence)
	}
}

func campaignTable(cp *campaign.Campaign) []dashboard.CampaignRow {
	var rows []dashboard.CampaignRow
	for _, p := range cp.Parties {
		var chains []string
		for _, ch := range p.Chains {
			chains = append(chains, ch.Title)
		}
		rows = append(rows, dashboard.CampaignRow{Party: p.Name, Chains: strings.Join(chains, ", "), State: string(p.State),
			Since: p.Since.Format(time.RFC3339), Evidence: p.Evidence})
	}
	return rows
}

// campaignRows reads a campaign file for the dashboard.
func campaignRows(path string) ([]dashboard.CampaignRow, error) {
	cp, err := campaign.Load(path)
	if err != nil {
		return nil, err
	}
	return campaignTable(cp), nil
}
