package chain

import "github.com/forkgate/forkgate/schedule"

// The reference chain's forks, declared once. Each executor carries at least
// two behaviour changes gated here, each tested on both sides of its
// activation. Code takes handles (Forks) and keys (Fork*.Key()) from these
// values, never from string literals, so a renamed fork cannot leave a stale
// spelling behind. Defaults are what a chain runs when its config omits a
// fork (with a warning): never, so new rules only switch on where an
// operator schedules them, except a version fork, which follows its version.
var (
	ForkAddrChecksum = declare(schedule.Fork{Scope: "coins", Name: "ForkAddrChecksum", Release: "v0.1.0",
		Note: "Reject transfer recipients whose letter case fails the address checksum (a typo guard). Before: any case accepted. New chains: 0."})
	ForkFeeToProducer = declare(schedule.Fork{Scope: "coins", Name: "ForkFeeToProducer", Release: "v0.1.0",
		Note: "Pay transaction fees to the block producer instead of burning them. New chains: 0; existing chains: the agreed height."})
	ForkMinFeeV2 = declare(schedule.Fork{Scope: "coins", Name: "ForkMinFeeV2", Release: "v0.1.0",
		Note: "Take the minimum fee from [mver.coins.ForkMinFeeV2] minFee from this height on."})
	ForkTokenSymbolDigits = declare(schedule.Fork{Scope: "token", Name: "ForkTokenSymbolDigits", Release: "v0.1.0",
		Note: "Allow digits 0-9 in token symbols (after a leading letter). Before: A-Z only."})
	ForkTokenOwnerIssue = declare(schedule.Fork{Scope: "token", Name: "ForkTokenOwnerIssue", Release: "v0.1.0",
		Note: "Only a token's owner may issue more of it. Before: anyone could (a bug kept for old blocks)."})
	ForkGameDrawRefund = declare(schedule.Fork{Scope: "game", Name: "ForkGameDrawRefund", Release: "v0.1.0",
		Note: "Refund both players in full on a draw. Before: the house cut was also taken on draws."})
	ForkGamePayoutV2 = declare(schedule.Fork{Scope: "game", Name: "ForkGamePayoutV2", Release: "v0.2.0", Default: schedule.OnVersion(2),
		Note: "Pay the winner 98% of the pot instead of 95%. Activates with protocol version 2; configure as { version = 2 }."})
	ForkNoSelfVote = declare(schedule.Fork{Scope: "producers", Name: "ForkNoSelfVote", Release: "v0.1.0",
		Note: "A registered candidate may not vote its own stake for itself."})
	ForkMinBondV2 = declare(schedule.Fork{Scope: "producers", Name: "ForkMinBondV2", Release: "v0.1.0",
		Note: "Take the candidate bond from [mver.producers.ForkMinBondV2] minBond from this height on."})
	ForkGovOneOpenProposal = declare(schedule.Fork{Scope: "governance", Name: "ForkGovOneOpenProposal", Release: "v0.1.0",
		Note: "A producer may have at most one open proposal at a time."})
	ForkGovDeposit = declare(schedule.Fork{Scope: "governance", Name: "ForkGovDeposit", Release: "v0.1.0",
		Note: "A proposal locks a deposit (governance.deposit parameter) that is returned when it is decided."})
)

// The height-versioned parameters ([mver.*]) the chain reads, with their
// types and bounds: a config value of another type or out of bounds is an
// error at lint, init and start, never a silent default.
var (
	ParamMinFee = declareParam(schedule.Param{Name: "coins.minFee", Type: schedule.TypeInt, Min: 0, Max: 1 << 40,
		Default: schedule.IntValue(DefaultMinFee), Note: "minimum fee of a transaction, in coins"})
	ParamMinBond = declareParam(schedule.Param{Name: "producers.minBond", Type: schedule.TypeInt, Min: 0, Max: 1 << 50,
		Default: schedule.IntValue(DefaultMinBond), Note: "bond a producer candidate locks when it registers"})
	ParamRevealTimeout = declareParam(schedule.Param{Name: "game.revealTimeout", Type: schedule.TypeInt, Min: 1, Max: 1 << 20,
		Default: schedule.IntValue(DefaultRevealTimeout), Note: "blocks a game waits for a reveal before a claim"})
	ParamDeposit = declareParam(schedule.Param{Name: "governance.deposit", Type: schedule.TypeInt, Min: 0, Max: 1 << 50,
		Default: schedule.IntValue(DefaultDeposit), Note: "deposit a proposal locks under ForkGovDeposit"})
)

// Defaults of the chain's parameters when a config sets none.
const (
	DefaultMinFee        = 1
	DefaultMinBond       = 1000
	DefaultRevealTimeout = 20 // blocks
	DefaultDeposit       = 100
)

var (
	forkList  []schedule.Fork
	paramList []schedule.Param
)

func declare(f schedule.Fork) schedule.Fork {
	forkList = append(forkList, f)
	return f
}

func declareParam(p schedule.Param) schedule.Param {
	paramList = append(paramList, p)
	return p
}

// Registry returns a fresh registry of the chain's forks and parameters.
func Registry() *schedule.Registry {
	r := schedule.NewRegistry()
	r.MustRegister(forkList...)
	for _, p := range paramList {
		if err := r.RegisterParam(p); err != nil {
			panic(err) // a bad declaration above: fail at start-up, not at its height
		}
	}
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

// Params are the handles of the parameters the chain reads; their values
// come from the block's Rules (Context.Param).
type Params struct {
	MinFee, MinBond, RevealTimeout, Deposit param
}

// param is a parameter with the value used when a config does not set it.
type param struct {
	h   schedule.ParamHandle
	def int64
}

func resolveForks(s *schedule.Schedule) Forks {
	h := func(f schedule.Fork) schedule.Handle { return s.Fork(f.Scope, f.Name) }
	return Forks{
		AddrChecksum:       h(ForkAddrChecksum),
		FeeToProducer:      h(ForkFeeToProducer),
		MinFeeV2:           h(ForkMinFeeV2),
		TokenSymbolDigits:  h(ForkTokenSymbolDigits),
		TokenOwnerIssue:    h(ForkTokenOwnerIssue),
		GameDrawRefund:     h(ForkGameDrawRefund),
		GamePayoutV2:       h(ForkGamePayoutV2),
		NoSelfVote:         h(ForkNoSelfVote),
		MinBondV2:          h(ForkMinBondV2),
		GovOneOpenProposal: h(ForkGovOneOpenProposal),
		GovDeposit:         h(ForkGovDeposit),
	}
}

func resolveParams(s *schedule.Schedule) Params {
	get := func(p schedule.Param) param {
		h, _ := s.Param(p.Name) // an unset parameter has a nil handle: the default applies
		return param{h: h, def: p.Default.Int}
	}
	return Params{
		MinFee:        get(ParamMinFee),
		MinBond:       get(ParamMinBond),
		RevealTimeout: get(ParamRevealTimeout),
		Deposit:       get(ParamDeposit),
	}
}

// in is the parameter's value under the block's rules.
func (p param) in(r *schedule.Rules) int64 { return r.Int(p.h, p.def) }
