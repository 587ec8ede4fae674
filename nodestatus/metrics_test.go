package nodestatus

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/forkgate/forkgate/signal"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
)

// scrape reads /metrics and returns each family by name.
func scrape(t *testing.T, addr string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var p expfmt.TextParser
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("the exposition does not parse: %v", err)
	}
	return fams
}

// value is the gauge of the family's metric whose labels include want
// (name=value pairs); it fails the test when there is none.
func value(t *testing.T, fams map[string]*dto.MetricFamily, name string, want ...string) float64 {
	t.Helper()
	f, ok := fams[name]
	if !ok {
		t.Fatalf("no metric %s", name)
	}
	for _, m := range f.Metric {
		labels := map[string]string{}
		for _, l := range m.Label {
			labels[l.GetName()] = l.GetValue()
		}
		match := true
		for _, kv := range want {
			k, v, _ := strings.Cut(kv, "=")
			match = match && labels[k] == v
		}
		if match {
			return m.GetGauge().GetValue()
		}
	}
	t.Fatalf("no metric %s%v", name, want)
	return 0
}

// TestMetricsFollowTheStatus scrapes /metrics twice while the status
// changes and checks the values, parsed from the exposition format.
func TestMetricsFollowTheStatus(t *testing.T) {
	st := &Status{Format: StatusFormat, ChainID: "c1", Title: "main", AppVersion: "0.2.0", Height: 10, BlockStore: 10,
		ProtocolVersion: 1, Implemented: 2,
		Forks: ForksStatus{Next: &ForkPoint{Height: 40, Forks: []string{"system.ForkX"}},
			All: []ForkInfo{{Key: "system.ForkA", Height: 5, Active: true}, {Key: "system.ForkX", Height: 40}}},
		Signal: signal.Status{
			Versions:  []signal.VersionStatus{{Version: 2, State: "started", Tally: signal.Tally{Count: 1, Threshold: 3}}},
			Producers: []signal.ProducerStatus{{Producer: "p0", LastVersion: 2}, {Producer: "p1", LastVersion: 1}},
		}}
	srv, err := Serve("127.0.0.1:0", func() (*Status, error) { cp := *st; return &cp, nil }, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()

	fams := scrape(t, srv.Addr())
	for _, tc := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"forkgate_node_up", nil, 1},
		{"forkgate_node_height", nil, 10},
		{"forkgate_node_protocol_version", nil, 1},
		{"forkgate_node_implemented_version", nil, 2},
		{"forkgate_node_version_tally", []string{"version=2"}, 1},
		{"forkgate_node_version_threshold", []string{"version=2"}, 3},
		{"forkgate_node_version_state", []string{"version=2", "state=started"}, 1},
		{"forkgate_node_signalled_version", []string{"producer=p0"}, 2},
		{"forkgate_node_signalled_version", []string{"producer=p1"}, 1},
		{"forkgate_node_fork_active", []string{"fork=system.ForkA"}, 1},
		{"forkgate_node_fork_active", []string{"fork=system.ForkX"}, 0},
		{"forkgate_node_fork_height", []string{"fork=system.ForkX"}, 40},
		{"forkgate_node_pending_upgrade_height", nil, 40},
		{"forkgate_node_halted", nil, 0},
		{"forkgate_node_info", []string{"chain_id=c1", "app_version=0.2.0"}, 1},
	} {
		if got := value(t, fams, tc.name, tc.labels...); got != tc.want {
			t.Errorf("%s%v = %v, want %v", tc.name, tc.labels, got, tc.want)
		}
	}

	// The chain moves on: the version passes, the fork activates, the node halts.
	st.Height, st.ProtocolVersion, st.Forks.Next = 41, 2, nil
	st.Forks.All[1].Active = true
	st.Signal.Versions[0].Tally.Count, st.Signal.Versions[0].State = 3, "active"
	st.Halt = "protocol version 3 is active"
	st.Visor = &Visor{Format: 1, Current: "0.2.0", State: "switching", Releases: []VisorRelease{{Version: "0.1.0"}, {Version: "0.2.0"}}}
	fams = scrape(t, srv.Addr())
	for name, want := range map[string]float64{"forkgate_node_height": 41, "forkgate_node_protocol_version": 2,
		"forkgate_node_pending_upgrade_height": -1, "forkgate_node_halted": 1} {
		if got := value(t, fams, name); got != want {
			t.Errorf("after: %s = %v, want %v", name, got, want)
		}
	}
	if got := value(t, fams, "forkgate_node_version_tally", "version=2"); got != 3 {
		t.Errorf("after: tally %v, want 3", got)
	}
	if got := value(t, fams, "forkgate_node_version_state", "version=2", "state=active"); got != 1 {
		t.Errorf("after: state active %v", got)
	}
	if got := value(t, fams, "forkgate_node_visor_state", "state=switching", "current=0.2.0"); got != 1 {
		t.Errorf("after: visor state %v", got)
	}
	if got := value(t, fams, "forkgate_node_visor_releases"); got != 2 {
		t.Errorf("after: visor releases %v", got)
	}
}

func TestHashesEndpoint(t *testing.T) {
	src := func(from, to int64) ([]HeightHash, error) {
		var out []HeightHash
		for h := from; h <= to && h <= 20; h++ {
			out = append(out, HeightHash{Height: h, StateHash: fmt.Sprintf("h%d", h)})
		}
		return out, nil
	}
	srv, err := ServeWith("127.0.0.1:0", func() (*Status, error) { return &Status{Format: 1}, nil }, Options{Hashes: src}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	ctx := context.Background()
	hs, err := FetchHashes(ctx, srv.Addr(), 18, 25, time.Second)
	if err != nil || len(hs) != 3 || hs[0].Height != 18 || hs[2].StateHash != "h20" {
		t.Fatalf("18..25 = %+v, %v", hs, err)
	}
	for _, bad := range [][2]int64{{0, 3}, {5, 4}, {1, MaxHashes + 1}} {
		if _, err := FetchHashes(ctx, srv.Addr(), bad[0], bad[1], time.Second); err == nil || !strings.Contains(err.Error(), "400") {
			t.Errorf("%v: %v, want a refusal", bad, err)
		}
	}
	plain, err := Serve("127.0.0.1:0", func() (*Status, error) { return &Status{Format: 1}, nil }, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	if _, err := FetchHashes(ctx, plain.Addr(), 1, 2, time.Second); err == nil || !strings.Contains(err.Error(), "does not serve") {
		t.Errorf("a node without hashes: %v", err)
	}
}
