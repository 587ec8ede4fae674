package chain

import "github.com/forkgate/forkgate/schedule"

// The reference chain's forks. Each executor carries at least two behaviour
// changes gated here, each tested on both sides of its activation. Defaults
// are what a new chain gets when its config omits a fork: never, so new
// rules only switch on where an operator schedules them.
var forkList = []schedule.Fork{
	{Scope: "coins", Name: "ForkAddrChecksum", Release: "v0.1.0",
		Note: "Reject transfer recipients whose letter case fails the address checksum (a typo guard). Before: any case accepted. New chains: 0."},
	{Scope: "coins", Name: "ForkFeeToProducer", Release: "v0.1.0",
		Note: "Pay transaction fees to the block producer instead of burning them. New chains: 0; existing chains: the agreed height."},
	{Scope: "coins", Name: "ForkMinFeeV2", Release: "v0.1.0",
		Note: "Take the minimum fee from [mver.coins.ForkMinFeeV2] minFee from this height on."},
	{Scope: "token", Name: "ForkTokenSymbolDigits", Release: "v0.1.0",
		Note: "Allow digits 0-9 in token symbols (after a leading letter). Before: A-Z only."},
	{Scope: "token", Name: "ForkTokenOwnerIssue", Release: "v0.1.0",
		Note: "Only a token's owner may issue more of it. Before: anyone could (a bug kept for old blocks)."},
	{Scope: "game", Name: "ForkGameDrawRefund", Release: "v0.1.0",
		Note: "Refund both players in full on a draw. Before: the house cut was also taken on draws."},
	{Scope: "game", Name: "ForkGamePayoutV2", Release: "v0.2.0", Default: schedule.OnVersion(2),
		Note: "Pay the winner 98% of the pot instead of 95%. Activates with protocol version 2; configure as { version = 2 }."},
	{Scope: "producers", Name: "ForkNoSelfVote", Release: "v0.1.0",
		Note: "A registered candidate may not vote its own stake for itself."},
	{Scope: "producers", Name: "ForkMinBondV2", Release: "v0.1.0",
		Note: "Take the candidate bond from [mver.producers.ForkMinBondV2] minBond from this height on."},
	{Scope: "governance", Name: "ForkGovOneOpenProposal", Release: "v0.1.0",
		Note: "A producer may have at most one open proposal at a time."},
	{Scope: "governance", Name: "ForkGovDeposit", Release: "v0.1.0",
		Note: "A proposal locks a deposit (governance.deposit parameter) that is returned when it is decided."},
}

// Registry returns a fresh registry of the chain's forks.
func Registry() *schedule.Registry {
	r := schedule.NewRegistry()
	r.MustRegister(forkList...)
	return r
}

// Forks holds the handles the executors query, resolved once per schedule.
type Forks struct {
	AddrChecksum, FeeToProducer, MinFeeV2 schedule.Handle
	TokenSymbolDigits, TokenOwnerIssue    schedule.Handle
	GameDrawRefund, GamePayoutV2          schedule.Handle
	NoSelfVote, MinBondV2                 schedule.Handle
	GovOneOpenProposal, GovDeposit        schedule.Handle
}

// Params are the height-versioned parameters ([mver.*]) the chain reads.
type Params struct {
	MinFee, MinBond, RevealTimeout, Deposit param
}

// param is a parameter with the value used when a config does not set it.
type param struct {
	h   schedule.ParamHandle
	ok  bool
	def int64
}

// At is the value in force at height.
func (p param) At(height int64) int64 {
	if !p.ok {
		return p.def
	}
	return p.h.Int(height, p.def)
}

func resolveForks(s *schedule.Schedule) Forks {
	return Forks{
		AddrChecksum:       s.Fork("coins", "ForkAddrChecksum"),
		FeeToProducer:      s.Fork("coins", "ForkFeeToProducer"),
		MinFeeV2:           s.Fork("coins", "ForkMinFeeV2"),
		TokenSymbolDigits:  s.Fork("token", "ForkTokenSymbolDigits"),
		TokenOwnerIssue:    s.Fork("token", "ForkTokenOwnerIssue"),
		GameDrawRefund:     s.Fork("game", "ForkGameDrawRefund"),
		GamePayoutV2:       s.Fork("game", "ForkGamePayoutV2"),
		NoSelfVote:         s.Fork("producers", "ForkNoSelfVote"),
		MinBondV2:          s.Fork("producers", "ForkMinBondV2"),
		GovOneOpenProposal: s.Fork("governance", "ForkGovOneOpenProposal"),
		GovDeposit:         s.Fork("governance", "ForkGovDeposit"),
	}
}

// Defaults of the chain's parameters when a config sets none.
const (
	DefaultMinFee        = 1
	DefaultMinBond       = 1000
	DefaultRevealTimeout = 20 // blocks
	DefaultDeposit       = 100
)

func resolveParams(s *schedule.Schedule) Params {
	get := func(name string, def int64) param {
		h, ok := s.Param(name)
		return param{h: h, ok: ok, def: def}
	}
	return Params{
		MinFee:        get("coins.minFee", DefaultMinFee),
		MinBond:       get("producers.minBond", DefaultMinBond),
		RevealTimeout: get("game.revealTimeout", DefaultRevealTimeout),
		Deposit:       get("governance.deposit", DefaultDeposit),
	}
}
