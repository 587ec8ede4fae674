// Package buildinfo says which build this binary is. Its variables are set at
// link time, so one source tree can produce the releases an upgrade
// rehearsal needs:
//
//	go build -ldflags "-X github.com/forkgate/forkgate/buildinfo.Version=0.2.0 \
//	  -X github.com/forkgate/forkgate/buildinfo.commit=abc123 \
//	  -X github.com/forkgate/forkgate/buildinfo.implemented=1"
//
// implemented builds an "old" binary: the same code, but it halts at the
// activation of any protocol version above the one given, as a release that
// predates that version would.
//
// The package is a leaf: it imports nothing of forkgate, so every package may
// read it. The full description of a build (its fork registry and their hash)
// is assembled by package node, which knows the chain.
package buildinfo

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strconv"
)

// Version is the release version of this build.
var Version = "0.1.0-dev"

var (
	commit      string // -X: the source commit; else the VCS stamp of the build
	implemented string // -X: highest protocol version; empty = what the code implements
)

// Commit is the source commit this binary was built from, or "unknown".
func Commit() string {
	if commit != "" {
		return commit
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && s.Value != "" {
				return s.Value
			}
		}
	}
	return "unknown"
}

// GoVersion is the Go release that built this binary.
func GoVersion() string { return runtime.Version() }

// ImplementedOverride is the link-time cap on the protocol versions this
// binary implements, if one was set. A malformed value is a build mistake and
// panics at start-up, before any block is touched.
func ImplementedOverride() (uint32, bool) {
	if implemented == "" {
		return 0, false
	}
	v, err := strconv.ParseUint(implemented, 10, 32)
	if err != nil || v == 0 {
		panic(fmt.Sprintf("buildinfo: the link-time implemented=%q is not a protocol version (1, 2, ...): rebuild with a valid -X value", implemented))
	}
	return uint32(v), true
}

// Info is the machine-readable description of a build, printed by
// `forkgate version --format json` and recorded in release manifests. Field
// names are part of docs/cli-json.md; fields are only ever added.
type Info struct {
	Format    int    `json:"format"`
	Version   string `json:"version"`
	Commit    string `json:"commit"`
	GoVersion string `json:"go_version"`
	OS        string `json:"os"`
	Arch      string `json:"arch"`
	// Implemented is the highest protocol version this binary executes; a
	// higher version that activates halts it with "upgrade needed".
	Implemented uint32 `json:"implemented"`
	// RegistryHash identifies the built-in fork registry (every fork the
	// code knows, with its default); ScheduleHash the schedule of the
	// built-in default config.
	RegistryHash string     `json:"registry_hash"`
	ScheduleHash string     `json:"schedule_hash"`
	Forks        []ForkInfo `json:"forks"`
}

// InfoFormat versions Info.
const InfoFormat = 1

// ForkInfo is one fork of the built-in registry.
type ForkInfo struct {
	Key     string `json:"key"`
	Default string `json:"default"` // as a config writes it: -1, a height, { version = N } ...
	Domain  string `json:"domain,omitempty"`
	Release string `json:"release,omitempty"`
	Note    string `json:"note"`
}

// Platform is this binary's "os/arch".
func Platform() string { return runtime.GOOS + "/" + runtime.GOARCH }
