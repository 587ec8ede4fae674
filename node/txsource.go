package node

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/forkgate/forkgate/chain"
	"github.com/forkgate/forkgate/schedule"
	"github.com/forkgate/forkgate/workload"
)

// TxSource makes the user transactions of a block. It must be a pure
// function of the height and the committed state it reads through view (no
// clock, no memory of earlier calls), so that a restarted node, or a node
// replaying another's blocks, proposes exactly what an uninterrupted one
// would. workload.Generator plugs in here.
type TxSource interface {
	Next(height int64, view chain.KV, n int) [][]byte
}

// SourceEnv is what a transaction source is built from.
type SourceEnv struct {
	ChainID   string
	Genesis   *chain.Genesis
	Accounts  []*Key // funded account keys, sorted by name
	Producers []*Key // producer keys this node holds, sorted by name
	Schedule  *schedule.Schedule
	Seed      string // hex genesis hash: the source's seed
}

// SourceFactory builds a named transaction source.
type SourceFactory func(env SourceEnv) (TxSource, error)

var (
	sourcesMu sync.Mutex
	sources   = map[string]SourceFactory{
		"none":  func(SourceEnv) (TxSource, error) { return nil, nil },
		"coins": func(env SourceEnv) (TxSource, error) { return NewCoinsSource(env) },
		"mixed": newMixedSource,
	}
)

// RegisterSource adds a transaction source that [node] workload can name.
// The built-in ones are "none", "coins" (below) and "mixed" (package
// workload's generator, which node depends on explicitly: it is the default
// workload of every home); tests and tools register their own.
func RegisterSource(name string, f SourceFactory) {
	sourcesMu.Lock()
	defer sourcesMu.Unlock()
	sources[name] = f
}

// SourceNames lists the registered sources.
func SourceNames() []string {
	sourcesMu.Lock()
	defer sourcesMu.Unlock()
	out := make([]string, 0, len(sources))
	for n := range sources {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

func (n *Node) txSource() (TxSource, error) {
	if n.opts.TxSource != nil {
		return n.opts.TxSource, nil
	}
	name := n.l.cfg.Node.Workload
	sourcesMu.Lock()
	f, ok := sources[name]
	sourcesMu.Unlock()
	if !ok {
		return nil, fmt.Errorf("%s: [node] workload = %q: use one of %s", n.l.cfg.Path, name, strings.Join(SourceNames(), ", "))
	}
	var prods []*Key
	for _, k := range n.l.producers {
		if k.Role == RoleProducer {
			prods = append(prods, k)
		}
	}
	sort.Slice(prods, func(i, j int) bool { return prods[i].Name < prods[j].Name })
	return f(SourceEnv{ChainID: n.l.genesis.ChainID, Genesis: n.l.genesis, Accounts: n.l.accounts, Producers: prods,
		Schedule: n.l.cfg.Schedule, Seed: hexs(n.l.gHash[:])})
}

// newMixedSource is package workload's generator, which keeps every
// executor busy; it is the default workload of node init, and the reason
// node imports workload (a source must live where the node can build it
// from a config name). Its seed is taken from the genesis hash.
//
// The generator is restart-safe: its transactions for a height are a pure
// function of the seed, the chain ID, the keys, the height and the committed
// state (it derives its game secrets from the seed and what each game
// records, and reads the approvals it sent back from the state), so a node
// stopped, upgraded and restarted on the same data proposes exactly what an
// uninterrupted one would.
func newMixedSource(env SourceEnv) (TxSource, error) {
	if len(env.Accounts) == 0 {
		return nil, fmt.Errorf("the mixed workload needs account keys in HOME/keys (role %q)", RoleAccount)
	}
	seedBytes, err := hex.DecodeString(env.Seed)
	if err != nil || len(seedBytes) < 8 {
		return nil, fmt.Errorf("mixed workload: bad seed %q", env.Seed)
	}
	keys := func(ks []*Key) []ed25519.PrivateKey {
		out := make([]ed25519.PrivateKey, len(ks))
		for i, k := range ks {
			out[i] = k.Private()
		}
		return out
	}
	g := workload.New(int64(binary.BigEndian.Uint64(seedBytes)), env.ChainID, keys(env.Accounts), keys(env.Producers))
	g.Fee = sourceFee
	g.MaintenanceInterval = env.Genesis.MaintenanceInterval
	if env.Schedule != nil {
		g.Bond = uint64(maxParam(env.Schedule, "producers.minBond", int64(g.Bond)))
		g.Deposit = uint64(maxParam(env.Schedule, "governance.deposit", int64(g.Deposit)))
	}
	return g, nil
}

// maxParam is the highest value a height-versioned integer parameter takes
// in the schedule: what a generator must budget for.
func maxParam(s *schedule.Schedule, name string, def int64) int64 {
	out := def
	for _, ph := range s.ParamHistories() {
		if ph.Name != name {
			continue
		}
		if ph.Base != nil && ph.Base.IsInt() {
			out = max(out, ph.Base.Int)
		}
		for _, o := range ph.Overrides {
			if o.Value.IsInt() {
				out = max(out, o.Value.Int)
			}
		}
	}
	return out
}

// CoinsSource makes coin transfers between the home's accounts: senders and
// amounts drawn from a generator seeded by the height, nonces read from the
// state, and one transaction in ten deliberately invalid (a nonce from the
// future), so that blocks carry both outcomes.
type CoinsSource struct {
	chainID  string
	accounts []*Key
	seed     [32]byte
}

// NewCoinsSource builds the coins source.
func NewCoinsSource(env SourceEnv) (*CoinsSource, error) {
	if len(env.Accounts) == 0 {
		return nil, fmt.Errorf("the coins workload needs account keys in HOME/keys (role %q)", RoleAccount)
	}
	return &CoinsSource{chainID: env.ChainID, accounts: env.Accounts, seed: sha256.Sum256([]byte("forkgate/coins-source/v1\x00" + env.Seed))}, nil
}

// Fee paid by the source's transactions: above every minimum fee the
// default config schedules.
const sourceFee = 10

// Next implements TxSource.
func (c *CoinsSource) Next(height int64, view chain.KV, n int) [][]byte {
	rng := newDetRand(c.seed, height)
	nonces := map[chain.Address]uint64{}
	out := make([][]byte, 0, n)
	for i := 0; i < n; i++ {
		from := c.accounts[rng.intn(len(c.accounts))]
		to := c.accounts[rng.intn(len(c.accounts))]
		addr := from.Addr()
		nonce, ok := nonces[addr]
		if !ok {
			acc, err := chain.GetAccount(view, addr)
			if err != nil {
				continue
			}
			nonce = acc.Nonce
		}
		amount := 1 + uint64(rng.intn(1000))
		invalid := rng.intn(10) == 0
		tx := &chain.Tx{ChainID: c.chainID, Exec: "coins", Action: "transfer",
			Payload: chain.Transfer{To: to.Address, Amount: amount}.Encode(), Nonce: nonce, Fee: sourceFee}
		if invalid {
			tx.Nonce = nonce + 1_000_000 // rejected: the account expects nonce
		} else {
			nonces[addr] = nonce + 1
		}
		tx.Sign(from.Private())
		out = append(out, tx.Encode())
	}
	return out
}

// detRand is a small deterministic generator (sha256 in counter mode): the
// same seed and height give the same draws on every platform.
type detRand struct {
	seed [32]byte
	h    int64
	ctr  uint64
	buf  [32]byte
	off  int
}

func newDetRand(seed [32]byte, height int64) *detRand {
	return &detRand{seed: seed, h: height, off: 32}
}

func (r *detRand) u64() uint64 {
	if r.off+8 > len(r.buf) {
		var in [48]byte
		copy(in[:], r.seed[:])
		binary.BigEndian.PutUint64(in[32:], uint64(r.h))
		binary.BigEndian.PutUint64(in[40:], r.ctr)
		r.ctr++
		r.buf = sha256.Sum256(in[:])
		r.off = 0
	}
	v := binary.BigEndian.Uint64(r.buf[r.off:])
	r.off += 8
	return v
}

func (r *detRand) intn(n int) int { return int(r.u64() % uint64(n)) }
