package chain

import (
	"fmt"
	"math/bits"

	"github.com/forkgate/forkgate/codec"

	"github.com/forkgate/forkgate/schedule"
	"github.com/forkgate/forkgate/signal"
)

// DefaultExecutors lists every executor of the reference chain. The
// producers executor is also the chain's Elector.
func DefaultExecutors() []Executor {
	return []Executor{Coins{}, Token{}, Game{}, Producers{}, Governance{}}
}

// Governable parameters: producers change them by proposal (see
// Governance), executors read them with govParam. A parameter that belongs
// to a protocol version can only be proposed once that version is active.
const (
	// ParamGameMaxStake caps a game's stake per player (version 0).
	ParamGameMaxStake = "game.maxStake"
	// ParamTokenMaxSupply caps the max supply a new token may declare
	// (version 2).
	ParamTokenMaxSupply = "token.maxSupply"
)

// Defaults of the governable parameters.
const (
	DefaultGameMaxStake   = 100_000
	DefaultTokenMaxSupply = 1_000_000_000_000_000 // 1e15
)

// govParams declares the governable parameters with the bounds a proposal
// must respect (the controller accepts any int64; the executor does not).
var govParams = []struct {
	signal.ParamDecl
	min, max int64
}{
	{signal.ParamDecl{Name: ParamGameMaxStake, Version: 0, Default: DefaultGameMaxStake}, 1, 1 << 40},
	{signal.ParamDecl{Name: ParamTokenMaxSupply, Version: 2, Default: DefaultTokenMaxSupply}, 1, 1 << 62},
}

// GovernanceParams are the parameters producers may change by proposal, and
// the protocol version that must be active first.
func GovernanceParams() []signal.ParamDecl {
	out := make([]signal.ParamDecl, len(govParams))
	for i, p := range govParams {
		out[i] = p.ParamDecl
	}
	return out
}

// GovernanceParamsFor is GovernanceParams restricted to the parameters a
// schedule can carry: one that belongs to a version the schedule does not
// declare is left out (the signal controller refuses such a declaration),
// so on that chain it is simply not governable and keeps its default.
func GovernanceParamsFor(versions []schedule.VersionParams) []signal.ParamDecl {
	var out []signal.ParamDecl
	for _, p := range GovernanceParams() {
		ok := p.Version == 0
		for _, v := range versions {
			ok = ok || v.Number == p.Version
		}
		if ok {
			out = append(out, p)
		}
	}
	return out
}

// govParam is a governable parameter's value in force: the last approved
// proposal's value, or the default when the chain does not declare it.
func govParam(ctx *Context, name string) int64 {
	if ctx.Signal != nil {
		if v, ok := ctx.Signal.Param(name); ok {
			return v
		}
	}
	for _, p := range govParams {
		if p.Name == name {
			return p.Default
		}
	}
	return 0
}

// decodeErr rejects a payload that does not decode.
func decodeErr(err error) error { return &TxError{Code: CodeDecode, Reason: err.Error()} }

// addU64 adds without wrapping; ok is false on overflow.
func addU64(a, b uint64) (uint64, bool) {
	s, carry := bits.Add64(a, b, 0)
	return s, carry == 0
}

// percentOf is floor(v*pct/100) without overflow for any v and pct <= 100.
func percentOf(v, pct uint64) uint64 {
	return v/100*pct + v%100*pct/100
}

// recipient parses an address written in a payload under the chain's
// address rules in force (ForkAddrChecksum).
func recipient(ctx *Context, s string) (Address, error) {
	return ParseAddress(s, ctx.Active(ctx.Forks.AddrChecksum))
}

// Sorted address lists (candidates) are stored as one value: the format
// byte, a count and the addresses in byte order.
const addrListFormat = 1

func getAddrList(kv KV, key []byte, what string) ([]Address, error) {
	r, found, err := record(kv, key, addrListFormat, what)
	if err != nil || !found {
		return nil, err
	}
	n := r.U32()
	if r.Err() == nil && uint64(n) > codec.MaxField/20 {
		return nil, errCorrupt(what)
	}
	out := make([]Address, n)
	for i := range out {
		r.Fixed(out[i][:])
	}
	return out, r.Done(what)
}

func putAddrList(kv KV, key []byte, list []Address) error {
	if len(list) == 0 {
		return kv.Delete(key)
	}
	var w codec.Writer
	w.U8(addrListFormat)
	w.U32(uint32(len(list)))
	for _, a := range list {
		w.Fixed(a[:])
	}
	return kv.Set(key, w.Out())
}

func errFormat(what string, got, want uint8) error {
	return fmt.Errorf("%s: stored format %d, this build reads %d: run a release that knows it", what, got, want)
}

func errCorrupt(what string) error {
	return fmt.Errorf("%s: the stored value is corrupt: restore the state from a good snapshot", what)
}

// record reads a stored value whose first byte is its format; found is
// false for a missing key. The caller reads the fields and calls Done.
func record(kv KV, key []byte, format uint8, what string) (r *codec.Reader, found bool, err error) {
	b, err := kv.Get(key)
	if err != nil || b == nil {
		return nil, false, err
	}
	r = codec.NewReader(b)
	if f := r.U8(); r.Err() == nil && f != format {
		return nil, false, errFormat(what, f, format)
	}
	return r, true, nil
}
