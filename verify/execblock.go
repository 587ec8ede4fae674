package verify

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"

	"github.com/forkgate/forkgate/chain"
)

// ExecFormat versions ExecResult's JSON (the hidden `forkgate verify-exec`
// command's output, read across builds). Format 2 adds receipts and the
// genesis state; a reader takes 1 and 2.
const ExecFormat = 2

// ExecResult is what one build computed for one block of a fixture,
// starting from the recorded state at the height before it.
type ExecResult struct {
	Format          int      `json:"format"`
	Release         string   `json:"release"`
	Height          int64    `json:"height"`
	Root            string   `json:"root,omitempty"`  // hex; empty when the block failed
	Error           string   `json:"error,omitempty"` // the build refused the block
	Txs             []ExecTx `json:"txs"`
	ForksActive     []string `json:"forks_active"`
	ForksActivating []string `json:"forks_activating"`
	// Receipts are every transaction's results, the signal transaction
	// first, and ResultsHash CometBFT's hash of them (format 2).
	Receipts    []Receipt `json:"receipts,omitempty"`
	ResultsHash string    `json:"results_hash,omitempty"`
	// Genesis is the state InitChain wrote, at height 1 (format 2).
	Genesis []chain.Write `json:"genesis,omitempty"`
}

// ExecTx is one user transaction's outcome in an ExecResult.
type ExecTx struct {
	Index       int    `json:"index"`
	Code        uint32 `json:"code"`
	WriteDigest string `json:"write_digest"`
	Log         string `json:"log,omitempty"`
}

// ExecBlock rebuilds the recorded state at height-1 into a new state store
// in dir, executes the fixture's block at height with this build and the
// schedule of configPath, and commits it, leaving the store in dir for a
// tree diff. It reports each transaction's outcome and the forks in force.
func ExecBlock(f *Fixture, configPath string, height int64, dir string) (*ExecResult, error) {
	if height < 1 || height > f.Header.To {
		return nil, fmt.Errorf("height %d is outside the fixture (1..%d)", height, f.Header.To)
	}
	g, err := f.GenesisValue()
	if err != nil {
		return nil, err
	}
	st, err := f.RebuildState(dir, height-1)
	if err != nil {
		return nil, err
	}
	ex, err := newExecutorOn(st, g, configPath)
	if err != nil {
		return nil, err
	}
	defer ex.Close()
	res := &ExecResult{Format: ExecFormat, Release: RecordedBy(), Height: height, Txs: []ExecTx{}}
	blk := f.Height(height).Block
	fin, err := ex.exec(blk)
	if err != nil {
		res.Error = err.Error()
	} else {
		res.Root = hex.EncodeToString(fin.AppHash)
		res.Receipts = ReceiptsOf(fin.TxResults)
		res.ResultsHash = hex.EncodeToString(ResultsHash(res.Receipts))
	}
	if height == 1 {
		res.Genesis = ex.cap.genesis
	}
	for i, t := range ex.obs.txs {
		res.Txs = append(res.Txs, ExecTx{Index: t.Index, Code: t.Code, WriteDigest: hex.EncodeToString(t.WriteDigest[:]), Log: ex.obs.logs[i]})
	}
	prevTime := g.Time
	if height > 1 {
		prevTime = f.Height(height - 1).Block.Time
	}
	sched, sig := ex.app.Schedule(), ex.app.Signal()
	res.ForksActive, res.ForksActivating = []string{}, []string{}
	for _, e := range sched.Entries() {
		k := e.Fork.Key()
		if sched.IsActive(k, g.Point(height, blk.Time), sig) {
			res.ForksActive = append(res.ForksActive, k)
			// A fork active from genesis (height 0) does not activate at 1:
			// no block ran without it.
			if !sched.IsActive(k, g.Point(height-1, prevTime), sig) {
				res.ForksActivating = append(res.ForksActivating, k)
			}
		}
	}
	return res, nil
}

// readExecResult reads a verify-exec JSON file.
func readExecResult(path string) (*ExecResult, error) {
	var r ExecResult
	if err := readResult(path, &r, &r.Format, 1, ExecFormat); err != nil {
		return nil, err
	}
	return &r, nil
}

// readResult reads another build's JSON result file into v, whose format
// field is *format, and checks that format is one of those accepted.
func readResult(path string, v any, format *int, accepted ...int) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: %v", path, err)
	}
	for _, f := range accepted {
		if *format == f {
			return nil
		}
	}
	return fmt.Errorf("%s: result format %d, this build reads %v: use builds of compatible releases", path, *format, accepted)
}
