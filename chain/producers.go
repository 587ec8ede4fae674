package chain

import (
	"bytes"
	"fmt"
	"sort"

	"github.com/forkgate/forkgate/codec"
)

// Producers is the stake, vote and candidacy executor, and the chain's
// Elector: at each maintenance the top ProducerSlots registered candidates
// by votes (ties by address bytes) become the producer set.
//
//	stake(amount)             lock coins as stake
//	unstake(amount)           unlock stake; a vote larger than the stake
//	                          left shrinks to it (those votes are withdrawn)
//	vote(candidate, amount)   give amount (<= stake) votes to a registered
//	                          candidate, replacing the voter's previous vote
//	register()                become a candidate, locking the bond
//	                          (producers.minBond in force)
//	unregister()              get the bond back and stop being electable;
//	                          votes already cast stay with the address and
//	                          count again if it registers anew
//
// ForkNoSelfVote: from it a candidate may not vote for itself (genesis
// producers' self-votes stay). ForkMinBondV2 changes the bond through
// [mver.producers.ForkMinBondV2] minBond.
//
// State (format byte 1 first):
//
//	prod/cands             registered candidates: count u32, addresses in byte order
//	prod/cand/<addr>       bond u64, registered height i64
//	prod/votes/<addr>      votes received u64 (deleted at 0)
//	prod/stake/<addr>      staked u64, vote target (20 bytes, zero = none), votes cast u64
type Producers struct{}

var _ Elector = Producers{}

func (Producers) Name() string { return "producers" }

// ProducerAmount is the payload of producers.stake and producers.unstake.
type ProducerAmount struct{ Amount uint64 }

func (p ProducerAmount) Encode() []byte {
	var w codec.Writer
	w.U64(p.Amount)
	return w.Out()
}

// ProducerVote is the payload of producers.vote.
type ProducerVote struct {
	Candidate string
	Amount    uint64
}

func (p ProducerVote) Encode() []byte {
	var w codec.Writer
	w.String(p.Candidate)
	w.U64(p.Amount)
	return w.Out()
}

// register and unregister carry an empty payload.

const producersFormat = 1

var candListKey = []byte("prod/cands")

func candKey(a Address) []byte  { return append([]byte("prod/cand/"), a[:]...) }
func votesKey(a Address) []byte { return append([]byte("prod/votes/"), a[:]...) }
func stakeKey(a Address) []byte { return append([]byte("prod/stake/"), a[:]...) }

// Candidate is a registered candidate.
type Candidate struct {
	Bond       uint64
	Registered int64
}

// Stake is an address's locked stake and its vote.
type Stake struct {
	Staked uint64
	Target Address // zero: no vote
	Voted  uint64
}

// Candidates lists the registered candidates in address-byte order.
func Candidates(kv KV) ([]Address, error) { return getAddrList(kv, candListKey, "candidate list") }

// ProducerSet is the current producer set, in slot order.
func ProducerSet(kv KV) ([]Address, error) { return getProducerSet(kv) }

// GetCandidate reads a candidate; found is false when a is not registered.
func GetCandidate(kv KV, a Address) (Candidate, bool, error) {
	what := "candidate " + a.String()
	r, found, err := record(kv, candKey(a), producersFormat, what)
	if err != nil || !found {
		return Candidate{}, false, err
	}
	c := Candidate{Bond: r.U64(), Registered: r.I64()}
	if err := r.Done(what); err != nil {
		return Candidate{}, false, err
	}
	return c, true, nil
}

// Votes is the number of votes an address has received.
func Votes(kv KV, a Address) (uint64, error) {
	what := "votes of " + a.String()
	r, found, err := record(kv, votesKey(a), producersFormat, what)
	if err != nil || !found {
		return 0, err
	}
	v := r.U64()
	return v, r.Done(what)
}

// GetStake reads an address's stake and vote.
func GetStake(kv KV, a Address) (Stake, error) {
	what := "stake of " + a.String()
	r, found, err := record(kv, stakeKey(a), producersFormat, what)
	if err != nil || !found {
		return Stake{}, err
	}
	s := Stake{Staked: r.U64()}
	r.Fixed(s.Target[:])
	s.Voted = r.U64()
	return s, r.Done(what)
}

func putCandidate(kv KV, a Address, c Candidate) error {
	var w codec.Writer
	w.U8(producersFormat)
	w.U64(c.Bond)
	w.I64(c.Registered)
	return kv.Set(candKey(a), w.Out())
}

func putVotes(kv KV, a Address, v uint64) error {
	if v == 0 {
		return kv.Delete(votesKey(a))
	}
	var w codec.Writer
	w.U8(producersFormat)
	w.U64(v)
	return kv.Set(votesKey(a), w.Out())
}

func putStake(kv KV, a Address, s Stake) error {
	if s == (Stake{}) {
		return kv.Delete(stakeKey(a))
	}
	var w codec.Writer
	w.U8(producersFormat)
	w.U64(s.Staked)
	w.Fixed(s.Target[:])
	w.U64(s.Voted)
	return kv.Set(stakeKey(a), w.Out())
}

// addVotes changes a candidate's received votes by +add -sub.
func addVotes(kv KV, a Address, add, sub uint64) error {
	v, err := Votes(kv, a)
	if err != nil {
		return err
	}
	if v < sub {
		return errCorrupt("votes of " + a.String())
	}
	v, ok := addU64(v-sub, add)
	if !ok {
		return Reject("votes for %s would overflow", a)
	}
	return putVotes(kv, a, v)
}

// setVote replaces s's vote (stored by the caller) with amount for target.
func setVote(kv KV, s *Stake, target Address, amount uint64) error {
	if s.Voted > 0 {
		if err := addVotes(kv, s.Target, 0, s.Voted); err != nil {
			return err
		}
	}
	s.Target, s.Voted = target, amount
	if amount == 0 {
		s.Target = Address{}
		return nil
	}
	return addVotes(kv, target, amount, 0)
}

func insertAddr(list []Address, a Address) []Address {
	i := sort.Search(len(list), func(i int) bool { return bytes.Compare(list[i][:], a[:]) >= 0 })
	list = append(list, Address{})
	copy(list[i+1:], list[i:])
	list[i] = a
	return list
}

func removeAddr(list []Address, a Address) []Address {
	i := sort.Search(len(list), func(i int) bool { return bytes.Compare(list[i][:], a[:]) >= 0 })
	if i < len(list) && list[i] == a {
		return append(list[:i], list[i+1:]...)
	}
	return list
}

// InitGenesis registers the genesis producers as candidates (bond 0) whose
// genesis stake, created at genesis, votes for themselves.
func (Producers) InitGenesis(kv KV, g *Genesis) error {
	var list []Address
	for _, p := range g.Producers {
		a, err := p.Address()
		if err != nil {
			return err
		}
		if err := putCandidate(kv, a, Candidate{}); err != nil {
			return err
		}
		list = insertAddr(list, a)
		s := Stake{Staked: p.Stake}
		if err := setVote(kv, &s, a, p.Stake); err != nil {
			return err
		}
		if err := putStake(kv, a, s); err != nil {
			return err
		}
	}
	return putAddrList(kv, candListKey, list)
}

// Elect returns the top slots registered candidates by votes received,
// ties broken by address bytes (lower first). It reads only the sorted
// candidate list and per-candidate keys, so every node elects the same set.
func (Producers) Elect(kv KV, slots int) ([]Address, error) {
	list, err := Candidates(kv)
	if err != nil {
		return nil, err
	}
	if len(list) == 0 {
		return nil, fmt.Errorf("no registered candidates: the chain cannot elect producers")
	}
	votes := make([]uint64, len(list))
	idx := make([]int, len(list))
	for i, a := range list {
		if votes[i], err = Votes(kv, a); err != nil {
			return nil, err
		}
		idx[i] = i
	}
	// list is in address order, so a stable sort by votes breaks ties by
	// address.
	sort.SliceStable(idx, func(i, j int) bool { return votes[idx[i]] > votes[idx[j]] })
	out := make([]Address, 0, min(slots, len(list)))
	for _, i := range idx[:min(slots, len(list))] {
		out = append(out, list[i])
	}
	return out, nil
}

func (Producers) Exec(ctx *Context, tx *Tx) error {
	switch tx.Action {
	case "stake", "unstake":
		r := codec.NewReader(tx.Payload)
		p := ProducerAmount{Amount: r.U64()}
		if err := r.Done("producers." + tx.Action); err != nil {
			return decodeErr(err)
		}
		if p.Amount == 0 {
			return Reject("producers.%s: amount is zero", tx.Action)
		}
		if tx.Action == "stake" {
			return stake(ctx, p.Amount)
		}
		return unstake(ctx, p.Amount)
	case "vote":
		r := codec.NewReader(tx.Payload)
		p := ProducerVote{Candidate: r.String(), Amount: r.U64()}
		if err := r.Done("producers.vote"); err != nil {
			return decodeErr(err)
		}
		return vote(ctx, p)
	case "register", "unregister":
		if len(tx.Payload) != 0 {
			return decodeErr(fmt.Errorf("decode producers.%s: %w (the payload is empty)", tx.Action, codec.ErrTrailing))
		}
		if tx.Action == "register" {
			return register(ctx)
		}
		return unregister(ctx)
	}
	return Reject("producers has no action %q; use stake, unstake, vote, register or unregister", tx.Action)
}

func stake(ctx *Context, amount uint64) error {
	s, err := GetStake(ctx.KV, ctx.Sender)
	if err != nil {
		return err
	}
	total, ok := addU64(s.Staked, amount)
	if !ok {
		return Reject("producers.stake: stake would overflow")
	}
	if err := Debit(ctx.KV, ctx.Sender, amount); err != nil {
		return err
	}
	s.Staked = total
	return putStake(ctx.KV, ctx.Sender, s)
}

func unstake(ctx *Context, amount uint64) error {
	s, err := GetStake(ctx.KV, ctx.Sender)
	if err != nil {
		return err
	}
	if amount > s.Staked {
		return Reject("producers.unstake: %s has %d staked, cannot unstake %d", ctx.Sender, s.Staked, amount)
	}
	s.Staked -= amount
	if s.Voted > s.Staked {
		// The votes drawn from the unlocked stake are withdrawn.
		if err := setVote(ctx.KV, &s, s.Target, s.Staked); err != nil {
			return err
		}
	}
	if err := putStake(ctx.KV, ctx.Sender, s); err != nil {
		return err
	}
	return Credit(ctx.KV, ctx.Sender, amount)
}

func vote(ctx *Context, p ProducerVote) error {
	cand, err := recipient(ctx, p.Candidate)
	if err != nil {
		return Reject("producers.vote: %v", err)
	}
	if p.Amount == 0 {
		return Reject("producers.vote: amount is zero; unstake to withdraw votes")
	}
	if _, ok, err := GetCandidate(ctx.KV, cand); err != nil {
		return err
	} else if !ok {
		return Reject("producers.vote: %s is not a registered candidate", cand)
	}
	if cand == ctx.Sender && ctx.Active(ctx.Forks.NoSelfVote) {
		return Reject("producers.vote: a candidate may not vote for itself (ForkNoSelfVote); vote for another candidate")
	}
	s, err := GetStake(ctx.KV, ctx.Sender)
	if err != nil {
		return err
	}
	if p.Amount > s.Staked {
		return Reject("producers.vote: %d votes, but %s has only %d staked; stake more first", p.Amount, ctx.Sender, s.Staked)
	}
	if err := setVote(ctx.KV, &s, cand, p.Amount); err != nil {
		return err
	}
	return putStake(ctx.KV, ctx.Sender, s)
}

func register(ctx *Context) error {
	if _, ok, err := GetCandidate(ctx.KV, ctx.Sender); err != nil {
		return err
	} else if ok {
		return Reject("producers.register: %s is already a candidate", ctx.Sender)
	}
	bond := ctx.Param(ctx.Params.MinBond)
	if bond < 0 {
		return fmt.Errorf("producers.minBond is %d at height %d: fix the config, a bond cannot be negative", bond, ctx.Height)
	}
	if err := Debit(ctx.KV, ctx.Sender, uint64(bond)); err != nil {
		return Reject("producers.register: the bond is %d: %v", bond, err)
	}
	list, err := Candidates(ctx.KV)
	if err != nil {
		return err
	}
	if err := putAddrList(ctx.KV, candListKey, insertAddr(list, ctx.Sender)); err != nil {
		return err
	}
	return putCandidate(ctx.KV, ctx.Sender, Candidate{Bond: uint64(bond), Registered: ctx.Height})
}

func unregister(ctx *Context) error {
	c, ok, err := GetCandidate(ctx.KV, ctx.Sender)
	if err != nil {
		return err
	}
	if !ok {
		return Reject("producers.unregister: %s is not a candidate", ctx.Sender)
	}
	list, err := Candidates(ctx.KV)
	if err != nil {
		return err
	}
	if len(list) <= 1 {
		return Reject("producers.unregister: %s is the last candidate and the chain needs one; register another first", ctx.Sender)
	}
	if err := putAddrList(ctx.KV, candListKey, removeAddr(list, ctx.Sender)); err != nil {
		return err
	}
	if err := ctx.KV.Delete(candKey(ctx.Sender)); err != nil {
		return err
	}
	return Credit(ctx.KV, ctx.Sender, c.Bond)
}
