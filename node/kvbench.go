package node

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/cometbft/cometbft/abci/example/kvstore"
	abci "github.com/cometbft/cometbft/abci/types"
)

// KVStoreApp is CometBFT's kvstore example application, persisted under
// HOME/kvstore, whose proposer adds txsPerBlock key=value transactions to
// each block as forkgate's App adds its workload: the baseline of the
// network benchmarks (docs/benchmarks.md), run on the same node setup
// through CometOptions.App.
func KVStoreApp(home string, txsPerBlock int) abci.Application {
	return &kvBench{Application: kvstore.NewPersistentApplication(filepath.Join(home, "kvstore")), n: txsPerBlock}
}

type kvBench struct {
	*kvstore.Application
	n int
}

func (a *kvBench) PrepareProposal(ctx context.Context, req *abci.RequestPrepareProposal) (*abci.ResponsePrepareProposal, error) {
	for i := 0; i < a.n; i++ {
		req.Txs = append(req.Txs, []byte(fmt.Sprintf("bench-%d-%d=%d", req.Height, i, req.Height)))
	}
	return a.Application.PrepareProposal(ctx, req)
}
