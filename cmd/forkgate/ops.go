package main

import (
	"fmt"
	"io"

	"github.com/forkgate/forkgate/ops"
	"github.com/forkgate/forkgate/upgradedoc"
	"github.com/spf13/cobra"
)

func init() { register(newOpsCmd) }

func newOpsCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "ops",
		Short: "Operator checks against an upgrade document",
	}
	c.AddCommand(newOpsCheckCmd())
	return c
}

func newOpsCheckCmd() *cobra.Command {
	var docPath, binary, home, pubkey string
	c := &cobra.Command{
		Use:   "check --doc DOC.json (--binary PATH | --home HOME)",
		Short: "Check that a binary and a node home match an upgrade document",
		Long: `check makes sure the version obtained is the one the upgrade document
describes (the regulation's §4.4), running the document's checks that need
no running node:

  pre.release.signature  the signature over the checksums, with --pubkey or
                         the document's key; for a bare binary, the chain
                         the document carries (signature -> checksums ->
                         manifest -> binary sha256)
  pre.binary.sha256      the binary (or the release's) sha256
  pre.binary.version     what the binary reports for "version --format
                         json": version, commit, protocol, registry and
                         schedule hashes (run only once its sha256 matched)
  pre.config.forks       HOME/config.toml is the document's chain and holds
                         every suggested fork item with the suggested value

--binary takes a forkgate binary, a release directory or an archive. With
--home and no --binary, the supervisor's staged binary for the release
(HOME/visor/releases/<version>/bin/forkgate) is checked when present.
Exit 0 when all match; 1 with one line per difference (what differs and
what to do); 2 for unusable input.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			format, err := outputFormat(cmd)
			if err != nil {
				return err
			}
			if docPath == "" {
				return usageErr("--doc DOC.json is required (forkgate upgrade doc writes it)")
			}
			if binary == "" && home == "" {
				return usageErr("give --binary PATH, --home HOME, or both")
			}
			doc, err := upgradedoc.Read(docPath)
			if err != nil {
				return usageErr("--doc: %v", err)
			}
			key, err := trustedKey(pubkey)
			if err != nil {
				return err
			}
			ctx, stop := signalContext()
			defer stop()
			rep, err := ops.Check(ctx, doc, docPath, ops.Options{Binary: binary, Home: home, Key: key})
			if err != nil {
				return usageErr("%v", err)
			}
			return emit(cmd, format, rep, func(w io.Writer) { printOps(w, rep) }, rep.OK)
		},
	}
	c.Flags().StringVar(&docPath, "doc", "", "the chain's upgrade document (JSON) (required)")
	c.Flags().StringVar(&binary, "binary", "", "forkgate binary, release directory or archive to check")
	c.Flags().StringVar(&home, "home", "", "node home whose config.toml to check")
	c.Flags().StringVar(&pubkey, "pubkey", "", "trusted release key (default: the document's)")
	return c
}

func printOps(w io.Writer, rep *ops.Report) {
	fmt.Fprintf(w, "ops check: chain %s, release %s (key from %s)\n", rep.Chain, rep.Release, rep.KeyFrom)
	for _, r := range rep.Results {
		fmt.Fprintf(w, "  %-7s %-22s %s\n", r.Result, r.ID, r.What)
		if r.Message != "" {
			fmt.Fprintf(w, "          (%s)\n", r.Message)
		}
	}
	fails := 0
	for _, r := range rep.Results {
		for _, d := range r.Differences {
			fails++
			fmt.Fprintf(w, "DIFFERS %s: %s\n", r.ID, d.Line())
		}
	}
	if fails == 0 {
		fmt.Fprintln(w, "everything checked matches the document")
	} else {
		fmt.Fprintf(w, "%d difference(s) from the document\n", fails)
	}
}
