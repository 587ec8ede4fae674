package nodestatus

import (
	"net/http"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Node metric names (docs/operations.md). Every value is read from the
// status at scrape time, so the metrics can never disagree with GET /status.
var (
	descUp          = prometheus.NewDesc("forkgate_node_up", "1 when the node could compute its status at this scrape.", nil, nil)
	descInfo        = prometheus.NewDesc("forkgate_node_info", "Always 1; the labels name the chain and the build.", []string{"chain_id", "title", "app_version", "commit", "binary_sha256", "schedule_hash"}, nil)
	descHeight      = prometheus.NewDesc("forkgate_node_height", "Committed height.", nil, nil)
	descStore       = prometheus.NewDesc("forkgate_node_block_store_height", "Highest block in the block store.", nil, nil)
	descProtocol    = prometheus.NewDesc("forkgate_node_protocol_version", "Protocol version active for the next block.", nil, nil)
	descImplemented = prometheus.NewDesc("forkgate_node_implemented_version", "Highest protocol version this binary executes.", nil, nil)
	descSignalled   = prometheus.NewDesc("forkgate_node_signalled_version", "Version each producer of the current set last signalled.", []string{"producer"}, nil)
	descTally       = prometheus.NewDesc("forkgate_node_version_tally", "Producers signalling the version in the current window.", []string{"version"}, nil)
	descThreshold   = prometheus.NewDesc("forkgate_node_version_threshold", "Signals the version needs to pass.", []string{"version"}, nil)
	descState       = prometheus.NewDesc("forkgate_node_version_state", "1 for the version's current state.", []string{"version", "state"}, nil)
	descForkActive  = prometheus.NewDesc("forkgate_node_fork_active", "1 when the fork is active at the head.", []string{"fork"}, nil)
	descForkHeight  = prometheus.NewDesc("forkgate_node_fork_height", "Height from which the fork is active (-1 unknown).", []string{"fork"}, nil)
	descPending     = prometheus.NewDesc("forkgate_node_pending_upgrade_height", "Height of the next known fork activation (-1 none).", nil, nil)
	descHalted      = prometheus.NewDesc("forkgate_node_halted", "1 when the node stopped for an upgrade it cannot execute.", nil, nil)
	descVisorState  = prometheus.NewDesc("forkgate_node_visor_state", "1 for the supervisor's state (running, switching, gate, stopped, rolled_back, refused); absent without a supervisor.", []string{"state", "current"}, nil)
	descVisorRels   = prometheus.NewDesc("forkgate_node_visor_releases", "Releases the supervisor holds, verified.", nil, nil)
)

// collector computes the node metrics from a Source at each scrape.
type collector struct{ src Source }

func (c collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descUp, descInfo, descHeight, descStore, descProtocol, descImplemented,
		descSignalled, descTally, descThreshold, descState, descForkActive, descForkHeight, descPending, descHalted, descVisorState, descVisorRels} {
		ch <- d
	}
}

func (c collector) Collect(ch chan<- prometheus.Metric) {
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	st, err := c.src()
	if err != nil {
		gauge(descUp, 0)
		return
	}
	gauge(descUp, 1)
	gauge(descInfo, 1, st.ChainID, st.Title, st.AppVersion, st.Commit, st.BinarySHA256, st.ScheduleHash)
	gauge(descHeight, float64(st.Height))
	gauge(descStore, float64(st.BlockStore))
	gauge(descProtocol, float64(st.ProtocolVersion))
	gauge(descImplemented, float64(st.Implemented))
	for _, p := range st.Signal.Producers {
		gauge(descSignalled, float64(p.LastVersion), p.Producer)
	}
	for _, v := range st.Signal.Versions {
		ver := strconv.FormatUint(uint64(v.Version), 10)
		gauge(descTally, float64(v.Tally.Count), ver)
		gauge(descThreshold, float64(v.Tally.Threshold), ver)
		gauge(descState, 1, ver, v.State)
	}
	for _, f := range st.Forks.All {
		active := 0.0
		if f.Active {
			active = 1
		}
		gauge(descForkActive, active, f.Key)
		gauge(descForkHeight, float64(f.Height), f.Key)
	}
	pending := -1.0
	if st.Forks.Next != nil {
		pending = float64(st.Forks.Next.Height)
	}
	gauge(descPending, pending)
	halted := 0.0
	if st.Halt != "" || st.UpgradeNeeded != nil {
		halted = 1
	}
	gauge(descHalted, halted)
	if v := st.Visor; v != nil {
		gauge(descVisorState, 1, v.State, v.Current)
		gauge(descVisorRels, float64(len(v.Releases)))
	}
}

// NewRegistry is a registry of its own (never the global one, which
// CometBFT's metrics may use in the same process) holding the node metrics.
func NewRegistry(src Source) *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collector{src})
	return reg
}

// MetricsHandler serves the node metrics in the Prometheus exposition format.
func MetricsHandler(src Source) http.Handler {
	return promhttp.HandlerFor(NewRegistry(src), promhttp.HandlerOpts{})
}
