package main

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/forkgate/forkgate/buildinfo"

	"github.com/spf13/cobra"
)

// Exit codes, the same for every command (README, docs/cli-json.md).
const (
	exitOK       = 0
	exitFindings = 1 // findings or a mismatch
	exitUsage    = 2 // unusable input
	exitUpgrade  = 3 // upgrade needed: a node halted at a version it does not implement
)

// exitError carries an exit code out of a command. An empty msg means the
// command already printed what the user needs.
type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string { return e.msg }

func findings() error { return &exitError{code: exitFindings} }

func usageErr(format string, args ...any) error {
	return &exitError{code: exitUsage, msg: fmt.Sprintf(format, args...)}
}

// commands lists constructors of top-level subcommands. Each feature file adds
// its own from init so features stay in their own files.
var commands []func() *cobra.Command

func register(c func() *cobra.Command) { commands = append(commands, c) }

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "forkgate",
		Short: "Safe blockchain network upgrades: fork schedules, signalling, verification",
		Long: `forkgate makes blockchain network upgrades safe, from the developer's
first fork to the operator's last status check.

Exit codes: 0 ok, 1 findings or mismatch, 2 unusable input, 3 upgrade
needed (a node halted at a protocol version it does not implement).`,
		Version:       buildinfo.Version,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.PersistentFlags().String("format", "text", "output format: text or json")
	root.SetVersionTemplate("{{.Name}} {{.Version}} (run forkgate version for the commit, protocol and fork registry)\n")
	for _, c := range commands {
		root.AddCommand(c())
	}
	return root
}

// outputFormat reads and validates the --format flag.
func outputFormat(cmd *cobra.Command) (string, error) {
	f, _ := cmd.Flags().GetString("format")
	switch f {
	case "text", "json":
		return f, nil
	}
	return "", usageErr("--format must be text or json, not %q", f)
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// emit writes a report as JSON or text, and turns a report with findings
// into exit code 1.
func emit(cmd *cobra.Command, format string, v any, text func(io.Writer), ok bool) error {
	if format == "json" {
		if err := writeJSON(cmd.OutOrStdout(), v); err != nil {
			return err
		}
	} else {
		text(cmd.OutOrStdout())
	}
	if !ok {
		return findings()
	}
	return nil
}
