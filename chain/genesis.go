package chain

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"

	"github.com/forkgate/forkgate/schedule"
)

// Bounds of genesis values: integers a chain computes with (heights, times)
// stay far from overflow.
const (
	MaxTime          = 253402300799 // 9999-12-31T23:59:59Z
	MaxHeight        = 1 << 50
	MaxProducerSlots = 1 << 10
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
	ParentStart int64 `json:"parent_start,omitempty"`
	// ValidatorDelay is how many heights the consensus engine takes to apply
	// a producer set change: CometBFT (v0.38) proposes block M+1 from the set
	// before the election at M and applies the new set from M+2, so a
	// network's genesis says 2. The App then accepts, for heights M+1 ..
	// M+delay-1, a proposer of the outgoing set. 0: the App's own set at once
	// (the solo producer).
	ValidatorDelay int64             `json:"validator_delay,omitempty"`
	Accounts       []GenesisAccount  `json:"accounts"`
	Producers      []GenesisProducer `json:"producers"`
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
	if g.ParentStart < 0 || g.ParentStart > MaxHeight {
		return fmt.Errorf("genesis: parent_start %d: use 0 (not a parallel chain) or a parent height up to %d", g.ParentStart, int64(MaxHeight))
	}
	if g.Time < 0 || g.Time > MaxTime {
		return fmt.Errorf("genesis: genesis_time %d: use unix seconds from 0 to %d (year 9999)", g.Time, int64(MaxTime))
	}
	if g.MaintenanceInterval > MaxHeight {
		return fmt.Errorf("genesis: maintenance_interval %d is above %d", g.MaintenanceInterval, int64(MaxHeight))
	}
	if g.ValidatorDelay < 0 || g.ValidatorDelay > 16 || (g.ValidatorDelay > 0 && g.ValidatorDelay > g.MaintenanceInterval) {
		return fmt.Errorf("genesis: validator_delay %d: use 0 (solo), or the consensus engine's delay (CometBFT: 2), at most 16 and at most maintenance_interval", g.ValidatorDelay)
	}
	if g.ProducerSlots > MaxProducerSlots {
		return fmt.Errorf("genesis: producer_slots %d is above %d", g.ProducerSlots, MaxProducerSlots)
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

// MaxGenesisFile bounds genesis.json: a million funded accounts fit.
const MaxGenesisFile = 256 << 20

// LoadGenesis reads and validates genesis.json.
func LoadGenesis(path string) (*Genesis, error) {
	if st, err := os.Stat(path); err == nil && st.Size() > MaxGenesisFile {
		return nil, fmt.Errorf("%s: %d bytes, above the %d-byte limit of a genesis file", path, st.Size(), MaxGenesisFile)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParseGenesis(path, b)
}

// ParseGenesis decodes and validates a genesis file's JSON; unknown fields
// are refused, so a misspelt setting is an error rather than a default.
func ParseGenesis(path string, b []byte) (*Genesis, error) {
	var g Genesis
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&g); err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%s: trailing data after the genesis object", path)
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
