package node

import (
	"encoding/hex"
	"runtime"

	"github.com/forkgate/forkgate/buildinfo"
	"github.com/forkgate/forkgate/chain"
	"github.com/forkgate/forkgate/forkfile"
)

// Implemented is the highest protocol version this binary executes: the
// highest version the chain's code gates a fork on, unless the build capped
// it at link time (buildinfo's implemented) to stand in for an older release.
func Implemented() uint32 {
	if v, ok := buildinfo.ImplementedOverride(); ok {
		return v
	}
	return chain.Registry().HighestVersion()
}

// BuildInfo describes this binary: release, commit, Go version, the protocol
// version it implements, and its fork registry with the hashes that let an
// operator or a supervisor tell two builds apart without running them.
func BuildInfo() buildinfo.Info {
	reg := chain.Registry()
	rh := reg.Hash()
	info := buildinfo.Info{
		Format: buildinfo.InfoFormat, Version: buildinfo.Version, Commit: buildinfo.Commit(),
		GoVersion: buildinfo.GoVersion(), OS: runtime.GOOS, Arch: runtime.GOARCH,
		Implemented: Implemented(), RegistryHash: hex.EncodeToString(rh[:]),
		Forks: []buildinfo.ForkInfo{},
	}
	if cfg, err := parseConfig("built-in config.toml", []byte(DefaultConfig)); err == nil {
		sh := cfg.Schedule.Snapshot().Hash()
		info.ScheduleHash = hex.EncodeToString(sh[:])
	}
	for _, f := range reg.Forks() {
		fi := buildinfo.ForkInfo{Key: f.Key(), Default: forkfile.FormatActivation(f.Default, f.Domain), Release: f.Release, Note: f.Note}
		if f.Domain != 0 {
			fi.Domain = f.Domain.String()
		}
		info.Forks = append(info.Forks, fi)
	}
	return info
}
