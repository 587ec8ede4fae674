package devnet

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/forkgate/forkgate/chain"
	"github.com/forkgate/forkgate/node"
)

func TestDevnetActivatesVersion2(t *testing.T) {
	var out bytes.Buffer
	var apiHeight int64 = -1
	o := Options{
		Home:             t.TempDir() + "/home",
		Producers:        4,
		ProducerUpgrades: map[string]int64{"p1": 30, "p2": 35, "p3": 40},
		Blocks:           60,
		Out:              &out,
	}
	var addr string
	o.OnServe = func(a string) { addr = a }
	res, err := Run(t.Context(), o)
	if err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	_ = apiHeight
	if addr == "" || res.HTTP != addr {
		t.Fatalf("status API address %q / %q", addr, res.HTTP)
	}
	if res.Height != 60 || res.Blocks != 60 || res.Txs != 60*16 || res.OK < res.Txs*9/10 {
		t.Fatalf("result %+v", res)
	}
	// p1..p3 (3 of 4 = 75%) signal 2 from 40 at the latest: locked in
	// during a period after 40, active after the next maintenance (the
	// workload's votes reorder the set, so the exact height depends on it).
	at := int64(-1)
	for _, f := range res.SwitchedOn {
		if f.Key == chain.ForkGamePayoutV2.Key() {
			at = f.Height
		}
	}
	if at < 42 || at > 60 || (at-2)%10 != 0 {
		t.Fatalf("%s switched on at %d, want a maintenance height after 40\n%s", chain.ForkGamePayoutV2.Key(), at, out.String())
	}
	active := fmt.Sprintf("version 2 active from height %d; forks switched on with it: %s", at, chain.ForkGamePayoutV2.Key())
	for _, s := range []string{"status API on http://127.0.0.1:", "v2 started", "v2 locked_in", active, "p4 v1"} {
		if !strings.Contains(out.String(), s) {
			t.Errorf("output lacks %q", s)
		}
	}
	t.Logf("devnet: %.0f blocks/s, %.0f tx/s", res.BlocksPerS, res.TxsPerS)
	if testing.Verbose() {
		t.Log(out.String())
	}
	// The same home continues, and the status read from its data agrees.
	st, err := node.ReadStatus(o.Home, node.Options{})
	if err != nil || st.Height != 60 || st.StateHash != res.StateHash {
		t.Fatalf("status after devnet: %+v %v", st, err)
	}
}
