package chain

import (
	"encoding/json"
	"testing"
)

// FuzzParseGenesis: any bytes give a validated genesis or an error naming
// the file, never a panic; an accepted genesis round-trips through JSON and
// is accepted again.
func FuzzParseGenesis(f *testing.F) {
	g := testGenesisForFuzz()
	good, _ := json.Marshal(g)
	f.Add(good)
	f.Add([]byte(`{"format":1}`))
	f.Add([]byte(`{"format":1,"chain_id":"x","genesis_time":-5,"maintenance_interval":2,"producer_slots":1,"signal_mode":"default","producers":[]}`))
	f.Add([]byte(`{"format":1,"genesis_time":99999999999999999}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		g, err := ParseGenesis("genesis.json", b)
		if err != nil {
			if len(err.Error()) < len("genesis.json") || err.Error()[:len("genesis.json")] != "genesis.json" {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		again, _ := json.Marshal(g)
		if _, err := ParseGenesis("genesis.json", again); err != nil {
			t.Fatalf("an accepted genesis does not round-trip: %v", err)
		}
		_ = g.Point(int64(g.MaintenanceInterval), g.Time)
	})
}

func testGenesisForFuzz() *Genesis {
	return &Genesis{Format: GenesisFormat, ChainID: "fuzz", Time: 1767225600, MaintenanceInterval: 10, ProducerSlots: 1, SignalMode: "default",
		Producers: []GenesisProducer{{Name: "p1", PubKey: "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", Stake: 10}}}
}
