package dashboard

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/forkgate/forkgate/fleet"
	"github.com/forkgate/forkgate/nodestatus"
	"github.com/forkgate/forkgate/signal"
)

func serveStatus(t *testing.T, st *nodestatus.Status) string {
	t.Helper()
	srv, err := nodestatus.Serve("127.0.0.1:0", func() (*nodestatus.Status, error) { return st, nil }, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return "http://" + srv.Addr()
}

// TestPageAndEvents renders two chains' nodes, the signalling chart and a
// campaign table, and streams the same section as a server-sent event.
func TestPageAndEvents(t *testing.T) {
	mk := func(title, genesis string, h int64) *nodestatus.Status {
		return &nodestatus.Status{Format: 1, Title: title, GenesisHash: genesis, Height: h, StateHash: "s", AppVersion: "0.2.0",
			Forks:  nodestatus.ForksStatus{All: []nodestatus.ForkInfo{{Key: "coins.ForkX", Height: 12, Active: true}}},
			Signal: signal.Status{Versions: []signal.VersionStatus{{Version: 2, State: "started", Tally: signal.Tally{Count: 2, Threshold: 3, Denominator: 4}}}}}
	}
	w := &fleet.Watcher{Targets: []fleet.Target{
		{Name: "a0", URL: serveStatus(t, mk("main", "g1", 20))},
		{Name: "b0", URL: serveStatus(t, mk("para", "g2", 7))},
	}, Metrics: fleet.NewMetrics()}
	if _, err := w.Once(context.Background()); err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(New(w, Options{Title: "t", Campaign: func() ([]CampaignRow, error) {
		return []CampaignRow{{Party: "project-a", Chains: "main", State: "notified"}}, nil
	}}))
	defer ts.Close()

	resp, err := http.Get(ts.URL)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{"<h2>chain main</h2>", "<h2>chain para</h2>", `id="height-a0">20<`, `id="height-b0">7<`,
		`id="tally-a0-v2">2/3<`, `width="60"`, "coins.ForkX @12", `id="party-project-a" data-state="notified"`, `new EventSource("events")`, "all nodes agree"} {
		if !strings.Contains(string(page), want) {
			t.Errorf("the page lacks %s", want)
		}
	}
	if strings.Contains(string(page), "http://") && strings.Contains(string(page), "<script src") {
		t.Error("the page loads an external asset")
	}

	resp, err = http.Get(ts.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`forkgate_campaign_parties{state="notified"} 1`, `forkgate_campaign_parties{state="verified"} 0`, `forkgate_fleet_nodes_agree 1`} {
		if !strings.Contains(string(metrics), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, ts.URL+"/events", nil)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("content type %q", ct)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	var event, data string
	for sc.Scan() && data == "" {
		line := sc.Text()
		if v, ok := strings.CutPrefix(line, "event: "); ok {
			event = v
		}
		if v, ok := strings.CutPrefix(line, "data: "); ok {
			data = v
		}
	}
	var msg struct{ HTML string }
	if err := json.Unmarshal([]byte(data), &msg); err != nil || event != "fleet" || !strings.Contains(msg.HTML, `id="height-a0">20<`) {
		t.Fatalf("event %q: %v\n%s", event, err, data)
	}
}
