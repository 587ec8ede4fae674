package main

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/forkgate/forkgate/forkid"
)

func init() { register(newForkIDCmd) }

func newForkIDCmd() *cobra.Command {
	var (
		genesis, at, atTime string
		forks, timeForks    string
		configPath          string
		forkConfigs         []string
	)
	cmd := &cobra.Command{
		Use:   "forkid --genesis HEX --at HEIGHT [--time T] (--forks H1,H2,... [--time-forks T1,...] | --config FILE)",
		Short: "Print the EIP-2124 fork ID of a chain at a given head",
		Long: `forkid prints the EIP-2124 fork identifier a node advertises to its peers:
the CRC32 (IEEE) of the genesis hash folded with every fork point already
passed (8 big-endian bytes each, heights first, then times), and the next
fork point, or 0 when no further fork is known.

Fork points come from exactly one of:
  --forks H1,H2,...   activation heights (0 and duplicates are ignored);
                      add --time-forks T1,T2,... for forks activated by block
                      time (unix seconds)
  --config FILE       a chain config; its height and time forks are used,
                      never-scheduled and version-signalled forks are not

A height fork is passed when HEIGHT >= its height, a time fork when
--time >= its time. See docs/forkid.md.

Output (--format text):
  hash: fc64ec04
  next: 1150000

Output (--format json; printed indented), a stable schema:
  {"hash": "fc64ec04", "next": 1150000}
  hash  string, the fork hash as 8 lower-case hex digits, no 0x prefix
  next  unsigned 64-bit integer, the next fork point (a height or a unix
        time), 0 when no further fork is known

Exit codes: 0 ok, 2 unusable input.`,
		Example: `  # Ethereum mainnet at the first Homestead block: 97c2c34c, next 1920000
  forkgate forkid --at 1150000 \
    --genesis d4e56740f876aef8c010b86a40d5f56745a118d0906a34e69aec8c0db1cb8fa3 \
    --forks 1150000,1920000,2463000,2675000,4370000,7280000`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			format, err := outputFormat(cmd)
			if err != nil {
				return err
			}
			flags := cmd.Flags()
			gen, err := parseGenesis(genesis, flags.Changed("genesis"))
			if err != nil {
				return err
			}
			if !flags.Changed("at") {
				return usageErr("--at is required: give the head block height, e.g. --at 1150000")
			}
			head, err := parseUint("--at", at, "a block height")
			if err != nil {
				return err
			}
			var now uint64
			if flags.Changed("time") {
				if now, err = parseUint("--time", atTime, "a unix time in seconds"); err != nil {
					return err
				}
			}
			var heights, times []uint64
			switch hasForks, hasConfig := flags.Changed("forks"), flags.Changed("config"); {
			case hasForks && hasConfig:
				return usageErr("--forks and --config are mutually exclusive: give the fork heights or a chain config, not both")
			case !hasForks && !hasConfig:
				return usageErr("give the fork points with --forks H1,H2,... or a chain config with --config FILE")
			case len(forkConfigs) > 0 && !hasConfig:
				return usageErr("--fork-config goes with --config: it is the default fork config merged under a Chain33 node config")
			case hasConfig:
				if flags.Changed("time-forks") {
					return usageErr("--time-forks goes with --forks; with --config the time forks come from the config")
				}
				heights, times, err = forkPointsFromConfig(configPath, forkConfigs)
				if err != nil {
					var ee *exitError
					if errors.As(err, &ee) {
						return &exitError{code: ee.code, msg: "--config " + configPath + ": " + ee.msg}
					}
					return usageErr("--config %s: %v", configPath, err)
				}
			default:
				if heights, err = parseForkList("--forks", forks, "height"); err != nil {
					return err
				}
				if times, err = parseForkList("--time-forks", timeForks, "time"); err != nil {
					return err
				}
			}
			id := forkid.NewID(gen, heights, times, head, now)
			out := cmd.OutOrStdout()
			if format == "json" {
				return writeJSON(out, id)
			}
			_, err = fmt.Fprintf(out, "hash: %s\nnext: %d\n", id.HashHex(), id.Next)
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&genesis, "genesis", "", "genesis block hash, 64 hex digits (0x prefix optional)")
	f.StringVar(&at, "at", "", "height of the head block")
	f.StringVar(&atTime, "time", "", "time of the head block, unix seconds (default 0; needed with time forks)")
	f.StringVar(&forks, "forks", "", "comma-separated fork activation heights")
	f.StringVar(&timeForks, "time-forks", "", "comma-separated fork activation times, unix seconds (with --forks)")
	f.StringVar(&configPath, "config", "", "chain config file to take the fork points from")
	f.StringArrayVar(&forkConfigs, "fork-config", nil, "default fork config merged under --config, as Chain33 merges chain33.fork.toml into chain33.toml (repeatable; config's --forks)")
	return cmd
}

// parseGenesis decodes the --genesis flag: a 32-byte hash in hex.
func parseGenesis(s string, given bool) ([]byte, error) {
	if !given {
		return nil, usageErr("--genesis is required: give the genesis block hash as 64 hex digits")
	}
	t := strings.TrimPrefix(strings.TrimPrefix(strings.TrimSpace(s), "0x"), "0X")
	b, err := hex.DecodeString(t)
	if err != nil || len(b) != 32 {
		return nil, usageErr("--genesis %q is not a block hash: want 64 hex digits (32 bytes), 0x prefix optional", s)
	}
	return b, nil
}

// parseUint reads a non-negative integer flag value.
func parseUint(flag, s, what string) (uint64, error) {
	v, err := strconv.ParseUint(strings.TrimSpace(s), 10, 64)
	if err != nil {
		return 0, usageErr("%s %q is not %s: want a non-negative integer", flag, s, what)
	}
	return v, nil
}

// parseForkList reads a comma-separated list of fork points. An empty value
// is an empty list (a chain without forks).
func parseForkList(flag, s, what string) ([]uint64, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	parts := strings.Split(s, ",")
	out := make([]uint64, 0, len(parts))
	for i, p := range parts {
		p = strings.TrimSpace(p)
		if p == "" {
			return nil, usageErr("%s: entry %d is empty; separate fork %ss with single commas", flag, i+1, what)
		}
		if strings.HasPrefix(p, "-") {
			return nil, usageErr("%s: %q is negative; leave never-scheduled forks (-1) out of the list", flag, p)
		}
		v, err := strconv.ParseUint(p, 10, 64)
		if err != nil {
			return nil, usageErr("%s: %q is not a fork %s: want a non-negative integer", flag, p, what)
		}
		out = append(out, v)
	}
	return out, nil
}
