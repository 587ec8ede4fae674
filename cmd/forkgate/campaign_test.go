package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/forkgate/forkgate/campaign"
	"github.com/forkgate/forkgate/upgradedoc"
)

// TestCampaignCommands drives one party through the CLI: new, add,
// notify (file outbox), ack (a height below the head refused), check
// (exit 1 while a node runs another build, 0 once verified), status.
func TestCampaignCommands(t *testing.T) {
	docPath := filepath.Join("..", "..", "upgradedoc", "testdata", "golden", "UPGRADE-0.2.0-forkgate.library.main.json")
	doc, err := upgradedoc.Read(docPath)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "campaign.json")
	good := serveNode(t, doc, doc.Release.BinarySHA256, 60)
	wrong := serveNode(t, doc, "0badbeef", 60)
	f := []string{"--file", file}
	run := func(code int, want string, args ...string) {
		t.Helper()
		out, errOut, got := runCLI(t, append(append([]string{"campaign"}, args...), f...)...)
		if got != code || !strings.Contains(out+errOut, want) {
			t.Fatalf("campaign %s: exit %d, want %d with %q\n%s%s", strings.Join(args, " "), got, code, want, out, errOut)
		}
	}
	run(0, "", "new", "0.2.0")
	run(2, "already holds a campaign", "new", "0.2.0")
	run(2, "not a status API address", "add", "p", "--doc", docPath, "--nodes", "ftp://x")
	run(0, "", "add", "p", "--doc", docPath, "--nodes", good+","+wrong)
	run(1, "must acknowledge", "check", "p")
	run(0, "", "notify", "p", "--at", "2026-12-20T10:00:00Z", "--reason", "0.2.0 raises the minimum bond")
	run(1, "not compatible", "ack", "p", "--fork", "producers.ForkMinBondV2", "--height", "40", "--head", "42")
	run(0, "", "ack", "p", "--fork", "producers.ForkMinBondV2", "--height", "44")
	run(1, "wrong binary (sha256 0badbeef)", "check")
	run(0, "", "feedback", "p", "one node still runs a local build")

	// The party replaces the node with the release's binary.
	cp, err := campaign.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := cp.Party("p")
	p.Chains[0].Nodes = []string{good, serveNode(t, doc, doc.Release.BinarySHA256, 60)}
	if err := cp.Save(file); err != nil {
		t.Fatal(err)
	}
	run(0, "verified", "check")
	out, _, code := runCLI(t, "campaign", "status", "--format", "json", "--file", file)
	var got campaign.Campaign
	if err := json.Unmarshal([]byte(out), &got); err != nil || code != 0 || got.Parties[0].State != campaign.Verified || len(got.Parties[0].Feedback) != 1 {
		t.Fatalf("status: %d %v\n%s", code, err, out)
	}
}
