package campaign

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/forkgate/forkgate/forkfile"
	"github.com/forkgate/forkgate/nodestatus"
	"github.com/forkgate/forkgate/upgradedoc"
)

// node is a fake node of a chain whose release, binary and height the test
// changes while its status API runs on loopback.
type node struct {
	mu  sync.Mutex
	st  nodestatus.Status
	url string
}

func (n *node) set(version, sha string, height int64) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.st.AppVersion, n.st.BinarySHA256, n.st.Height, n.st.StateHash = version, sha, height, fmt.Sprintf("a%d", height)
	for i := range n.st.Forks.All {
		n.st.Forks.All[i].Active = height >= n.st.Forks.All[i].Height
	}
}

func startNode(t *testing.T, doc *upgradedoc.Document) *node {
	t.Helper()
	n := &node{st: nodestatus.Status{Format: nodestatus.StatusFormat, Title: doc.Chain.Title, Implemented: doc.Release.Implemented, ScheduleHash: "s"}}
	for _, it := range doc.Suggested.Items {
		a, d, err := forkfile.ParseActivation(it.Value)
		if err != nil {
			t.Fatal(err)
		}
		n.st.Forks.All = append(n.st.Forks.All, nodestatus.ForkInfo{Key: it.Key, Kind: it.Kind, Activation: forkfile.FormatActivation(a, d), Height: *it.Height})
	}
	srv, err := nodestatus.ServeWith("127.0.0.1:0", func() (*nodestatus.Status, error) {
		n.mu.Lock()
		defer n.mu.Unlock()
		cp := n.st
		cp.Forks.All = append([]nodestatus.ForkInfo(nil), n.st.Forks.All...)
		return &cp, nil
	}, nodestatus.Options{Hashes: func(from, to int64) ([]nodestatus.HeightHash, error) {
		var out []nodestatus.HeightHash
		for h := from; h <= to; h++ {
			out = append(out, nodestatus.HeightHash{Height: h, StateHash: fmt.Sprintf("a%d", h)})
		}
		return out, nil
	}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	n.url = "http://" + srv.Addr()
	return n
}

// party is one party of the test: a library chain's golden document and
// two nodes.
type party struct {
	name, file string
	doc        *upgradedoc.Document
	nodes      []*node
}

// reload is a restart: every step saves, and the next starts from the file.
func reload(t *testing.T, c *Campaign, path string) *Campaign {
	t.Helper()
	if err := c.Save(path); err != nil {
		t.Fatal(err)
	}
	c2, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return c2
}

func states(c *Campaign) string {
	var out []string
	for _, p := range c.Parties {
		out = append(out, p.Name+"="+string(p.State))
	}
	return strings.Join(out, " ")
}

// TestThreePartiesToVerified takes three parties, each running a library
// chain on two nodes, from planned to verified, restarting from the file
// between every step; a node running another build of the release keeps
// its party from "upgraded" until the right binary runs.
func TestThreePartiesToVerified(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "campaign.json")
	ctx := context.Background()
	now := time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC)
	tick := func() time.Time { now = now.Add(time.Minute); return now }

	var hook []map[string]any
	var hookMu sync.Mutex
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m map[string]any
		b, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(b, &m); err != nil {
			http.Error(w, "bad json", 400)
			return
		}
		hookMu.Lock()
		hook = append(hook, m)
		hookMu.Unlock()
	}))
	defer receiver.Close()

	parties := []*party{
		{name: "project-a", file: "UPGRADE-0.2.0-forkgate.library.main.json"},
		{name: "project-b", file: "UPGRADE-0.2.0-user.p.beta.json"},
		{name: "project-c", file: "UPGRADE-0.2.0-forkgate.library.future.json"},
	}
	c := New("0.2.0")
	for i, p := range parties {
		docPath, err := filepath.Abs(filepath.Join("..", "upgradedoc", "testdata", "golden", p.file))
		if err != nil {
			t.Fatal(err)
		}
		if p.doc, err = upgradedoc.Read(docPath); err != nil {
			t.Fatal(err)
		}
		var urls []string
		for range 2 {
			n := startNode(t, p.doc)
			n.set("0.1.0", "old", p.doc.Chain.Head+1)
			p.nodes = append(p.nodes, n)
			urls = append(urls, n.url)
		}
		contact := "file:outbox"
		if i == 1 {
			contact = "webhook:" + receiver.URL
		}
		if err := c.Add(Party{Name: p.name, Contact: contact, Chains: []Chain{{Title: p.doc.Chain.Title, Doc: docPath, Nodes: urls}}}, tick()); err != nil {
			t.Fatal(err)
		}
	}
	c = reload(t, c, path)

	// Evidence before an acknowledgement is refused.
	if _, err := c.Check(ctx, "project-a", dir, 2*time.Second, tick()); err == nil || !strings.Contains(err.Error(), "must acknowledge") {
		t.Fatalf("a planned party checked: %v", err)
	}

	// Notified: the appointment with time and reason, through the outbox or the webhook.
	when := now.Add(48 * time.Hour)
	for _, p := range parties {
		if err := c.Notify(ctx, p.name, when, "release 0.2.0 raises the minimum bond (ForkMinBondV2)", dir, tick()); err != nil {
			t.Fatal(err)
		}
	}
	c = reload(t, c, path)
	if b, err := os.ReadFile(filepath.Join(dir, "outbox", "project-a-0.2.0.md")); err != nil || !strings.Contains(string(b), "raises the minimum bond") {
		t.Fatalf("outbox: %q %v", b, err)
	}
	if len(hook) != 1 || hook[0]["party"] != "project-b" || hook[0]["reason"] == "" {
		t.Fatalf("webhook got %v", hook)
	}

	// Acknowledged: a height that would rewrite history is refused.
	a := parties[0]
	if err := c.Acknowledge(a.name, a.doc.Chain.Title, "producers.ForkMinBondV2", 40, 42, a.doc, tick()); err == nil || !strings.Contains(err.Error(), "not compatible") {
		t.Fatalf("a height below the head: %v", err)
	}
	if p, _ := c.Party(a.name); p.State != Notified {
		t.Fatalf("a refused acknowledgement moved the party to %s", p.State)
	}
	for _, p := range parties {
		it := p.doc.Suggested.Items[len(p.doc.Suggested.Items)-1]
		if err := c.Acknowledge(p.name, p.doc.Chain.Title, it.Key, *it.Height, p.doc.Chain.Head, p.doc, tick()); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.AddFeedback("project-c", "we upgrade on Thursday's maintenance window", tick()); err != nil {
		t.Fatal(err)
	}
	c = reload(t, c, path)
	if got := states(c); got != "project-a=acknowledged project-b=acknowledged project-c=acknowledged" {
		t.Fatal(got)
	}

	check := func(want string) {
		t.Helper()
		for _, p := range parties {
			if _, err := c.Check(ctx, p.name, dir, 2*time.Second, tick()); err != nil {
				t.Fatal(err)
			}
		}
		c = reload(t, c, path)
		if got := states(c); got != want {
			var ev []string
			for _, p := range c.Parties {
				ev = append(ev, p.Name+": "+p.Evidence)
			}
			t.Fatalf("states %s, want %s\n%s", got, want, strings.Join(ev, "\n"))
		}
	}
	// The old release still runs: nobody is upgraded.
	check("project-a=acknowledged project-b=acknowledged project-c=acknowledged")

	// Everyone installs 0.2.0 and passes the activation, but one of
	// project-b's nodes runs another build of 0.2.0.
	for _, p := range parties {
		past := *p.doc.Suggested.Items[len(p.doc.Suggested.Items)-1].Height + 5
		for _, n := range p.nodes {
			n.set("0.2.0", p.doc.Release.BinarySHA256, past)
		}
	}
	parties[1].nodes[1].set("0.2.0", "0badbeef", *parties[1].doc.Suggested.Items[1].Height+5)
	check("project-a=verified project-b=acknowledged project-c=verified")
	if p, _ := c.Party("project-b"); !strings.Contains(p.Evidence, "wrong binary (sha256 0badbeef)") {
		t.Fatalf("project-b's evidence: %s", p.Evidence)
	}

	// The right binary: project-b goes through upgraded to verified.
	parties[1].nodes[1].set("0.2.0", parties[1].doc.Release.BinarySHA256, *parties[1].doc.Suggested.Items[1].Height+5)
	check("project-a=verified project-b=verified project-c=verified")

	var trail []string
	for _, e := range c.Events {
		if e.Party == "project-b" && e.To != "" {
			trail = append(trail, string(e.To))
		}
	}
	if got := strings.Join(trail, ">"); got != "planned>notified>acknowledged>upgraded>verified" {
		t.Fatalf("project-b's transitions: %s", got)
	}
	if p, _ := c.Party("project-c"); len(p.Feedback) != 1 || p.Feedback[0].Time.IsZero() {
		t.Fatalf("feedback: %+v", p.Feedback)
	}
	if err := c.Notify(ctx, "project-a", when, "again", dir, tick()); err == nil {
		t.Fatal("a verified party was notified again")
	}
}

func TestLoadRefuses(t *testing.T) {
	dir := t.TempDir()
	for name, body := range map[string]string{
		"newer":   `{"format": 99}`,
		"zero":    `{"release": "0.2.0"}`,
		"state":   `{"format": 1, "parties": [{"name": "x", "state": "done"}]}`,
		"garbage": `{`,
	} {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(body), 0o644)
		if _, err := Load(p); err == nil {
			t.Errorf("%s: loaded", name)
		}
	}
}
