package visor_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/forkgate/forkgate/network"
	"github.com/forkgate/forkgate/node"
	"github.com/forkgate/forkgate/nodestatus"
	"github.com/forkgate/forkgate/visor"
)

// Four CometBFT validators, each under forkgate visor: n0 already runs the
// new release 0.2.0 and signals version 2; n1..n3 run the old 0.1.0, which
// cannot signal it. With a 25% threshold n0's signals activate version 2;
// the three old binaries halt before the activation height (exit 3,
// upgrade-info.json), the network stops with them (three quarters of the
// power), and their supervisors switch each to 0.2.0 with no operator
// action: the network resumes and every node agrees on every height.
func TestNetworkSwitchesUnderVisor(t *testing.T) {
	rel := visor.SharedReleases(t)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "chain.toml")
	conf := strings.Replace(node.DefaultConfig, "rate = 75", "rate = 25", 1)
	if conf == node.DefaultConfig {
		t.Fatal("the default config has no rate = 75 to lower")
	}
	if err := os.WriteFile(cfg, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	netDir := filepath.Join(dir, "net")
	old, nu := rel.Dirs["0.1.0"], rel.Dirs["0.2.0"]
	_, err := network.Init(netDir, network.Options{Validators: 4, ConfigPath: cfg, SignalVersion: 2, MaxLifetime: 4 * time.Minute,
		Visor: &network.VisorOptions{Initial: []string{nu, old, old, old}, Releases: []string{nu}, Binary: rel.Visor,
			Args: []string{"--gate-replay=false", "--gate-timeout", "90s"}, PubKey: rel.Pub}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	nw, err := network.Up(ctx, netDir, network.UpOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nw.Down)

	// Wait for version 2 to activate and every node to run 0.2.0 past it.
	var act int64
	deadline := time.Now().Add(3 * time.Minute)
	for {
		sts := nw.Status(ctx)
		done := true
		for _, s := range sts {
			for _, a := range s.Activations {
				if a.Version == 2 {
					act = a.Height
				}
			}
			if s.Implemented != 2 || act == 0 || s.Height < act+5 {
				done = false
			}
		}
		if done {
			break
		}
		if time.Now().After(deadline) {
			b, _ := json.MarshalIndent(sts, "", "  ")
			t.Fatalf("the network did not switch in time (activation %d):\n%s\n%s", act, b, logs(netDir))
		}
		time.Sleep(500 * time.Millisecond)
	}
	for i, name := range []string{"n0", "n1", "n2", "n3"} {
		v, err := visor.ReadStatus(filepath.Join(netDir, name))
		if err != nil {
			t.Fatal(err)
		}
		if v.Current != "0.2.0" {
			t.Fatalf("%s: current %s", name, v.Current)
		}
		sw := v.LastSwitch
		if i == 0 {
			if sw != nil {
				t.Fatalf("n0 switched: %+v", sw)
			}
			continue
		}
		if sw == nil || sw.Result != "passed" || sw.Height != act || sw.From != "0.1.0" {
			t.Fatalf("%s: last switch %+v, activation %d\n%s", name, sw, act, logs(netDir))
		}
		t.Logf("%s switched at %d: downtime %d ms (checkpoint %d ms)", name, sw.Height, sw.DowntimeMS, sw.CheckpointMS)
	}
	nw.Down()
	a, err := network.CompareStores(netDir)
	if err != nil {
		t.Fatal(err)
	}
	if !a.Agree() || a.Heights < act+5 {
		t.Fatalf("agreement: %+v", a)
	}
	var info nodestatus.UpgradeInfo
	b, err := os.ReadFile(filepath.Join(netDir, "n3", "data", "upgrade-info.json"))
	if err != nil || json.Unmarshal(b, &info) != nil || info.Height != act {
		t.Fatalf("n3 upgrade-info.json: %v %s", err, b)
	}
}

func logs(dir string) string {
	var b strings.Builder
	for _, n := range []string{"n0", "n1", "n2", "n3"} {
		raw, _ := os.ReadFile(filepath.Join(dir, "logs", n+".log"))
		lines := strings.Split(string(raw), "\n")
		if len(lines) > 25 {
			lines = lines[len(lines)-25:]
		}
		b.WriteString("== " + n + "\n" + strings.Join(lines, "\n") + "\n")
	}
	return b.String()
}
