package fleet

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics are the fleet gauges `check --watch` and the dashboard export,
// in a registry of their own (docs/operations.md lists the names).
type Metrics struct {
	Registry   *prometheus.Registry
	agree      prometheus.Gauge
	split      prometheus.Gauge
	maxHeight  prometheus.Gauge
	ok         prometheus.Gauge
	nodes      *prometheus.GaugeVec
	upgrade    *prometheus.GaugeVec
	height     *prometheus.GaugeVec
	up         *prometheus.GaugeVec
	findings   *prometheus.GaugeVec
	checks     prometheus.Counter
	lastCheckT prometheus.Gauge
}

// NewMetrics creates the gauges in a new registry.
func NewMetrics() *Metrics {
	m := &Metrics{
		Registry:   prometheus.NewRegistry(),
		agree:      prometheus.NewGauge(prometheus.GaugeOpts{Name: "forkgate_fleet_nodes_agree", Help: "1 when every reachable node holds the same state hash at common heights."}),
		split:      prometheus.NewGauge(prometheus.GaugeOpts{Name: "forkgate_fleet_split_height", Help: "Lowest height where a group of nodes split from the majority (-1: none)."}),
		maxHeight:  prometheus.NewGauge(prometheus.GaugeOpts{Name: "forkgate_fleet_max_height", Help: "Highest height any node reported."}),
		ok:         prometheus.NewGauge(prometheus.GaugeOpts{Name: "forkgate_fleet_check_ok", Help: "1 when the last check had no finding."}),
		nodes:      prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "forkgate_fleet_nodes", Help: "Nodes per state (ok, lagging, halted, split, unreachable)."}, []string{"state"}),
		upgrade:    prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "forkgate_fleet_nodes_upgrade", Help: "Nodes per upgrade state against the document's release."}, []string{"upgrade"}),
		height:     prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "forkgate_fleet_node_height", Help: "Each node's height."}, []string{"node"}),
		up:         prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "forkgate_fleet_node_up", Help: "1 when the node's status API answered."}, []string{"node"}),
		findings:   prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "forkgate_fleet_findings", Help: "Findings per check in the last check."}, []string{"check"}),
		checks:     prometheus.NewCounter(prometheus.CounterOpts{Name: "forkgate_fleet_checks_total", Help: "Checks run."}),
		lastCheckT: prometheus.NewGauge(prometheus.GaugeOpts{Name: "forkgate_fleet_last_check_timestamp_seconds", Help: "When the last check ran."}),
	}
	m.Registry.MustRegister(m.agree, m.split, m.maxHeight, m.ok, m.nodes, m.upgrade, m.height, m.up, m.findings, m.checks, m.lastCheckT)
	return m
}

// Update sets the gauges from a report.
func (m *Metrics) Update(r *Report) {
	b := func(v bool) float64 {
		if v {
			return 1
		}
		return 0
	}
	m.checks.Inc()
	m.lastCheckT.Set(float64(r.Time.UnixNano()) / 1e9)
	m.agree.Set(b(r.Agreement.Agree))
	split := float64(r.Agreement.SplitHeight)
	if r.Agreement.SplitHeight == 0 {
		split = -1
	}
	m.split.Set(split)
	m.maxHeight.Set(float64(r.MaxHeight))
	m.ok.Set(b(r.OK))
	// Every state is exported, at 0 when no node is in it, so a query
	// never sees a state vanish.
	m.nodes.Reset()
	for _, s := range []string{StateOK, StateLagging, StateHalted, StateSplit, StateUnreachable} {
		m.nodes.WithLabelValues(s).Set(0)
	}
	m.upgrade.Reset()
	for _, s := range []string{UpgradeUpgraded, UpgradePending, UpgradeWrongBinary, UpgradeOther, UpgradeUnknown} {
		m.upgrade.WithLabelValues(s).Set(0)
	}
	m.height.Reset()
	m.up.Reset()
	for _, n := range r.Nodes {
		m.nodes.WithLabelValues(n.State).Inc()
		m.upgrade.WithLabelValues(n.Upgrade).Inc()
		m.up.WithLabelValues(n.Name).Set(b(n.Reachable))
		if n.Reachable {
			m.height.WithLabelValues(n.Name).Set(float64(n.Height))
		}
	}
	m.findings.Reset()
	for _, res := range r.Results {
		m.findings.WithLabelValues(res.ID).Set(float64(len(res.Findings)))
	}
}

// Handler serves the registry in the Prometheus exposition format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{})
}
