package main

import (
	"fmt"
	"io"

	"github.com/forkgate/forkgate/buildinfo"
	"github.com/forkgate/forkgate/node"
	"github.com/spf13/cobra"
)

func init() { register(newVersionCmd) }

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the release, commit, Go version, protocol version and fork registry hash",
		Long: `version describes this binary: its release version and commit, the Go
release that built it, the highest protocol version it executes (a higher
one that activates halts it with exit code 3, "upgrade needed"), and the
hashes of its built-in fork registry and default schedule. With --format
json it also lists every fork of the registry; supervisors and ops checks
compare this output with a release manifest before they run a binary.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			format, err := outputFormat(cmd)
			if err != nil {
				return err
			}
			info := node.BuildInfo()
			if format == "json" {
				return writeJSON(cmd.OutOrStdout(), info)
			}
			printVersion(cmd.OutOrStdout(), info)
			return nil
		},
	}
}

func printVersion(w io.Writer, info buildinfo.Info) {
	fmt.Fprintf(w, "forkgate %s\n", info.Version)
	fmt.Fprintf(w, "  commit:         %s\n", info.Commit)
	fmt.Fprintf(w, "  go:             %s %s/%s\n", info.GoVersion, info.OS, info.Arch)
	fmt.Fprintf(w, "  protocol:       implements versions up to %d\n", info.Implemented)
	fmt.Fprintf(w, "  fork registry:  %d forks, hash %s\n", len(info.Forks), info.RegistryHash)
	fmt.Fprintf(w, "  schedule hash:  %s (built-in config)\n", info.ScheduleHash)
}
