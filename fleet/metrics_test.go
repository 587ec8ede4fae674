package fleet

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
)

// TestWatchMetrics: a watcher over four nodes, one split at 37 and one
// halted, exports the fleet gauges; /metrics is scraped over HTTP and the
// exposition parsed.
func TestWatchMetrics(t *testing.T) {
	split := postNode("n2", 50)
	split.splitAt = 37
	halted := postNode("n3", 39)
	halted.version, halted.sha, halted.halt = "0.1.0", "old", "protocol version 2 is active"
	var targets []Target
	for _, f := range []fake{postNode("n0", 50), postNode("n1", 50), split, halted} {
		targets = append(targets, f.start(t))
	}
	m := NewMetrics()
	w := &Watcher{Targets: targets, Doc: testDoc(), DocPath: "DOC.json", Phase: "post", Metrics: m, Options: Options{Timeout: 2 * time.Second}}
	updates, stop := w.Subscribe()
	defer stop()
	if _, err := w.Once(context.Background()); err != nil {
		t.Fatal(err)
	}
	select {
	case rep := <-updates:
		if rep.Agreement.SplitHeight != 37 {
			t.Fatalf("the subscriber got split %d", rep.Agreement.SplitHeight)
		}
	default:
		t.Fatal("the subscriber got no report")
	}

	ts := httptest.NewServer(m.Handler())
	defer ts.Close()
	resp, err := ts.Client().Get(ts.URL)
	if err != nil {
		t.Fatal(err)
	}
	var p expfmt.TextParser
	fams, err := p.TextToMetricFamilies(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	get := func(name string, labels ...string) float64 {
		t.Helper()
		f, ok := fams[name]
		if !ok {
			t.Fatalf("no %s", name)
		}
		for _, mt := range f.Metric {
			match := true
			for _, kv := range labels {
				k, v, _ := strings.Cut(kv, "=")
				found := false
				for _, l := range mt.Label {
					found = found || (l.GetName() == k && l.GetValue() == v)
				}
				match = match && found
			}
			if match {
				if f.GetType() == dto.MetricType_COUNTER {
					return mt.GetCounter().GetValue()
				}
				return mt.GetGauge().GetValue()
			}
		}
		t.Fatalf("no %s%v", name, labels)
		return 0
	}
	for _, tc := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"forkgate_fleet_nodes_agree", nil, 0},
		{"forkgate_fleet_split_height", nil, 37},
		{"forkgate_fleet_max_height", nil, 50},
		{"forkgate_fleet_check_ok", nil, 0},
		{"forkgate_fleet_nodes", []string{"state=ok"}, 2},
		{"forkgate_fleet_nodes", []string{"state=split"}, 1},
		{"forkgate_fleet_nodes", []string{"state=halted"}, 1},
		{"forkgate_fleet_nodes", []string{"state=lagging"}, 0},
		{"forkgate_fleet_nodes_upgrade", []string{"upgrade=upgraded"}, 3},
		{"forkgate_fleet_nodes_upgrade", []string{"upgrade=pending"}, 1},
		{"forkgate_fleet_node_height", []string{"node=n3"}, 39},
		{"forkgate_fleet_node_up", []string{"node=n0"}, 1},
		{"forkgate_fleet_findings", []string{"check=post.nodes.agree"}, 1},
		{"forkgate_fleet_findings", []string{"check=fleet.node.halted"}, 1},
		{"forkgate_fleet_checks_total", nil, 1},
	} {
		if got := get(tc.name, tc.labels...); got != tc.want {
			t.Errorf("%s%v = %v, want %v", tc.name, tc.labels, got, tc.want)
		}
	}
}
