package chain

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"

	"github.com/forkgate/forkgate/schedule"
)

// GenesisFormat versions genesis.json.
const GenesisFormat = 1

// Genesis is a chain's starting point: accounts, the first producers, and the
// chain-wide settings that no config file may change later.
type Genesis struct {
	Format              int    `json:"format"`
	ChainID             string `json:"chain_id"`
	Time                int64  `json:"genesis_time"`         // unix seconds
	MaintenanceInterval int64  `json:"maintenance_interval"` // blocks between producer elections
	ProducerSlots       int    `json:"producer_slots"`       // size of the elected set (top N)
	SignalMode          string `json:"signal_mode"`          // "default" or "tron"
	// ParentStart makes this a parallel chain that follows a parent (main)
	// chain one parent block per block: block h is anchored at parent height
	// ParentStart + h. Forks written { parent = H } count that height. 0: not
	// a parallel chain.
	ParentStart int64             `json:"parent_start,omitempty"`
	Accounts    []GenesisAccount  `json:"accounts"`
	Producers   []GenesisProducer `json:"producers"`
}

// GenesisAccount funds an address.
type GenesisAccount struct {
	Address string `json:"address"`
	Balance uint64 `json:"balance"`
}

// GenesisProducer is a first producer: a registered candidate whose stake
// votes for itself, so it wins the first election.
type GenesisProducer struct {
	Name   string `json:"name"`
	PubKey string `json:"pub_key"` // hex ed25519
	Stake  uint64 `json:"stake"`
}

// Address of the producer's key.
func (p GenesisProducer) Address() (Address, error) {
	b, err := hex.DecodeString(p.PubKey)
	if err != nil || len(b) != ed25519.PublicKeySize {
		return Address{}, fmt.Errorf("producer %q: pub_key must be %d hex-encoded bytes", p.Name, ed25519.PublicKeySize)
	}
	return AddressOf(b), nil
}

// Validate checks what the chain relies on.
func (g *Genesis) Validate() error {
	switch {
	case g.Format != GenesisFormat:
		return fmt.Errorf("genesis format %d, this build reads %d", g.Format, GenesisFormat)
	case g.ChainID == "":
		return fmt.Errorf("genesis: chain_id is empty")
	case g.MaintenanceInterval < 2:
		return fmt.Errorf("genesis: maintenance_interval %d must be at least 2 blocks", g.MaintenanceInterval)
	case g.ProducerSlots < 1:
		return fmt.Errorf("genesis: producer_slots %d must be at least 1", g.ProducerSlots)
	case len(g.Producers) == 0:
		return fmt.Errorf("genesis: no producers; list at least one")
	}
	if g.ParentStart < 0 {
		return fmt.Errorf("genesis: parent_start %d is negative", g.ParentStart)
	}
	if g.SignalMode != "default" && g.SignalMode != "tron" {
		return fmt.Errorf("genesis: signal_mode %q must be default or tron", g.SignalMode)
	}
	seen := map[Address]bool{}
	for _, p := range g.Producers {
		a, err := p.Address()
		if err != nil {
			return fmt.Errorf("genesis: %v", err)
		}
		if seen[a] {
			return fmt.Errorf("genesis: producer %q is listed twice", p.Name)
		}
		seen[a] = true
	}
	for _, acc := range g.Accounts {
		if _, err := ParseAddress(acc.Address, false); err != nil {
			return fmt.Errorf("genesis: account: %v", err)
		}
	}
	return nil
}

// Hash identifies the genesis (the fork ID's starting point): sha256 of its
// canonical JSON.
func (g *Genesis) Hash() [32]byte {
	b, _ := json.Marshal(g)
	return sha256.Sum256(b)
}

// LoadGenesis reads and validates genesis.json.
func LoadGenesis(path string) (*Genesis, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var g Genesis
	if err := json.Unmarshal(b, &g); err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	if err := g.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	return &g, nil
}

// Point is where block h stands for fork activation: its height, time and,
// on a parallel chain, the parent chain height it is anchored at (-1 on a
// chain without a parent, so parent-height forks never activate there).
func (g *Genesis) Point(h, t int64) schedule.Block {
	parent := int64(-1)
	if g.ParentStart > 0 {
		parent = g.ParentStart + h
	}
	return schedule.Block{Height: h, Time: t, ParentHeight: parent}
}

// HeightAtParent is the first block of this chain anchored at or above parent
// height p (the inverse of Point); ok is false on a chain without a parent.
func (g *Genesis) HeightAtParent(p int64) (int64, bool) {
	if g.ParentStart <= 0 {
		return 0, false
	}
	return max(p-g.ParentStart, 1), true
}
