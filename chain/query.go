package chain

import (
	"context"
	"encoding/json"
	"fmt"

	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/cometbft/cometbft/proto/tendermint/crypto"
)

// Prover is implemented by stores that can prove a key's value (or absence)
// at a committed height against that height's state hash (package state).
type Prover interface {
	ProveAt(height int64, key []byte) (value, proof []byte, err error)
}

// ProofOpType names forkgate's sparse-Merkle proofs in ABCI ProofOps; verify
// one with state.VerifyProof(root, key, value, op.Data).
const ProofOpType = "forkgate/smt"

// Query paths:
//
//	/key        data = raw state key; value at the committed height (or
//	            req.Height), with a membership or absence proof if prove
//	/account    data = address text; JSON {"balance","nonce"}
//	/producers  JSON list of the current producer set
//	/signal     JSON signal status (versions, tallies, producers)
func (a *App) Query(_ context.Context, req *abci.RequestQuery) (*abci.ResponseQuery, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	height := a.store.Height()
	fail := func(format string, args ...any) (*abci.ResponseQuery, error) {
		return &abci.ResponseQuery{Code: CodeExec, Log: fmt.Sprintf(format, args...), Height: height}, nil
	}
	switch req.Path {
	case "/key":
		if req.Height != 0 && req.Height != height {
			height = req.Height
		}
		p, ok := a.store.(Prover)
		if !ok {
			if req.Prove || req.Height != 0 {
				return fail("this store cannot prove or read past heights")
			}
			v, err := a.store.Get(req.Data)
			if err != nil {
				return fail("%v", err)
			}
			return &abci.ResponseQuery{Key: req.Data, Value: v, Height: height}, nil
		}
		v, proof, err := p.ProveAt(height, req.Data)
		if err != nil {
			return fail("%v", err)
		}
		res := &abci.ResponseQuery{Key: req.Data, Value: v, Height: height}
		if req.Prove {
			res.ProofOps = &crypto.ProofOps{Ops: []crypto.ProofOp{{Type: ProofOpType, Key: req.Data, Data: proof}}}
		}
		return res, nil
	case "/account":
		addr, err := ParseAddress(string(req.Data), false)
		if err != nil {
			return fail("%v", err)
		}
		acc, err := GetAccount(a.store, addr)
		if err != nil {
			return fail("%v", err)
		}
		return jsonResponse(map[string]uint64{"balance": acc.Balance, "nonce": acc.Nonce}, height)
	case "/producers":
		set, err := getProducerSet(a.store)
		if err != nil {
			return fail("%v", err)
		}
		return jsonResponse(addrStrings(set), height)
	case "/signal":
		return jsonResponse(a.sig.Status(), height)
	}
	return fail("unknown query path %q; use /key, /account, /producers or /signal", req.Path)
}

func jsonResponse(v any, height int64) (*abci.ResponseQuery, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return &abci.ResponseQuery{Value: b, Height: height}, nil
}
