package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/forkgate/forkgate/fleet"
	"github.com/forkgate/forkgate/forkfile"
	"github.com/forkgate/forkgate/nodestatus"
	"github.com/forkgate/forkgate/upgradedoc"
)

// serveNode serves a status that passes the document's post-checks, with
// the binary's sha256 given, at height h.
func serveNode(t *testing.T, doc *upgradedoc.Document, sha string, h int64) string {
	t.Helper()
	st := &nodestatus.Status{Format: 1, Title: doc.Chain.Title, AppVersion: doc.Release.Version, BinarySHA256: sha,
		Implemented: doc.Release.Implemented, Height: h, StateHash: "same"}
	for _, it := range doc.Suggested.Items {
		a, d, _ := forkfile.ParseActivation(it.Value)
		st.Forks.All = append(st.Forks.All, nodestatus.ForkInfo{Key: it.Key, Activation: forkfile.FormatActivation(a, d), Height: *it.Height, Active: h >= *it.Height})
	}
	srv, err := nodestatus.Serve("127.0.0.1:0", func() (*nodestatus.Status, error) { return st, nil }, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv.Addr()
}

func TestCheckCommandExitCodes(t *testing.T) {
	docPath := filepath.Join("..", "..", "upgradedoc", "testdata", "golden", "UPGRADE-0.2.0-forkgate.library.main.json")
	doc, err := upgradedoc.Read(docPath)
	if err != nil {
		t.Fatal(err)
	}
	good := serveNode(t, doc, doc.Release.BinarySHA256, 60)
	good2 := serveNode(t, doc, doc.Release.BinarySHA256, 60)
	wrong := serveNode(t, doc, "0badbeef", 60)

	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"passes", []string{"check", "post", "--doc", docPath, "--nodes", "a=" + good + ",b=" + good2}, 0, "every post-upgrade check passed"},
		{"wrong binary", []string{"check", "post", "--doc", docPath, "--nodes", "a=" + good + ",b=" + wrong}, 1, "FINDING post.node.version node b: reports version 0.2.0 but its binary's sha256 is 0badbeef"},
		{"no doc", []string{"check", "post", "--nodes", good}, 2, "--doc DOC.json is required"},
		{"bad phase", []string{"check", "during", "--doc", docPath, "--nodes", good}, 2, "say pre or post"},
		{"bad nodes", []string{"check", "post", "--doc", docPath, "--nodes", "a=ftp://x"}, 2, "not a status API address"},
		{"no nodes", []string{"check", "post", "--doc", docPath}, 2, "give the nodes to check"},
		{"missing doc", []string{"check", "post", "--doc", "nope.json", "--nodes", good}, 2, "nope.json"},
	} {
		out, errOut, code := runCLI(t, tc.args...)
		if code != tc.code || !strings.Contains(out+errOut, tc.want) {
			t.Errorf("%s: exit %d, want %d with %q\n%s%s", tc.name, code, tc.code, tc.want, out, errOut)
		}
	}

	out, _, code := runCLI(t, "check", "post", "--doc", docPath, "--nodes", "a="+good+",b="+wrong, "--format", "json")
	var rep fleet.Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil || code != 1 || rep.OK || rep.Format != fleet.ReportFormat || rep.Nodes[1].Upgrade != fleet.UpgradeWrongBinary {
		t.Fatalf("json: exit %d, %v\n%s", code, err, out)
	}
}
