package main

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/forkgate/forkgate/release"
	"github.com/forkgate/forkgate/upgradedoc"
	"github.com/spf13/cobra"
)

func init() { register(newUpgradeCmd) }

func newUpgradeCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "upgrade",
		Short: "Write upgrade documents for operators",
	}
	c.AddCommand(newUpgradeDocCmd())
	return c
}

// docReport is the JSON of `upgrade doc`.
type docReport struct {
	Release   string        `json:"release"`
	Out       string        `json:"out"`
	Documents []docReported `json:"documents"`
}

type docReported struct {
	Chain    string `json:"chain"`
	Config   string `json:"config"`
	JSON     string `json:"json"`
	Markdown string `json:"markdown"`
	Items    int    `json:"items"`
	Warnings int    `json:"lint_warnings"`
}

func newUpgradeDocCmd() *cobra.Command {
	var (
		rel, pubkey, parent, reasonFile, out, registry string
		chains, bases, heads, parentHeads, stores      []string
		lead                                           int64
	)
	c := &cobra.Command{
		Use:   "doc --release DIR --pubkey KEY --chain CONFIG... --base OLD_CONFIG... --head H... --out DIR",
		Short: "Write one upgrade document per chain (Markdown and JSON) from real data",
		Long: `doc writes DIR/UPGRADE-<version>-<chain title>.md and .json for each --chain,
with the sections of the Chain33 upgrade regulation (§4.2.4):

  1. the reason: --reason FILE (else the release notes) and the change-record
     lines the chain's config added since its --base;
  2. the new configuration parameters and forks (config diff), with notes;
  3. a suggested configuration for that chain: each fork added or changed,
     at the config's height when the chain has not reached it (--head), in
     the parent's height domain for forks that follow a parent (--parent,
     --parent-head; a parent among --chain lends its suggested heights), or
     at head + --lead when the config's height has passed; checked by lint
     (the release's fork registry, the base, the parent) and by compat
     against the base at the head;
  4. the download path (the release's published stores, or --store) with
     checksum and signature;
  5. the steps, with the commands (fetch, ops check, config set, and the
     supervisor's visor add/run);
  6. the pre- and post-upgrade checks, machine-readable (docs/cli-json.md).

--base, --head and --parent-head are given once for all chains or once per
--chain, in the same order. A missing input is an error naming it (exit 2);
a suggestion that fails lint or compat exits 1 with the findings.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			format, err := outputFormat(cmd)
			if err != nil {
				return err
			}
			switch {
			case rel == "":
				return usageErr("--release DIR is required: the release directory (forkgate release build)")
			case out == "":
				return usageErr("--out DIR is required")
			case len(chains) == 0:
				return usageErr("--chain CONFIG is required: each chain's new config")
			}
			key, err := trustedKey(pubkey)
			if err != nil {
				return err
			}
			if key == nil {
				return usageErr("--pubkey KEY is required: the document names the key operators check the release with")
			}
			in := upgradedoc.Input{Parent: parent, Lead: lead, Key: key, Downloads: nil}
			for _, s := range stores {
				in.Downloads = append(in.Downloads, s)
			}
			if reasonFile != "" {
				b, err := os.ReadFile(reasonFile)
				if err != nil {
					return usageErr("--reason: %v", err)
				}
				if strings.TrimSpace(string(b)) == "" {
					return usageErr("--reason %s is empty: write why this upgrade happens", reasonFile)
				}
				in.Reason, in.ReasonSource = string(b), reasonFile
			}
			if in.Registry, err = loadRegistry(registry); err != nil {
				return err
			}
			for i, c := range chains {
				ci := upgradedoc.ChainInput{Config: c, ParentHead: -1}
				if ci.Base, err = perChain("--base", bases, i, len(chains), true); err != nil {
					return err
				}
				h, err := perChain("--head", heads, i, len(chains), true)
				if err != nil {
					return err
				}
				if ci.Head, err = strconv.ParseInt(h, 10, 64); err != nil || ci.Head < 0 {
					return usageErr("--head %q is not a height", h)
				}
				if ph, _ := perChain("--parent-head", parentHeads, i, len(chains), false); ph != "" && ph != "-" {
					if ci.ParentHead, err = strconv.ParseInt(ph, 10, 64); err != nil || ci.ParentHead < 0 {
						return usageErr("--parent-head %q is not a height", ph)
					}
				}
				in.Chains = append(in.Chains, ci)
			}
			ctx, stop := signalContext()
			defer stop()
			r, err := release.Open(ctx, rel, release.OpenOptions{Key: key})
			if err != nil {
				return releaseErr(err)
			}
			in.Release = r
			if len(in.Downloads) > 0 {
				for i, s := range in.Downloads {
					in.Downloads[i] = release.ReleaseURL(s, r.Manifest.Version)
				}
			}
			docs, err := upgradedoc.Generate(in)
			var ie *upgradedoc.InputError
			var ce *upgradedoc.CheckError
			switch {
			case errors.As(err, &ie):
				return usageErr("%v", err)
			case errors.As(err, &ce):
				return &exitError{code: exitFindings, msg: err.Error()}
			case err != nil:
				return usageErr("%v", err)
			}
			files, err := upgradedoc.WriteFiles(out, docs)
			if err != nil {
				return usageErr("%v", err)
			}
			rep := docReport{Release: r.Manifest.Version, Out: out}
			for i, d := range docs {
				rep.Documents = append(rep.Documents, docReported{Chain: d.Chain.Title, Config: d.Chain.Config, JSON: files[2*i], Markdown: files[2*i+1],
					Items: len(d.Suggested.Items), Warnings: d.Suggested.Lint.Warnings})
			}
			if format == "json" {
				return writeJSON(cmd.OutOrStdout(), rep)
			}
			for i, d := range rep.Documents {
				fmt.Fprintf(cmd.OutOrStdout(), "%s: %d fork item(s) suggested, lint and compat clean\n  %s\n  %s\n", d.Chain, d.Items, d.Markdown, d.JSON)
				for _, it := range docs[i].Suggested.Items {
					fmt.Fprintf(cmd.OutOrStdout(), "    %s = %s  (%s)\n", it.Key, it.Value, it.Basis)
				}
			}
			return nil
		},
	}
	f := c.Flags()
	f.StringVar(&rel, "release", "", "release directory (required)")
	f.StringVar(&pubkey, "pubkey", "", "the release key (.pub file or RW...), checked and named in the documents (required)")
	f.StringSliceVar(&chains, "chain", nil, "a chain's new config (repeatable)")
	f.StringSliceVar(&bases, "base", nil, "the config the chain runs now (once, or once per --chain)")
	f.StringSliceVar(&heads, "head", nil, "the chain's height now (once, or once per --chain)")
	f.StringSliceVar(&parentHeads, "parent-head", nil, "the parent chain's height now, for parent-height forks (once, or once per --chain; - for none)")
	f.StringVar(&parent, "parent", "", "the parent chain's new config, for chains that follow its heights")
	f.StringVar(&reasonFile, "reason", "", "file with the upgrade reason (default: the release notes)")
	f.StringSliceVar(&stores, "store", nil, "store URL the release is published in (default: the release's published.json)")
	f.Int64Var(&lead, "lead", 0, "blocks past the head to suggest for a fork whose configured height has passed (0: refuse)")
	f.StringVar(&registry, "registry", "", "registry file for lint (default: the release's fork registry)")
	f.StringVar(&out, "out", "", "directory for the documents (required)")
	return c
}

// perChain picks the i-th of n chains' value of a flag given once or once
// per chain.
func perChain(flag string, vals []string, i, n int, required bool) (string, error) {
	switch len(vals) {
	case 0:
		if required {
			return "", usageErr("%s is required (once, or once per --chain)", flag)
		}
		return "", nil
	case 1:
		return vals[0], nil
	case n:
		return vals[i], nil
	}
	return "", usageErr("%s is given %d times for %d chains: give it once, or once per --chain in the same order", flag, len(vals), n)
}
