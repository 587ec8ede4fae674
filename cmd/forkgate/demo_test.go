package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDemoCommand(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "demo")
	out, errOut, err := execForkgate("demo", "--dir", dir, "--format", "json")
	if err != nil {
		t.Fatalf("%v\n%s%s", err, out, errOut)
	}
	var res struct {
		Activation     int64  `json:"activation"`
		ForkHeight     int64  `json:"fork_height"`
		HaltHeight     int64  `json:"halt_height"`
		FreshSyncEqual bool   `json:"fresh_sync_equal"`
		VerifyOK       bool   `json:"verify_ok"`
		Report         string `json:"report"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	if !res.VerifyOK || !res.FreshSyncEqual || res.Activation < 1 || res.ForkHeight != res.Activation || res.HaltHeight != res.Activation {
		t.Errorf("result %+v", res)
	}
	md, err := os.ReadFile(res.Report)
	if err != nil || !strings.Contains(string(md), "# Upgrade verification: OK") {
		t.Errorf("report %s: %v", res.Report, err)
	}
	// A used directory is refused.
	if _, _, err := execForkgate("demo", "--dir", dir); exitCode(err) != 2 {
		t.Errorf("non-empty --dir: exit %d", exitCode(err))
	}
}
