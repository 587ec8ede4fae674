package chain

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/forkgate/forkgate/codec"

	"github.com/forkgate/forkgate/signal"
)

// Governance turns the signal controller's proposals into transactions.
//
//	propose(param, value)   a producer of the current set opens a proposal
//	approve(id)             a producer of the current set approves one
//	settle()                anyone: refund the deposits of decided proposals
//
// The controller decides proposals at the next maintenance against the
// outgoing set (2/3 of it must approve) and enforces that a parameter of a
// protocol version can only be proposed once that version is active. The
// executor adds: bounds on the values (see govParams),
// ForkGovOneOpenProposal (a producer may have at most one open proposal) and
// ForkGovDeposit (proposing locks governance.deposit coins).
//
// Deposits are refunded lazily: the App decides proposals inside its
// maintenance, where no executor runs, so every governance transaction
// (propose, approve, settle) first refunds the deposits of proposals that
// are no longer open, in proposal-id order. The refund therefore lands in
// the first governance transaction after the deciding maintenance; send
// settle to force it.
//
// The controller writes its own state directly to the block's store, not to
// the transaction's overlay, so every check that can fail runs before the
// controller is called, and nothing after it can fail.
//
// State (format byte 1 first):
//
//	gov/props   tracked proposals in id order: count u32, then per proposal
//	            id u64, proposer (20 bytes), deposit u64
type Governance struct{}

func (Governance) Name() string { return "governance" }

// GovPropose is the payload of governance.propose.
type GovPropose struct {
	Param string
	Value int64
}

func (p GovPropose) Encode() []byte {
	var w codec.Writer
	w.String(p.Param)
	w.I64(p.Value)
	return w.Out()
}

// GovApprove is the payload of governance.approve.
type GovApprove struct{ ID uint64 }

func (p GovApprove) Encode() []byte {
	var w codec.Writer
	w.U64(p.ID)
	return w.Out()
}

// GovProposal is a proposal the governance executor tracks until its
// deposit is settled.
type GovProposal struct {
	ID       uint64
	Proposer Address
	Deposit  uint64
}

const govFormat = 1

var govPropsKey = []byte("gov/props")

// TrackedProposals lists the proposals whose deposits are not yet settled,
// in id order (some may already be decided).
func TrackedProposals(kv KV) ([]GovProposal, error) {
	const what = "governance proposals"
	r, found, err := record(kv, govPropsKey, govFormat, what)
	if err != nil || !found {
		return nil, err
	}
	n := r.U32()
	if r.Err() == nil && uint64(n) > codec.MaxField/36 {
		return nil, errCorrupt(what)
	}
	out := make([]GovProposal, n)
	for i := range out {
		out[i].ID = r.U64()
		r.Fixed(out[i].Proposer[:])
		out[i].Deposit = r.U64()
	}
	return out, r.Done(what)
}

func putTrackedProposals(kv KV, ps []GovProposal) error {
	if len(ps) == 0 {
		return kv.Delete(govPropsKey)
	}
	var w codec.Writer
	w.U8(govFormat)
	w.U32(uint32(len(ps)))
	for _, p := range ps {
		w.U64(p.ID)
		w.Fixed(p.Proposer[:])
		w.U64(p.Deposit)
	}
	return kv.Set(govPropsKey, w.Out())
}

// ProposalOpen reports whether proposal id is open (not yet decided). It
// reads the signal controller's key for the proposal (docs/signal.md, state
// layout: signal/prop/<u64 id>, stored under the chain's "signal/" prefix),
// which exists exactly while the proposal is open, so a workload can tell
// from the state alone.
func ProposalOpen(kv KV, id uint64) (bool, error) {
	b, err := kv.Get(binary.BigEndian.AppendUint64([]byte("signal/signal/prop/"), id))
	return b != nil, err
}

// ProposalApprovers lists the producers that have approved open proposal
// id, in slot order; nil when the proposal is not open. It reads the signal
// controller's keys under the chain's "signal/" prefix (docs/signal.md,
// state layout): signal/prop/<u64 id>, whose approvals hold one byte per
// slot, and signal/set, the producer list those slots index (it only
// changes at a maintenance, which also decides every open proposal). A
// workload can so tell from the state alone which approvals it already
// sent.
func ProposalApprovers(kv KV, id uint64) ([]Address, error) {
	what := fmt.Sprintf("signal proposal %d", id)
	r, found, err := record(kv, binary.BigEndian.AppendUint64([]byte("signal/signal/prop/"), id), 1, what)
	if err != nil || !found {
		return nil, err
	}
	_, _ = r.Bytes(), r.Bytes() // proposer, param
	_, _ = r.I64(), r.I64()     // value, height
	approvals := r.Bytes()
	if err := r.Done(what); err != nil {
		return nil, err
	}
	const setWhat = "signal producer set"
	r, found, err = record(kv, []byte("signal/signal/set"), 1, setWhat)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, errCorrupt(setWhat)
	}
	n := r.U32()
	if r.Err() == nil && (n > codec.MaxField/4 || int(n) != len(approvals)) {
		return nil, errCorrupt(what)
	}
	var out []Address
	for i := 0; i < int(n) && r.Err() == nil; i++ {
		s := r.String()
		if i >= len(approvals) || approvals[i] == 0 {
			continue
		}
		a, err := ParseAddress(s, false)
		if err != nil {
			return nil, errCorrupt(setWhat)
		}
		out = append(out, a)
	}
	if err := r.Done(setWhat); err != nil {
		return nil, err
	}
	return out, nil
}

// settleDeposits refunds the deposits of decided proposals and stops
// tracking them; it returns the proposals still open.
func settleDeposits(kv KV) ([]GovProposal, error) {
	ps, err := TrackedProposals(kv)
	if err != nil || len(ps) == 0 {
		return nil, err
	}
	open := ps[:0:0]
	for _, p := range ps {
		ok, err := ProposalOpen(kv, p.ID)
		if err != nil {
			return nil, err
		}
		if ok {
			open = append(open, p)
			continue
		}
		if p.Deposit > 0 {
			if err := Credit(kv, p.Proposer, p.Deposit); err != nil {
				return nil, err
			}
		}
	}
	if len(open) != len(ps) {
		if err := putTrackedProposals(kv, open); err != nil {
			return nil, err
		}
	}
	return open, nil
}

func (Governance) Exec(ctx *Context, tx *Tx) error {
	if ctx.Signal == nil {
		return errors.New("governance: the chain runs without a signal controller")
	}
	switch tx.Action {
	case "propose":
		r := codec.NewReader(tx.Payload)
		p := GovPropose{Param: r.String(), Value: r.I64()}
		if err := r.Done("governance.propose"); err != nil {
			return decodeErr(err)
		}
		return propose(ctx, p)
	case "approve":
		r := codec.NewReader(tx.Payload)
		p := GovApprove{ID: r.U64()}
		if err := r.Done("governance.approve"); err != nil {
			return decodeErr(err)
		}
		if _, err := settleDeposits(ctx.KV); err != nil {
			return err
		}
		if err := ctx.Signal.Approve(ctx.Sender.String(), p.ID); err != nil {
			return govError("approve", err)
		}
		return nil
	case "settle":
		if len(tx.Payload) != 0 {
			return decodeErr(fmt.Errorf("decode governance.settle: %w (the payload is empty)", codec.ErrTrailing))
		}
		_, err := settleDeposits(ctx.KV)
		return err
	}
	return Reject("governance has no action %q; use propose, approve or settle", tx.Action)
}

func propose(ctx *Context, p GovPropose) error {
	known := false
	for _, d := range govParams {
		if d.Name != p.Param {
			continue
		}
		known = true
		if p.Value < d.min || p.Value > d.max {
			return Reject("governance.propose: %s = %d is out of range; use %d to %d", p.Param, p.Value, d.min, d.max)
		}
	}
	if !known {
		return Reject("governance.propose: unknown parameter %q; governable parameters: %s, %s", p.Param, ParamGameMaxStake, ParamTokenMaxSupply)
	}
	open, err := settleDeposits(ctx.KV)
	if err != nil {
		return err
	}
	if ctx.Active(ctx.Forks.GovOneOpenProposal) {
		for _, o := range open {
			if o.Proposer == ctx.Sender {
				return Reject("governance.propose: %s already has open proposal %d; wait until the next maintenance decides it (ForkGovOneOpenProposal)", ctx.Sender, o.ID)
			}
		}
	}
	var deposit uint64
	if ctx.Active(ctx.Forks.GovDeposit) {
		d := ctx.Param(ctx.Params.Deposit)
		if d < 0 {
			return fmt.Errorf("governance.deposit is %d at height %d: fix the config, a deposit cannot be negative", d, ctx.Height)
		}
		deposit = uint64(d)
		acc, err := GetAccount(ctx.KV, ctx.Sender)
		if err != nil {
			return err
		}
		if acc.Balance < deposit {
			return Reject("governance.propose: a proposal locks a deposit of %d (ForkGovDeposit), %s has %d", deposit, ctx.Sender, acc.Balance)
		}
	}
	// Nothing below may fail for a reason the sender controls: the
	// controller's write is not part of the overlay.
	id, err := ctx.Signal.Propose(ctx.Height, ctx.Sender.String(), p.Param, p.Value)
	if err != nil {
		return govError("propose", err)
	}
	if err := Debit(ctx.KV, ctx.Sender, deposit); err != nil {
		return err
	}
	return putTrackedProposals(ctx.KV, append(open, GovProposal{ID: id, Proposer: ctx.Sender, Deposit: deposit}))
}

// govError turns a controller refusal into a rejection with its reason;
// any other error (a broken store, a halt) stays an error.
func govError(action string, err error) error {
	if errors.Is(err, signal.ErrNotProducer) {
		return Reject("governance.%s: %v; only producers of the current set may propose or approve", action, err)
	}
	for _, e := range []error{signal.ErrUnknownParam, signal.ErrVersionNotActive, signal.ErrTooManyProposals,
		signal.ErrUnknownProposal, signal.ErrAlreadyApproved} {
		if errors.Is(err, e) {
			return Reject("governance.%s: %v", action, err)
		}
	}
	return err
}
