package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/forkgate/forkgate/internal/gomod"
)

// TestRegistryScanAndLint: scan a newer chain33 release, lint the older
// release's fork file against it: lint names the forks the newer release
// added (a node built from it would refuse to start without them).
func TestRegistryScanAndLint(t *testing.T) {
	if testing.Short() {
		t.Skip("reads chain33 source from the module cache")
	}
	newDir := gomod.Dir(t, "github.com/33cn/chain33", "v1.69.0")
	oldDir := gomod.Dir(t, "github.com/33cn/chain33", "v1.66.4")
	reg := filepath.Join(t.TempDir(), "chain33-v1.69.0.registry.toml")
	out, err := runForkgate(t, "registry", "scan", newDir, "--out", reg)
	if err != nil || !strings.Contains(out, "34 fork(s)") {
		t.Fatalf("scan: %v\n%s", err, out)
	}
	out, err = runForkgate(t, "config", "lint", filepath.Join(oldDir, "cmd/chain33/chain33.fork.toml"), "--registry", reg, "--strict", "--enable", "missing-fork,unknown-fork", "--all")
	if exitCode(err) != 1 || !strings.Contains(out, "missing-fork (error): 7") {
		t.Fatalf("lint: exit %d\n%s", exitCode(err), out)
	}
	for _, k := range []string{"coins.ForkFriendExecer", "none.ForkUseTimeDelay", "system.ForkCheckEthTxSort", "system.ForkEthAddressFormat",
		"system.ForkFormatAddressKey", "system.ForkMaxTxFeeV1", "system.ForkProxyExec"} {
		if !strings.Contains(out, "fork "+k+" is registered but not configured") {
			t.Errorf("lint does not name %s:\n%s", k, out)
		}
	}
	if _, err := runForkgate(t, "registry", "scan", t.TempDir()); exitCode(err) != 2 {
		t.Errorf("a directory without registrations: exit %d", exitCode(err))
	}
}
