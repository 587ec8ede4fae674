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
	n, err := node.Open(home, node.Options{})
	if err != nil {
		return nil, err
	}
	var done int64
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
	g := n.Genesis()
	var blks []*node.Block
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
