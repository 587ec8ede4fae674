package verify

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/forkgate/forkgate/node"
	"github.com/forkgate/forkgate/schedule"
	"github.com/forkgate/forkgate/state"
)

// ExecFormat versions ExecResult's JSON (the hidden `forkgate verify-exec`
// command's output, read across builds).
const ExecFormat = 1

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
	root, err := ex.exec(blk)
	if err != nil {
		res.Error = err.Error()
	} else {
		res.Root = hex.EncodeToString(root)
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
			if height == 1 || !sched.IsActive(k, g.Point(height-1, prevTime), sig) {
				res.ForksActivating = append(res.ForksActivating, k)
			}
		}
	}
	return res, nil
}

// Diagnosis explains a state hash mismatch.
type Diagnosis struct {
	// Kind: "state-hash" (a fixture block executes differently),
	// "config" (the new config changes a fork that already passed),
	// "disagreement" (two nodes differ on fresh blocks past the fixture),
	// "block-refused" (the new build refused a recorded block).
	Kind     string `json:"kind"`
	Height   int64  `json:"height"`
	Expected string `json:"expected,omitempty"` // hex: the recorded (or reference node's) hash
	Got      string `json:"got,omitempty"`      // hex: what the new build computed
	// Tx is the first transaction whose outcome (code or write set)
	// differs from the recorded one; nil when none does (the difference
	// comes from block-level processing: signal, maintenance, election).
	Tx              *TxDiagnosis `json:"tx,omitempty"`
	Keys            []KeyChange  `json:"keys"`
	KeysTruncated   bool         `json:"keys_truncated,omitempty"`
	ForksActive     []string     `json:"forks_active"`
	ForksActivating []string     `json:"forks_activating"`
	// ConfigChanges lists the forks whose activation differs between the
	// recorded config and the chain's current one.
	ConfigChanges []string `json:"config_changes,omitempty"`
	Advice        string   `json:"advice"`
	Note          string   `json:"note,omitempty"` // what could not be diagnosed, and why
}

// TxDiagnosis names the transaction whose execution diverged.
type TxDiagnosis struct {
	Index          int    `json:"index"` // 1 = first after the signal transaction
	Hash           string `json:"hash"`
	Exec           string `json:"exec"`
	Action         string `json:"action"`
	Sender         string `json:"sender"`
	Detail         string `json:"detail"`
	RecordedCode   uint32 `json:"recorded_code"`
	RecordedDigest string `json:"recorded_write_digest"`
	Code           uint32 `json:"code"`
	Digest         string `json:"write_digest"`
	Log            string `json:"log,omitempty"`
}

// KeyChange is one state key whose value differs, decoded.
type KeyChange struct {
	Key    string `json:"key"`
	Old    string `json:"old"` // decoded; "<absent>"
	New    string `json:"new"`
	Change string `json:"change"` // e.g. "acct/0xAb…: balance 1000 → 999, nonce 3 → 3"
	OldHex string `json:"old_hex,omitempty"`
	NewHex string `json:"new_hex,omitempty"`
}

// maxDiffKeys bounds the keys a diagnosis lists.
const maxDiffKeys = 50

// diagnoseBlock builds the diagnosis of a mismatch at height m from an
// ExecResult of the new build and the state store it left in newDir.
func diagnoseBlock(f *Fixture, m int64, res *ExecResult, newDir, work string) (*Diagnosis, error) {
	d := &Diagnosis{Kind: "state-hash", Height: m, Expected: hex.EncodeToString(f.Root(m)), Got: res.Root,
		ForksActive: res.ForksActive, ForksActivating: res.ForksActivating, Keys: []KeyChange{}}
	hr := f.Height(m)
	if res.Error != "" {
		d.Kind = "block-refused"
		d.Note = "the new build refused the recorded block: " + res.Error
	}
	for i, t := range res.Txs {
		if i >= len(hr.Txs) {
			break
		}
		rec := hr.Txs[i]
		dg := hex.EncodeToString(rec.WriteDigest[:])
		if rec.Code == t.Code && dg == t.WriteDigest {
			continue
		}
		raw := hr.Block.Txs[t.Index]
		exec, action, sender, detail := DescribeTx(raw)
		d.Tx = &TxDiagnosis{Index: t.Index, Hash: txHash(raw), Exec: exec, Action: action, Sender: sender, Detail: detail,
			RecordedCode: rec.Code, RecordedDigest: dg, Code: t.Code, Digest: t.WriteDigest, Log: t.Log}
		break
	}
	if res.Root != "" {
		root, _ := hex.DecodeString(res.Root)
		old, err := f.RebuildState(filepath.Join(work, "diag-old"), m)
		if err != nil {
			return d, err
		}
		defer old.Close()
		nw, err := state.Open(newDir, state.Options{ReadOnly: true})
		if err != nil {
			return d, err
		}
		defer nw.Close()
		diffs, err := state.Diff(old, f.Root(m), nw, root, maxDiffKeys+1)
		if err != nil {
			return d, err
		}
		if len(diffs) > maxDiffKeys {
			diffs, d.KeysTruncated = diffs[:maxDiffKeys], true
		}
		for _, k := range diffs {
			d.Keys = append(d.Keys, keyChange(k.Key, k.A, k.B))
		}
	}
	d.Advice = advice(d)
	return d, nil
}

func keyChange(key, old, new []byte) KeyChange {
	kc := KeyChange{Key: DescribeKey(key), Old: DescribeValue(key, old), New: DescribeValue(key, new), Change: DescribeChange(key, old, new)}
	if old != nil {
		kc.OldHex = hex.EncodeToString(old)
	}
	if new != nil {
		kc.NewHex = hex.EncodeToString(new)
	}
	return kc
}

func advice(d *Diagnosis) string {
	switch d.Kind {
	case "config":
		return "the new config reschedules a fork that already took effect on this chain; keep passed forks at their heights and change only future ones (forkgate config compat)"
	case "disagreement":
		return "two nodes running the same build produced different results on fresh blocks: something that feeds state or the transaction source depends on node memory (a restart loses it) or on map order, time or scheduling; make it a function of the committed state"
	}
	if len(d.ConfigChanges) > 0 && d.Kind != "disagreement" {
		return fmt.Sprintf("the chain's config changed since the fixture was recorded (%s): a fork moved at or below height %d rewrites history; restore its recorded activation and change only forks that have not passed",
			strings.Join(d.ConfigChanges, "; "), d.Height)
	}
	what := "a block-level rule (signal, maintenance, election)"
	if d.Tx != nil {
		what = fmt.Sprintf("%s.%s", d.Tx.Exec, d.Tx.Action)
	}
	s := fmt.Sprintf("the new build executes %s differently from the release that recorded height %d, and no fork gates the change", what, d.Height)
	if len(d.ForksActivating) > 0 {
		s = fmt.Sprintf("the new build executes %s differently at height %d, where %s activates: check that the fork's height in the config matches the one the recorded chain used", what, d.Height, strings.Join(d.ForksActivating, ", "))
		return s
	}
	return s + ": register a new fork for the change (chain/forks.go, default never), test the rule on both sides of it, schedule it above every existing chain's height in their configs, and keep the old behaviour below it so old blocks replay to the recorded hashes"
}

// readExecResult reads a verify-exec JSON file.
func readExecResult(path string) (*ExecResult, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var r ExecResult
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	if r.Format != ExecFormat {
		return nil, fmt.Errorf("%s: exec result format %d, this build reads %d", path, r.Format, ExecFormat)
	}
	return &r, nil
}

// diagnoseDisagreement compares two homes that produced blocks past the
// fixture and first differ at height x.
func diagnoseDisagreement(refHome, home string, x int64, refBlock, block *node.Block) *Diagnosis {
	d := &Diagnosis{Kind: "disagreement", Height: x, Expected: hex.EncodeToString(refBlock.AppHash), Got: hex.EncodeToString(block.AppHash), Keys: []KeyChange{}}
	if i, same := sameTxs(refBlock, block); !same {
		d.Note = fmt.Sprintf("the two nodes produced different blocks at height %d (they differ from transaction %d, or in time or proposer): the block producer or the transaction source does not give the same block for the same committed state", x, i)
	}
	a, err := state.Open(node.Home(refHome).State(), state.Options{ReadOnly: true})
	if err != nil {
		d.Note += "; " + err.Error()
		d.Advice = advice(d)
		return d
	}
	defer a.Close()
	b, err := state.Open(node.Home(home).State(), state.Options{ReadOnly: true})
	if err != nil {
		d.Note += "; " + err.Error()
		d.Advice = advice(d)
		return d
	}
	defer b.Close()
	ra, err1 := a.RootAt(x)
	rb, err2 := b.RootAt(x)
	if err1 == nil && err2 == nil {
		if diffs, err := state.Diff(a, ra, b, rb, maxDiffKeys+1); err == nil {
			if len(diffs) > maxDiffKeys {
				diffs, d.KeysTruncated = diffs[:maxDiffKeys], true
			}
			for _, k := range diffs {
				d.Keys = append(d.Keys, keyChange(k.Key, k.A, k.B))
			}
		}
	}
	d.Advice = advice(d)
	return d
}

// Text renders the diagnosis for people.
func (d *Diagnosis) Text() string {
	var b strings.Builder
	switch d.Kind {
	case "disagreement":
		fmt.Fprintf(&b, "first divergent height %d (past the fixture): the reference node has %s, this node %s\n", d.Height, d.Expected, d.Got)
	case "config":
		fmt.Fprintf(&b, "the new config is incompatible with the chain's data\n")
	default:
		fmt.Fprintf(&b, "first divergent height %d: recorded state hash %s, the new build computed %s\n", d.Height, d.Expected, orNone(d.Got))
	}
	if d.Tx != nil {
		t := d.Tx
		fmt.Fprintf(&b, "diverging transaction: #%d %s (%s.%s from %s; %s)\n", t.Index, t.Hash, t.Exec, t.Action, t.Sender, t.Detail)
		fmt.Fprintf(&b, "  recorded: code %d, write set %s\n  new:      code %d, write set %s", t.RecordedCode, short(t.RecordedDigest), t.Code, short(t.Digest))
		if t.Log != "" {
			fmt.Fprintf(&b, " (%s)", t.Log)
		}
		b.WriteString("\n")
	} else if d.Kind == "state-hash" || d.Kind == "block-refused" {
		b.WriteString("no user transaction's outcome differs: the difference comes from block-level processing (signal, maintenance, election)\n")
	}
	if len(d.Keys) > 0 {
		b.WriteString("state keys that differ (recorded → new):\n")
		for _, k := range d.Keys {
			fmt.Fprintf(&b, "  %s\n", k.Change)
		}
		if d.KeysTruncated {
			fmt.Fprintf(&b, "  … (first %d keys only)\n", len(d.Keys))
		}
	}
	if d.Kind != "config" && d.Kind != "disagreement" {
		act := "none"
		if len(d.ForksActivating) > 0 {
			act = strings.Join(d.ForksActivating, ", ")
		}
		fmt.Fprintf(&b, "forks active at %d: %s; activating at %d: %s\n", d.Height, listOrNone(d.ForksActive), d.Height, act)
	}
	if len(d.ConfigChanges) > 0 {
		fmt.Fprintf(&b, "config changed since recording: %s\n", strings.Join(d.ConfigChanges, "; "))
	}
	if d.Note != "" {
		fmt.Fprintf(&b, "note: %s\n", d.Note)
	}
	fmt.Fprintf(&b, "what to do: %s\n", d.Advice)
	return b.String()
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

func listOrNone(l []string) string {
	if len(l) == 0 {
		return "none"
	}
	return strings.Join(l, ", ")
}

func short(s string) string {
	if len(s) > 16 {
		return s[:16]
	}
	return s
}

// configChanges compares the forks of the recorded config with the current
// one's.
func configChanges(oldCfg, newCfg string) []string {
	o, err1 := node.LoadConfig(oldCfg)
	n, err2 := node.LoadConfig(newCfg)
	if err1 != nil || err2 != nil {
		return nil
	}
	old := map[string]string{}
	for _, e := range o.Schedule.Entries() {
		old[e.Fork.Key()] = activationText(e)
	}
	var out []string
	for _, e := range n.Schedule.Entries() {
		k := e.Fork.Key()
		was, ok := old[k]
		now := activationText(e)
		switch {
		case !ok:
			out = append(out, fmt.Sprintf("%s added at %s", k, now))
		case was != now:
			out = append(out, fmt.Sprintf("%s: %s → %s", k, was, now))
		}
		delete(old, k)
	}
	for k, was := range old {
		out = append(out, fmt.Sprintf("%s removed (was %s)", k, was))
	}
	return out
}

func activationText(e schedule.Entry) string {
	if e.Fork.Domain == schedule.DomainParent && e.Activation.Kind == schedule.KindHeight {
		return fmt.Sprintf("parent height %d", e.Activation.Height)
	}
	return e.Activation.String()
}
