// Package workload generates a deterministic, seeded stream of valid signed
// transactions for the reference chain, covering every executor and action:
// coin transfers; token create, issue, transfer and burn; full
// rock-paper-scissors games (open, join, reveal, and timeouts ending in a
// claim or a cancel); stake, unstake, vote, register and unregister; and
// governance proposals, approvals and deposit settlement by producers.
//
// The generator is restart-safe: what it returns for a height is a pure
// function of the seed, the chain ID, the keys, the height and the
// committed state it reads through a chain.KV view. Nothing it remembers
// between calls changes its output:
//
//   - the move and salt behind each of its game commitments are derived
//     from the seed, the chain ID, the height the commitment was made at,
//     the player, the player's slot in the game and a per-block counter, so
//     a reveal recomputes them from what the game records (Opened or
//     Joined, Players) and checks them against the stored commitment;
//   - the approvals already sent are read back from the signal
//     controller's open proposals (chain.ProposalApprovers);
//   - nonces come from the view plus the transactions it generated for the
//     same block, so a rejected transaction never leaves it out of step;
//   - the only memory, where live games start and how many of its tokens
//     exist, is a scan cache that yields what a scan from scratch would,
//     and is dropped whenever the height does not advance.
//
// A generator created afresh at any height (a restarted node, a replaced
// binary) therefore continues exactly as an uninterrupted one.
//
// Usage, once per block:
//
//	g := workload.New(seed, chainID, accountKeys, producerKeys)
//	txs := g.Next(height, store, 20) // store: the state committed at height-1
package workload

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"slices"

	"github.com/forkgate/forkgate/codec"

	"github.com/forkgate/forkgate/chain"
)

// Mix weights the executors: each transaction picks an executor with
// probability weight/sum. A zero weight disables one. Time-critical steps
// go first, before the weighted draw: game reveals, claims and cancels
// (when Game has a weight), and producer funding and deposit settlement
// (when Governance has one).
type Mix struct {
	Transfer   int
	Token      int
	Game       int
	Producers  int
	Governance int
}

// DefaultMix keeps every executor busy.
func DefaultMix() Mix { return Mix{Transfer: 3, Token: 3, Game: 4, Producers: 3, Governance: 2} }

// Key derives a deterministic ed25519 key from a seed and a name; a devnet
// uses it for its accounts and producers so the generator can sign for them.
func Key(seed int64, name string) ed25519.PrivateKey {
	sum := sha256.Sum256([]byte(fmt.Sprintf("forkgate-workload/%d/%s", seed, name)))
	return ed25519.NewKeyFromSeed(sum[:])
}

// Keys derives n keys named prefix0, prefix1, ...
func Keys(seed int64, prefix string, n int) []ed25519.PrivateKey {
	out := make([]ed25519.PrivateKey, n)
	for i := range out {
		out[i] = Key(seed, fmt.Sprintf("%s%d", prefix, i))
	}
	return out
}

// Address is the chain address of a key.
func Address(k ed25519.PrivateKey) chain.Address {
	return chain.AddressOf(k.Public().(ed25519.PublicKey))
}

// Limits that keep the generated load valid and the election stable.
const (
	maxAccountStake  = 1000 // per account: far below a genesis producer's stake
	maxCandidates    = 2    // account candidates at a time
	maxLiveGames     = 24   // open or joined games
	maxTokens        = 16   // tokens the generator creates
	tokenMaxSupply   = 1 << 30
	producerLow      = 20_000 // a producer below this gets funded
	producerFunding  = 50_000
	minProposalValue = 10_000 // game.maxStake proposals stay above every stake sent
	gameStakeMax     = 1000
	registerMinAge   = 8 // blocks a candidacy lasts before the generator unregisters it
	reserveMargin    = 1000
	forgetEvery      = 4 // one joined game in forgetEvery: the joiner never reveals (claim path)
	abandonEvery     = 5 // one opened game in abandonEvery is never joined (cancel path)
)

// Generator produces the transactions. It is not safe for concurrent use.
type Generator struct {
	// Mix weights the executors; DefaultMix unless changed.
	Mix Mix
	// Fee is paid by every transaction (default 10); it must reach the
	// chain's minimum fee.
	Fee uint64
	// Bond and Deposit are what the generator budgets for register and
	// propose (defaults: chain.DefaultMinBond, chain.DefaultDeposit); set
	// them when the chain's parameters differ.
	Bond, Deposit uint64
	// MaintenanceInterval is the genesis maintenance interval; when set,
	// no approval is sent in a maintenance block (the maintenance decides
	// the open proposals before the block's transactions run).
	MaintenanceInterval int64

	seed      int64
	chainID   string
	accounts  []actor
	producers []actor
	byAddr    map[chain.Address]int // index for actorAt: accounts, then producers
	err       error                 // the last view read error

	// A scan cache, not state: it only saves reads, and gives what a scan
	// from scratch would because game ids are never reused and the
	// generator's tokens are never deleted. It is reset whenever the height
	// does not advance (a rewound or replayed chain).
	lastHeight int64
	lowGame    uint64 // every game below it is finished
	tokens     int    // generator tokens known to exist: symbol(0..tokens-1)
}

// Err is the error that made the last Next return early (a state read
// failure), or nil.
func (g *Generator) Err() error { return g.err }

type actor struct {
	key  ed25519.PrivateKey
	addr chain.Address
}

// secret is the move and salt behind a game commitment.
type secret struct {
	move uint8
	salt []byte
}

// maxCommitsPerBlock bounds the per-block counter a reveal searches: one
// player's commitments in one slot within one block. Opens stop at
// maxLiveGames live games, and joins need an open game, so neither slot
// gets more; the search stops at the first match.
const maxCommitsPerBlock = maxLiveGames

// commitKey counts one player's commitments per slot within a block.
type commitKey struct {
	addr chain.Address
	slot uint8
}

// New builds a generator. keys are the funded accounts that send the load;
// producerKeys are the producers' keys, used for governance (and funded by
// the accounts when they run low).
func New(seed int64, chainID string, keys []ed25519.PrivateKey, producerKeys []ed25519.PrivateKey) *Generator {
	g := &Generator{Mix: DefaultMix(), Fee: 10, Bond: chain.DefaultMinBond, Deposit: chain.DefaultDeposit,
		seed: seed, chainID: chainID, byAddr: map[chain.Address]int{}, lowGame: 1}
	for _, k := range keys {
		a := actor{key: k, addr: Address(k)}
		if _, dup := g.byAddr[a.addr]; dup {
			continue
		}
		g.byAddr[a.addr] = len(g.accounts)
		g.accounts = append(g.accounts, a)
	}
	for _, k := range producerKeys {
		a := actor{key: k, addr: Address(k)}
		if _, dup := g.byAddr[a.addr]; dup {
			continue
		}
		g.byAddr[a.addr] = len(g.accounts) + len(g.producers)
		g.producers = append(g.producers, a)
	}
	return g
}

// actorAt is the i-th actor: accounts first, then producers.
func (g *Generator) actorAt(i int) actor {
	if i < len(g.accounts) {
		return g.accounts[i]
	}
	return g.producers[i-len(g.accounts)]
}

// rng is splitmix64: tiny, and stable across Go releases, so the same seed
// gives the same bytes with any toolchain.
type rng struct{ s uint64 }

func newRNG(seed, height int64) *rng {
	r := &rng{s: uint64(seed)*0x9e3779b97f4a7c15 ^ uint64(height)}
	r.next()
	return r
}

func (r *rng) next() uint64 {
	r.s += 0x9e3779b97f4a7c15
	z := r.s
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// intn is uniform enough in [0, n) for a load generator; n > 0.
func (r *rng) intn(n int) int { return int(r.next() % uint64(n)) }

// between is uniform in [lo, hi].
func (r *rng) between(lo, hi uint64) uint64 { return lo + r.next()%(hi-lo+1) }

// hashMod is a stable per-object choice (which games are abandoned or
// forgotten) that survives a restart of the generator.
func (g *Generator) hashMod(what string, id uint64, n uint64) uint64 {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], id)
	sum := sha256.Sum256(append([]byte(fmt.Sprintf("%d/%s/", g.seed, what)), b[:]...))
	return binary.BigEndian.Uint64(sum[:8]) % n
}

// tokenSymbol is the generator's i-th token symbol: "W" and three letters.
func tokenSymbol(i int) string {
	return string([]byte{'W', byte('A' + i/676%26), byte('A' + i/26%26), byte('A' + i%26)})
}

// block is the generator's view of the block being built: the committed
// state plus what its own transactions in the block will spend.
type block struct {
	g       *Generator
	height  int64
	view    chain.KV
	r       *rng
	out     [][]byte
	nonce   map[chain.Address]uint64
	spent   map[chain.Address]uint64
	busy    map[chain.Address]bool // one producers/governance action per sender per block
	leave   map[chain.Address]bool // candidates unregistering in this block
	games   map[uint64]bool        // games this block already acts on
	commits map[commitKey]uint32   // commitments made this block, per player and slot
	tokSp   map[string]uint64      // token units moved out of an account this block, by sym+addr
	issued  map[string]uint64      // token supply issued this block
	newTok  int                    // tokens created this block
	opened  int                    // games opened this block
	err     error
	live    []chain.GameInfo
}

// Next returns up to n signed transactions for the block at height, given
// the state committed at height-1. It returns fewer when nothing valid is
// left to do, and none when the view cannot be read.
func (g *Generator) Next(height int64, view chain.KV, n int) [][]byte {
	b := &block{g: g, height: height, view: view, r: newRNG(g.seed, height),
		nonce: map[chain.Address]uint64{}, spent: map[chain.Address]uint64{}, busy: map[chain.Address]bool{}, leave: map[chain.Address]bool{},
		games: map[uint64]bool{}, commits: map[commitKey]uint32{}, tokSp: map[string]uint64{}, issued: map[string]uint64{}}
	if len(g.accounts) == 0 || n <= 0 {
		return nil
	}
	g.err = nil
	if height <= g.lastHeight {
		g.lowGame, g.tokens = 1, 0 // not the chain the cache was built on
	}
	g.lastHeight = height
	if err := b.load(); err != nil {
		g.err = err
		return nil
	}
	if g.Mix.Game > 0 {
		b.gameDuties(n)
	}
	if g.Mix.Governance > 0 {
		b.fundProducers(n)
		b.settle(n)
	}
	weights := []int{g.Mix.Transfer, g.Mix.Token, g.Mix.Game, g.Mix.Producers, g.Mix.Governance}
	total := 0
	for _, w := range weights {
		total += max(w, 0)
	}
	if total == 0 {
		return b.out
	}
	gens := []func() bool{b.transfer, b.token, b.game, b.producers, b.governance}
	for tries := 0; len(b.out) < n && tries < 4*n && b.err == nil; tries++ {
		pick := b.r.intn(total)
		for i, w := range weights {
			if w <= 0 {
				continue
			}
			if pick < w {
				gens[i]()
				break
			}
			pick -= w
		}
	}
	if b.err != nil {
		g.err = b.err
	}
	return b.out
}

// load reads the live games and the generator's tokens.
func (b *block) load() error {
	g := b.g
	next, err := chain.NextGameID(b.view)
	if err != nil {
		return err
	}
	for id := g.lowGame; id < next; id++ {
		gi, ok, err := chain.GetGame(b.view, id)
		if err != nil {
			return err
		}
		if !ok {
			if id == g.lowGame {
				g.lowGame++
			}
			continue
		}
		b.live = append(b.live, gi)
	}
	for g.tokens < maxTokens {
		_, ok, err := chain.GetToken(b.view, tokenSymbol(g.tokens))
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		g.tokens++
	}
	return nil
}

func (b *block) account(a chain.Address) chain.Account {
	acc, err := chain.GetAccount(b.view, a)
	if err != nil && b.err == nil {
		b.err = err
	}
	return acc
}

// free is what a sender can still spend in this block.
func (b *block) free(a chain.Address) uint64 {
	bal := b.account(a).Balance
	if s := b.spent[a]; s < bal {
		return bal - s
	}
	return 0
}

// affords reports whether a can pay the fee plus cost and keep a margin.
func (b *block) affords(a chain.Address, cost uint64) bool {
	return b.free(a) >= cost+b.g.Fee+reserveMargin
}

// send signs a transaction from the actor and books its fee and cost.
func (b *block) send(from actor, exec, action string, payload []byte, cost uint64) {
	n, ok := b.nonce[from.addr]
	if !ok {
		n = b.account(from.addr).Nonce
	}
	tx := &chain.Tx{ChainID: b.g.chainID, Exec: exec, Action: action, Payload: payload, Nonce: n, Fee: b.g.Fee}
	tx.Sign(from.key)
	b.nonce[from.addr] = n + 1
	b.spent[from.addr] += b.g.Fee + cost
	b.out = append(b.out, tx.Encode())
}

// pickAccount returns a random account that affords cost and passes ok.
func (b *block) pickAccount(cost uint64, ok func(actor) bool) (actor, bool) {
	accs := b.g.accounts
	start := b.r.intn(len(accs))
	for i := range accs {
		a := accs[(start+i)%len(accs)]
		if b.affords(a.addr, cost) && (ok == nil || ok(a)) {
			return a, true
		}
	}
	return actor{}, false
}

func (b *block) controlled(a chain.Address) (actor, bool) {
	i, ok := b.g.byAddr[a]
	if !ok {
		return actor{}, false
	}
	return b.g.actorAt(i), true
}

// --- coins ---

func (b *block) transfer() bool {
	from, ok := b.pickAccount(1000, nil)
	if !ok {
		return false
	}
	all := len(b.g.accounts) + len(b.g.producers)
	to := b.g.actorAt(b.r.intn(all))
	if to.addr == from.addr {
		to = b.g.actorAt((b.g.byAddr[to.addr] + 1) % all)
	}
	amount := b.r.between(1, 1000)
	b.send(from, "coins", "transfer", chain.Transfer{To: to.addr.String(), Amount: amount}.Encode(), amount)
	return true
}

// fundProducers tops up producers that run low, so they can pay for
// governance (fees and deposits).
func (b *block) fundProducers(n int) {
	for _, p := range b.g.producers {
		if len(b.out) >= n {
			return
		}
		if b.account(p.addr).Balance >= producerLow {
			continue
		}
		from, ok := b.pickAccount(producerFunding*2, nil)
		if !ok {
			return
		}
		b.send(from, "coins", "transfer", chain.Transfer{To: p.addr.String(), Amount: producerFunding}.Encode(), producerFunding)
	}
}

// --- token ---

func (b *block) token() bool {
	switch b.r.intn(6) {
	case 0:
		return b.tokenCreate() || b.tokenIssue()
	case 1, 2:
		return b.tokenIssue() || b.tokenCreate()
	case 3, 4:
		return b.tokenMove("transfer") || b.tokenIssue()
	default:
		return b.tokenMove("burn") || b.tokenIssue()
	}
}

func (b *block) tokenCreate() bool {
	i := b.g.tokens + b.newTok
	if i >= maxTokens {
		return false
	}
	from, ok := b.pickAccount(0, nil)
	if !ok {
		return false
	}
	b.newTok++
	sym := tokenSymbol(i)
	b.send(from, "token", "create", chain.TokenCreate{Symbol: sym, Name: "Workload " + sym, MaxSupply: tokenMaxSupply}.Encode(), 0)
	return true
}

func (b *block) tokenIssue() bool {
	if b.g.tokens == 0 {
		return false
	}
	sym := tokenSymbol(b.r.intn(b.g.tokens))
	t, ok, err := chain.GetToken(b.view, sym)
	if err != nil || !ok {
		return false
	}
	owner, ok := b.controlled(t.Owner)
	if !ok || !b.affords(owner.addr, 0) {
		return false
	}
	amount := b.r.between(1, 10_000)
	if t.Supply+b.issued[sym]+amount > t.MaxSupply {
		return false
	}
	b.issued[sym] += amount
	to := b.g.accounts[b.r.intn(len(b.g.accounts))]
	b.send(owner, "token", "issue", chain.TokenIssue{Symbol: sym, To: to.addr.String(), Amount: amount}.Encode(), 0)
	return true
}

func (b *block) tokenMove(action string) bool {
	if b.g.tokens == 0 {
		return false
	}
	sym := tokenSymbol(b.r.intn(b.g.tokens))
	accs := b.g.accounts
	start := b.r.intn(len(accs))
	for i := range accs {
		from := accs[(start+i)%len(accs)]
		bal, err := chain.TokenBalance(b.view, sym, from.addr)
		if err != nil {
			return false
		}
		key := sym + string(from.addr[:])
		if bal <= b.tokSp[key] || !b.affords(from.addr, 0) {
			continue
		}
		amount := b.r.between(1, min(bal-b.tokSp[key], 500))
		b.tokSp[key] += amount
		if action == "burn" {
			b.send(from, "token", "burn", chain.TokenBurn{Symbol: sym, Amount: amount}.Encode(), 0)
		} else {
			to := accs[b.r.intn(len(accs))]
			b.send(from, "token", "transfer", chain.TokenTransfer{Symbol: sym, To: to.addr.String(), Amount: amount}.Encode(), 0)
		}
		return true
	}
	return false
}

// --- game ---

// secretFor derives the move and salt of the k-th commitment player made
// in slot (0 open, 1 join) of a game in the block at height:
// sha256 of a domain tag, the seed, the chain ID, height, slot, player and
// k. The move is 1 + (first 8 bytes mod 3), the salt the other 24 bytes.
func (g *Generator) secretFor(height int64, player chain.Address, slot uint8, k uint32) secret {
	var w codec.Writer
	w.String("forkgate-workload/game-secret/v1")
	w.I64(g.seed)
	w.String(g.chainID)
	w.I64(height)
	w.U8(slot)
	w.Fixed(player[:])
	w.U32(k)
	sum := sha256.Sum256(w.Out())
	return secret{move: uint8(1 + binary.BigEndian.Uint64(sum[:8])%3), salt: append([]byte(nil), sum[8:]...)}
}

// commit makes the next commitment of player in slot for this block.
func (b *block) commit(player chain.Address, slot uint8) [32]byte {
	ck := commitKey{player, slot}
	s := b.g.secretFor(b.height, player, slot, b.commits[ck])
	b.commits[ck]++
	return chain.GameCommitment(s.move, s.salt)
}

// secretOf recovers the secret behind slot s of a live game from what the
// game records: the height of the commitment (Opened for the opener,
// Joined for the joiner), the player and the stored commitment. ok is false
// when the commitment is not one the generator made.
func (g *Generator) secretOf(gi chain.GameInfo, s int) (secret, bool) {
	at := gi.Opened
	if s == 1 {
		at = gi.Joined
	}
	for k := uint32(0); k < maxCommitsPerBlock; k++ {
		sec := g.secretFor(at, gi.Players[s], uint8(s), k)
		if chain.GameCommitment(sec.move, sec.salt) == gi.Commits[s] {
			return sec, true
		}
	}
	return secret{}, false
}

func (b *block) game() bool {
	if b.r.intn(2) == 0 && b.gameJoin() {
		return true
	}
	return b.gameOpen() || b.gameJoin()
}

func (b *block) gameOpen() bool {
	if len(b.live)+b.opened >= maxLiveGames {
		return false
	}
	stake := b.r.between(10, gameStakeMax)
	from, ok := b.pickAccount(stake, nil)
	if !ok {
		return false
	}
	c := b.commit(from.addr, 0)
	b.opened++
	b.send(from, "game", "open", chain.GameOpenPayload{Stake: stake, Commitment: c}.Encode(), stake)
	return true
}

func (b *block) gameJoin() bool {
	for _, gi := range b.live {
		if gi.State != chain.GameOpen || b.games[gi.ID] || gi.Deadline < b.height ||
			b.g.hashMod("abandon", gi.ID, abandonEvery) == 0 {
			continue
		}
		from, ok := b.pickAccount(gi.Stake, func(a actor) bool { return a.addr != gi.Players[0] })
		if !ok {
			continue
		}
		b.games[gi.ID] = true
		c := b.commit(from.addr, 1) // a "forget" joiner (hashMod) never reveals it
		b.send(from, "game", "join", chain.GameJoinPayload{ID: gi.ID, Stake: gi.Stake, Commitment: c}.Encode(), gi.Stake)
		return true
	}
	return false
}

// gameDuties sends the time-critical steps of live games: reveals within
// the window, claims and cancels after it.
func (b *block) gameDuties(n int) {
	for _, gi := range b.live {
		if len(b.out) >= n {
			return
		}
		switch {
		case gi.State == chain.GameOpen && b.height > gi.Deadline:
			if p, ok := b.controlled(gi.Players[0]); ok && b.affords(p.addr, 0) {
				b.games[gi.ID] = true
				b.send(p, "game", "cancel", chain.GameIDPayload{ID: gi.ID}.Encode(), 0)
			}
		case gi.State == chain.GameJoined && b.height > gi.Deadline:
			s := 0 // nobody revealed: the opener refunds both
			if gi.Moves[1] != 0 {
				s = 1
			}
			if p, ok := b.controlled(gi.Players[s]); ok && b.affords(p.addr, 0) {
				b.games[gi.ID] = true
				b.send(p, "game", "claim", chain.GameIDPayload{ID: gi.ID}.Encode(), 0)
			}
		case gi.State == chain.GameJoined:
			for s := 0; s < 2 && len(b.out) < n; s++ {
				if gi.Moves[s] != 0 || (s == 1 && b.g.hashMod("forget", gi.ID, forgetEvery) == 0) {
					continue
				}
				p, mine := b.controlled(gi.Players[s])
				if !mine || !b.affords(p.addr, 0) {
					continue
				}
				sec, ok := b.g.secretOf(gi, s)
				if !ok {
					continue
				}
				b.games[gi.ID] = true
				b.send(p, "game", "reveal", chain.GameRevealPayload{ID: gi.ID, Move: sec.move, Salt: sec.salt}.Encode(), 0)
			}
		}
	}
}

// --- producers ---

func (b *block) producers() bool {
	switch b.r.intn(8) {
	case 0:
		return b.register() || b.stake()
	case 1:
		return b.unregister() || b.vote()
	case 2, 3:
		return b.stake() || b.vote()
	case 4, 5:
		return b.vote() || b.stake()
	default:
		return b.unstake() || b.stake()
	}
}

func (b *block) stakeOf(a chain.Address) chain.Stake {
	s, err := chain.GetStake(b.view, a)
	if err != nil && b.err == nil {
		b.err = err
	}
	return s
}

func (b *block) stake() bool {
	amount := b.r.between(10, 500)
	from, ok := b.pickAccount(amount, func(a actor) bool {
		return !b.busy[a.addr] && b.stakeOf(a.addr).Staked+amount <= maxAccountStake
	})
	if !ok {
		return false
	}
	b.busy[from.addr] = true
	b.send(from, "producers", "stake", chain.ProducerAmount{Amount: amount}.Encode(), amount)
	return true
}

func (b *block) unstake() bool {
	from, ok := b.pickAccount(0, func(a actor) bool { return !b.busy[a.addr] && b.stakeOf(a.addr).Staked > 0 })
	if !ok {
		return false
	}
	b.busy[from.addr] = true
	amount := b.r.between(1, b.stakeOf(from.addr).Staked)
	b.send(from, "producers", "unstake", chain.ProducerAmount{Amount: amount}.Encode(), 0)
	return true
}

func (b *block) candidates() []chain.Address {
	c, err := chain.Candidates(b.view)
	if err != nil && b.err == nil {
		b.err = err
	}
	return c
}

func (b *block) vote() bool {
	cands := b.candidates()
	from, ok := b.pickAccount(0, func(a actor) bool { return !b.busy[a.addr] && b.stakeOf(a.addr).Staked > 0 })
	if !ok || len(cands) == 0 {
		return false
	}
	// Never a self-vote (valid on both sides of ForkNoSelfVote), nor a
	// vote for a candidate leaving in this block.
	var c chain.Address
	found := false
	start := b.r.intn(len(cands))
	for i := range cands {
		c = cands[(start+i)%len(cands)]
		if c != from.addr && !b.leave[c] {
			found = true
			break
		}
	}
	if !found {
		return false
	}
	b.busy[from.addr] = true
	amount := b.r.between(1, b.stakeOf(from.addr).Staked)
	b.send(from, "producers", "vote", chain.ProducerVote{Candidate: c.String(), Amount: amount}.Encode(), 0)
	return true
}

// accountCandidates lists the generator's accounts that are candidates.
func (b *block) accountCandidates() []actor {
	var out []actor
	for _, c := range b.candidates() {
		if i, ok := b.g.byAddr[c]; ok && i < len(b.g.accounts) {
			out = append(out, b.g.accounts[i])
		}
	}
	return out
}

func (b *block) register() bool {
	if len(b.accountCandidates()) >= maxCandidates {
		return false
	}
	from, ok := b.pickAccount(b.g.Bond, func(a actor) bool {
		_, cand, err := chain.GetCandidate(b.view, a.addr)
		return err == nil && !cand && !b.busy[a.addr]
	})
	if !ok {
		return false
	}
	b.busy[from.addr] = true
	b.send(from, "producers", "register", nil, b.g.Bond)
	return true
}

func (b *block) unregister() bool {
	for _, a := range b.accountCandidates() {
		c, ok, err := chain.GetCandidate(b.view, a.addr)
		if err != nil || !ok || b.busy[a.addr] || b.height-c.Registered < registerMinAge || !b.affords(a.addr, 0) {
			continue
		}
		b.busy[a.addr], b.leave[a.addr] = true, true
		b.send(a, "producers", "unregister", nil, 0)
		return true
	}
	return false
}

// --- governance ---

// maintenance reports whether the block is a maintenance block, when the
// generator knows the interval.
func (b *block) maintenance() bool {
	iv := b.g.MaintenanceInterval
	return iv > 0 && b.height > 1 && (b.height-1)%iv == 0
}

// settle refunds the deposits of decided proposals as soon as the state
// shows one, or first thing in a maintenance block, which decides every
// open proposal (the chain settles lazily; see chain.Governance).
func (b *block) settle(n int) {
	if len(b.out) >= n {
		return
	}
	tracked, err := chain.TrackedProposals(b.view)
	if err != nil {
		return
	}
	for _, p := range tracked {
		open, err := chain.ProposalOpen(b.view, p.ID)
		if err != nil || (open && !b.maintenance()) {
			continue
		}
		if from, ok := b.pickAccount(0, func(a actor) bool { return !b.busy[a.addr] }); ok {
			b.busy[from.addr] = true
			b.send(from, "governance", "settle", nil, 0)
		}
		return
	}
}

func (b *block) governance() bool {
	set, err := chain.ProducerSet(b.view)
	if err != nil || len(set) == 0 {
		return false
	}
	tracked, err := chain.TrackedProposals(b.view)
	if err != nil {
		return false
	}
	var open []chain.GovProposal
	var approvers [][]chain.Address // approvers[i]: who approved open[i], as the state records
	for _, p := range tracked {
		ok, err := chain.ProposalOpen(b.view, p.ID)
		if err != nil {
			return false
		}
		if !ok {
			continue
		}
		by, err := chain.ProposalApprovers(b.view, p.ID)
		if err != nil {
			return false
		}
		open = append(open, p)
		approvers = append(approvers, by)
	}
	// Approve what this producer has not approved yet, oldest first. The
	// state tells which approvals landed; busy keeps a producer to one
	// approval per block, so none is sent twice.
	start := b.r.intn(len(set))
	if b.maintenance() {
		open = nil // decided before this block's transactions
	}
	for i := range set {
		p, ok := b.controlled(set[(start+i)%len(set)])
		if !ok || b.busy[p.addr] || !b.affords(p.addr, 0) {
			continue
		}
		for j, o := range open {
			if slices.Contains(approvers[j], p.addr) {
				continue
			}
			b.busy[p.addr] = true
			b.send(p, "governance", "approve", chain.GovApprove{ID: o.ID}.Encode(), 0)
			return true
		}
	}
	// Propose from a producer without an open proposal.
	for i := range set {
		p, ok := b.controlled(set[(start+i)%len(set)])
		if !ok || b.busy[p.addr] || !b.affords(p.addr, b.g.Deposit) {
			continue
		}
		has := false
		for _, o := range open {
			has = has || o.Proposer == p.addr
		}
		if has {
			continue
		}
		b.busy[p.addr] = true
		value := int64(minProposalValue * (1 + b.r.intn(20)))
		b.send(p, "governance", "propose", chain.GovPropose{Param: chain.ParamGameMaxStake, Value: value}.Encode(), b.g.Deposit)
		return true
	}
	return false
}
