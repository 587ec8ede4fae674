package main

import (
	"fmt"
	"strings"

	"github.com/forkgate/forkgate/forkfile"
	"github.com/forkgate/forkgate/regscan"
	"github.com/spf13/cobra"
)

func init() { register(newRegistryCmd) }

func newRegistryCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "registry",
		Short: "Make registries of the forks a codebase registers",
	}
	c.AddCommand(newRegistryScanCmd())
	return c
}

// scanReport is the JSON schema of `registry scan`.
type scanReport struct {
	Dirs    []string `json:"dirs"`
	Files   int      `json:"files"`
	Forks   int      `json:"forks"`
	Skipped []string `json:"skipped"`
	Broken  []string `json:"unparsed"`
	Out     string   `json:"out,omitempty"`
}

func newRegistryScanCmd() *cobra.Command {
	var out string
	c := &cobra.Command{
		Use:   "scan DIR... [--out FILE]",
		Short: "Find fork registrations in Go source and write a registry file",
		Long: `scan reads the Go source under each DIR (go/parser and go/ast; test files,
testdata and vendor skipped) and finds fork registrations:
  - Chain33's API: RegisterDappFork(exec, fork, height), SetDappFork(...),
    SetFork(fork, height) and RegisterFork, with names given as literals or
    constants (also through another package: pty.TokenX) and heights as
    literals or constants, in any function (InitFork functions included);
  - forkgate's own schedule.Fork{Scope, Name, Default} declarations.
It writes a registry file (stdout, or --out) for config lint --registry:
lint --strict then names every fork the binary registers that a config
lacks, the case where a Chain33 node refuses to start. Scan a chain's whole
dependency set (chain33 and plugin source, e.g. from the Go module cache:
go mod download -json github.com/33cn/chain33@VERSION prints its Dir).`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			format, err := outputFormat(cmd)
			if err != nil {
				return err
			}
			res, err := regscan.Scan(args...)
			if err != nil {
				return usageErr("%v", err)
			}
			if len(res.Forks) == 0 {
				return usageErr("no fork registrations found under %s; give the source directories of the chain's code", strings.Join(args, " "))
			}
			reg := res.Registry(strings.Join(args, " "))
			// The file must read back as a registry.
			if _, err := forkfile.ReadRegistry("scanned registry", reg); err != nil {
				return fmt.Errorf("internal error: the scanned registry does not read back: %v", err)
			}
			rep := scanReport{Dirs: args, Files: res.Files, Forks: len(res.Forks), Skipped: res.Skipped, Broken: res.Broken, Out: out}
			if rep.Skipped == nil {
				rep.Skipped = []string{}
			}
			if rep.Broken == nil {
				rep.Broken = []string{}
			}
			w := cmd.OutOrStdout()
			if out == "" {
				_, err := w.Write(reg)
				return err
			}
			if err := replaceConfig(out, reg); err != nil {
				return usageErr("writing %s: %v", out, err)
			}
			if format == "json" {
				return writeJSON(w, rep)
			}
			fmt.Fprintf(w, "%s: %d fork(s) from %d Go file(s)\n", out, rep.Forks, rep.Files)
			for _, s := range rep.Skipped {
				fmt.Fprintf(w, "skipped (not a constant): %s\n", s)
			}
			if len(rep.Broken) > 0 {
				fmt.Fprintf(w, "%d file(s) do not parse (templates?) and were skipped\n", len(rep.Broken))
			}
			return nil
		},
	}
	c.Flags().StringVar(&out, "out", "", "registry file to write (default: stdout)")
	return c
}
