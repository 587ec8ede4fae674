package dashboard

import "github.com/prometheus/client_golang/prometheus"

var descParties = prometheus.NewDesc("forkgate_campaign_parties", "Project parties per campaign state.", []string{"state"}, nil)

// campaignStates are exported even when empty, so a query never sees a
// state vanish.
var campaignStates = []string{"planned", "notified", "acknowledged", "upgraded", "verified"}

// partiesCollector counts the campaign's parties per state at each scrape.
type partiesCollector struct {
	rows func() ([]CampaignRow, error)
}

func (c partiesCollector) Describe(ch chan<- *prometheus.Desc) { ch <- descParties }

func (c partiesCollector) Collect(ch chan<- prometheus.Metric) {
	rows, err := c.rows()
	if err != nil {
		return
	}
	n := map[string]int{}
	for _, r := range rows {
		n[r.State]++
	}
	for _, s := range campaignStates {
		ch <- prometheus.MustNewConstMetric(descParties, prometheus.GaugeValue, float64(n[s]), s)
	}
}
