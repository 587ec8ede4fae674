package verify

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"runtime"

	"github.com/forkgate/forkgate/buildinfo"
	"github.com/forkgate/forkgate/chain"
	"github.com/forkgate/forkgate/node"
)

// RecordOptions tune Record.
type RecordOptions struct {
	// Blocks is the last height to record (0: [library] blocks).
	Blocks int64
	// WorkDir holds the scratch homes ("": a temporary directory, removed).
	WorkDir string
	// Progress, if set, is called after each produced and each replayed
	// block with the blocks done and the total (2 × Blocks).
	Progress func(done, total int64)
	// FromHome, if set, takes blocks 1..Blocks from this home's block store
	// (a node of a CometBFT network, stopped) instead of producing them;
	// its genesis must be the chain's.
	FromHome string
}

// RecordedBy names the recording program.
func RecordedBy() string {
	return fmt.Sprintf("forkgate %s (%s)", buildinfo.Version, runtime.Version())
}

// Record runs the chain from genesis with this build and returns its
// fixture: a solo node produces the blocks from the [node] workload on a
// scratch home; then the blocks are replayed on a second state store with
// the App's transaction observer, to capture each transaction's outcome
// and, from a tree diff between consecutive roots, each height's write set.
// The replay must reproduce every state hash (else this build is not
// deterministic, and Record fails).
func Record(c *Chain, o RecordOptions) (*Fixture, error) {
	blocks := o.Blocks
	if blocks == 0 {
		blocks = c.Lib.Blocks
	}
	if blocks < 1 {
		return nil, fmt.Errorf("%s: nothing to record: set [library] blocks or pass --blocks", c.ConfigPath)
	}
	work := o.WorkDir
	if work == "" {
		d, err := os.MkdirTemp("", "forkgate-record-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(d)
		work = d
	}
	home := filepath.Join(work, "home")
	if err := node.Init(home, c.InitOptions(c.ConfigPath)); err != nil {
		return nil, err
	}
	var done int64
	var blks []*node.Block
	var g *chain.Genesis
	if o.FromHome != "" {
		var err error
		if blks, g, err = blocksOfHome(o.FromHome, home, blocks); err != nil {
			return nil, fmt.Errorf("record %s from %s: %w", c.Name, o.FromHome, err)
		}
		done = blocks
	} else {
		n, err := node.Open(home, node.Options{})
		if err != nil {
			return nil, err
		}
		err = n.Run(context.Background(), node.RunOptions{Until: blocks, OnBlock: func(node.BlockReport) {
			done++
			if o.Progress != nil {
				o.Progress(done, 2*blocks)
			}
		}})
		if err != nil {
			n.Close()
			return nil, fmt.Errorf("record %s: %w", c.Name, err)
		}
		g = n.Genesis()
		for h := int64(1); h <= blocks; h++ {
			b, err := n.Blocks().Get(h)
			if err != nil {
				n.Close()
				return nil, err
			}
			blks = append(blks, b)
		}
		if err := n.Close(); err != nil {
			return nil, err
		}
	}
	genesisJSON, err := os.ReadFile(node.Home(home).Genesis())
	if err != nil {
		return nil, err
	}
	gh := g.Hash()
	cd := sha256.Sum256(c.ConfigBytes)
	f := &Fixture{
		Header: FixtureHeader{Format: FixtureFormat, Chain: c.Name, ChainID: g.ChainID, GenesisHash: hex.EncodeToString(gh[:]),
			Release: buildinfo.Version, RecordedBy: RecordedBy(), ConfigDigest: hex.EncodeToString(cd[:]),
			From: 1, To: blocks},
		Config:  c.ConfigBytes,
		Genesis: genesisJSON,
	}

	ex, err := newExecutor(filepath.Join(work, "replay"), g, c.ConfigPath)
	if err != nil {
		return nil, err
	}
	defer ex.Close()
	prev := make([]byte, 32)
	for _, b := range blks {
		fin, err := ex.exec(b)
		if err != nil {
			return nil, fmt.Errorf("record %s: replaying its own blocks: %w", c.Name, err)
		}
		root := fin.AppHash
		if !bytes.Equal(root, b.AppHash) {
			return nil, fmt.Errorf("record %s: block %d replays to state hash %x, but the node committed %x: this build is not deterministic; fix that before recording",
				c.Name, b.Height, root, b.AppHash)
		}
		ws, err := writeSet(ex.store, prev, root)
		if err != nil {
			return nil, err
		}
		rcs := ReceiptsOf(fin.TxResults)
		f.Heights = append(f.Heights, HeightRecord{Block: b, Txs: ex.obs.txs, Writes: ws, Receipts: rcs, ResultsHash: ResultsHash(rcs)})
		prev = root
		done++
		if o.Progress != nil {
			o.Progress(done, 2*blocks)
		}
	}
	f.GenesisState = ex.cap.genesis
	f.Header.Txs, f.Header.Actions, f.Header.Rejected = f.Tally()
	for _, v := range ex.app.Schedule().Versions() {
		if h, ok := ex.app.Signal().ActivationHeight(v.Number); ok {
			f.Header.Versions = append(f.Header.Versions, VersionActivation{Version: v.Number, Height: h})
		}
	}
	return f, nil
}

// blocksOfHome reads blocks 1..to from src's block store, after checking
// that src's genesis is the one the chain's settings give (made in home).
func blocksOfHome(src, home string, to int64) ([]*node.Block, *chain.Genesis, error) {
	want, err := os.ReadFile(node.Home(home).Genesis())
	if err != nil {
		return nil, nil, err
	}
	got, err := os.ReadFile(node.Home(src).Genesis())
	if err != nil {
		return nil, nil, err
	}
	g, err := chain.ParseGenesis(node.Home(home).Genesis(), want)
	if err != nil {
		return nil, nil, err
	}
	gs, err := chain.ParseGenesis(node.Home(src).Genesis(), got)
	if err != nil {
		return nil, nil, err
	}
	if g.Hash() != gs.Hash() {
		return nil, nil, fmt.Errorf("%s is not the genesis the chain's [library] settings make (chain id, producers, accounts, seed, maintenance interval, genesis time): its blocks cannot be replayed on it", node.Home(src).Genesis())
	}
	bs, err := node.OpenHomeBlockStore(src)
	if err != nil {
		return nil, nil, err
	}
	defer bs.Close()
	if bs.Height() < to {
		return nil, nil, fmt.Errorf("its block store holds blocks 1..%d, not 1..%d", bs.Height(), to)
	}
	var blks []*node.Block
	for h := int64(1); h <= to; h++ {
		b, err := bs.Get(h)
		if err != nil {
			return nil, nil, err
		}
		blks = append(blks, b)
	}
	return blks, g, nil
}
