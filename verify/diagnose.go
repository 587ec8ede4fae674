package verify

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/forkgate/forkgate/chain"
	"github.com/forkgate/forkgate/forkfile"
	"github.com/forkgate/forkgate/node"
	"github.com/forkgate/forkgate/schedule"
	"github.com/forkgate/forkgate/state"
)

// Diagnosis explains why the new build disagrees with the recorded chain.
type Diagnosis struct {
	// Kind: "state-hash" (a fixture block executes to another state),
	// "results" (the same state, other transaction results or writes),
	// "genesis" (InitChain writes another state), "nondeterministic"
	// (the new build executes the block twice differently), "config" (the
	// new config changes a fork that already passed), "disagreement" (two
	// nodes differ on fresh blocks past the fixture), "block-refused" (the
	// new build refused a recorded block).
	Kind     string `json:"kind"`
	Height   int64  `json:"height"`             // 0: the genesis state
	Expected string `json:"expected,omitempty"` // hex: the recorded (or reference node's) hash
	Got      string `json:"got,omitempty"`      // hex: what the new build computed
	// Tx is the first transaction whose outcome (code, write set or
	// receipt) differs from the recorded one; nil when none does (the
	// difference comes from block-level processing: signal, maintenance,
	// election).
	Tx *TxDiagnosis `json:"tx,omitempty"`
	// Results describes the first receipt that differs ("transaction #3:
	// code 5 → 0"), with whether it reaches LastResultsHash.
	Results       string      `json:"results,omitempty"`
	Keys          []KeyChange `json:"keys"`
	KeysTruncated bool        `json:"keys_truncated,omitempty"`
	// EncodingOnly: every differing key holds the same decoded value in
	// other bytes (or bytes only one side can decode): an encoding change.
	EncodingOnly bool `json:"encoding_only,omitempty"`
	// Runs are the two executions of a nondeterministic build.
	Runs            []string `json:"runs,omitempty"`
	ForksActive     []string `json:"forks_active"`
	ForksActivating []string `json:"forks_activating"`
	// ConfigChanges lists the forks whose activation differs between the
	// recorded config and the chain's current one; ConfigRelevant is set
	// when one of them moves a fork at or below Height (only then can the
	// config be the cause).
	ConfigChanges  []string `json:"config_changes,omitempty"`
	ConfigRelevant bool     `json:"config_relevant,omitempty"`
	Advice         string   `json:"advice"`
	Note           string   `json:"note,omitempty"` // what could not be diagnosed, and why
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
	Change string `json:"change"` // e.g. "acct/0xAb…: balance 1000 → 999"
	OldHex string `json:"old_hex,omitempty"`
	NewHex string `json:"new_hex,omitempty"`

	encodingOnly bool
}

// maxDiffKeys bounds the keys a diagnosis lists.
const maxDiffKeys = 50

// explain diagnoses the chain's root finding, the lowest height any
// scenario found, once; it is attached to every scenario that found it, and
// the other scenarios keep their one-line message. Without a finding in
// the fixture's range, a disagreement past it or a refused config is the
// root.
func (cr *chainRun) explain(ctx context.Context, newSide side) {
	var root *Finding
	for _, s := range cr.rep.Scenarios {
		if s.finding != nil {
			root = lowest(root, s.finding)
		}
	}
	if root == nil {
		for _, s := range cr.rep.Scenarios {
			if s.Diagnosis != nil && cr.rep.Root == nil {
				cr.rep.Root, cr.rep.RootScenario = s.Diagnosis, s.name()
			}
		}
		return
	}
	d := cr.diagnose(ctx, newSide, root)
	cr.rep.Root = d
	for _, s := range cr.rep.Scenarios {
		if s.finding != nil && s.finding.Genesis == root.Genesis && s.finding.Height == root.Height {
			s.Diagnosis = d
			if cr.rep.RootScenario == "" {
				cr.rep.RootScenario = s.name()
			}
		}
	}
}

// diagnose explains one finding with the new build: the block is executed
// twice from the recorded state before it (a build that disagrees with
// itself is nondeterministic, whatever else differs), the transaction and
// the receipt that differ are named, the state keys that differ are
// decoded, and the advice follows from what is known: the genesis state,
// the config, a fork activating there, an encoding change, or an ungated
// change.
func (cr *chainRun) diagnose(ctx context.Context, newSide side, fd *Finding) *Diagnosis {
	dir := filepath.Join(cr.work, "diag")
	os.RemoveAll(dir)
	os.MkdirAll(dir, 0o755)
	m := max(fd.Height, 1)
	exec := func(run string) (*ExecResult, string, error) {
		newDir := filepath.Join(dir, run)
		if _, ok := newSide.(inProcess); ok {
			r, err := ExecBlock(cr.f, cr.c.ConfigPath, m, newDir)
			return r, newDir, err
		}
		r, err := newSide.execBlock(ctx, cr.fixturePath, cr.c.ConfigPath, m, newDir)
		return r, newDir, err
	}
	var d *Diagnosis
	a, dirA, err := exec("a")
	switch {
	case err != nil:
		d = &Diagnosis{Kind: "state-hash", Height: m, Expected: hex.EncodeToString(cr.f.Root(m)), Keys: []KeyChange{},
			Note: "the new build could not re-execute the block for a diagnosis: " + err.Error()}
	case fd.Genesis || (m == 1 && a.Genesis != nil && cr.f.GenesisState != nil && stateDigest(a.Genesis) != stateDigest(cr.f.GenesisState)):
		d = diagnoseGenesis(cr.f, a)
	default:
		if b, _, err := exec("b"); err == nil && !sameExec(a, b) {
			d = &Diagnosis{Kind: "nondeterministic", Height: m, Expected: hex.EncodeToString(cr.f.Root(m)), Got: a.Root, Keys: []KeyChange{},
				Runs: []string{execSummary(a), execSummary(b)}, ForksActive: a.ForksActive, ForksActivating: a.ForksActivating}
			break
		}
		if d, err = diagnoseBlock(cr.f, m, a, dirA, dir); err != nil {
			d.Note = "diagnosis incomplete: " + err.Error()
		}
	}
	d.ConfigChanges, d.ConfigRelevant = configChangesAt(cr.oldCfg, cr.c.ConfigPath, cr.f, cr.g, d.Height)
	d.Advice = advice(d)
	return d
}

// sameExec reports whether two executions of a block agree on everything.
func sameExec(a, b *ExecResult) bool {
	if a.Root != b.Root || a.ResultsHash != b.ResultsHash || a.Error != b.Error || len(a.Txs) != len(b.Txs) {
		return false
	}
	for i := range a.Txs {
		if a.Txs[i].Code != b.Txs[i].Code || a.Txs[i].WriteDigest != b.Txs[i].WriteDigest {
			return false
		}
	}
	return true
}

// execSummary is one execution of a block, for people.
func execSummary(r *ExecResult) string {
	var b strings.Builder
	fmt.Fprintf(&b, "state hash %s, results hash %s", orNone(r.Root), orNone(r.ResultsHash))
	if r.Error != "" {
		fmt.Fprintf(&b, ", refused: %s", r.Error)
	}
	for i, t := range r.Txs {
		if i == 6 {
			fmt.Fprintf(&b, "; … %d more", len(r.Txs)-i)
			break
		}
		fmt.Fprintf(&b, "; #%d code %d writes %s", t.Index, t.Code, short(t.WriteDigest))
	}
	return b.String()
}

// diagnoseGenesis lists the genesis keys whose values differ.
func diagnoseGenesis(f *Fixture, r *ExecResult) *Diagnosis {
	d := &Diagnosis{Kind: "genesis", Height: 0, Expected: hex.EncodeToString(digestBytes(stateDigest(f.GenesisState))),
		Got: hex.EncodeToString(digestBytes(stateDigest(r.Genesis))), Keys: []KeyChange{}}
	old, nw := map[string][]byte{}, map[string][]byte{}
	var keys []string
	for _, w := range f.GenesisState {
		old[string(w.Key)] = w.Value
		keys = append(keys, string(w.Key))
	}
	for _, w := range r.Genesis {
		if _, ok := old[string(w.Key)]; !ok {
			keys = append(keys, string(w.Key))
		}
		nw[string(w.Key)] = w.Value
	}
	sort.Strings(keys)
	for _, k := range keys {
		if bytes.Equal(old[k], nw[k]) {
			continue
		}
		if len(d.Keys) == maxDiffKeys {
			d.KeysTruncated = true
			break
		}
		d.Keys = append(d.Keys, keyChange([]byte(k), old[k], nw[k]))
	}
	d.EncodingOnly = encodingOnlyKeys(d.Keys)
	return d
}

func digestBytes(d [32]byte) []byte { return d[:] }

// diagnoseBlock builds the diagnosis of a mismatch at height m from an
// ExecResult of the new build and the state store it left in newDir.
func diagnoseBlock(f *Fixture, m int64, res *ExecResult, newDir, work string) (*Diagnosis, error) {
	d := &Diagnosis{Kind: "state-hash", Height: m, Expected: hex.EncodeToString(f.Root(m)), Got: res.Root,
		ForksActive: res.ForksActive, ForksActivating: res.ForksActivating, Keys: []KeyChange{}}
	hr := f.Height(m)
	if res.Error != "" {
		d.Kind = "block-refused"
		d.Note = "the new build refused the recorded block: " + res.Error
	} else if res.Root == d.Expected {
		d.Kind = "results"
	}
	// The first receipt that differs (format 2 fixtures and builds).
	firstReceipt := -1
	if hr.Receipts != nil && res.Receipts != nil {
		for i := 0; i < len(hr.Receipts) && i < len(res.Receipts); i++ {
			if diff := hr.Receipts[i].Diff(res.Receipts[i]); diff != "" {
				firstReceipt = i
				d.Results = fmt.Sprintf("transaction #%d: %s%s", i, diff, hashedNote(hr.Receipts[i], res.Receipts[i]))
				break
			}
		}
	}
	for i, t := range res.Txs {
		if i >= len(hr.Txs) {
			break
		}
		rec := hr.Txs[i]
		dg := hex.EncodeToString(rec.WriteDigest[:])
		if rec.Code == t.Code && dg == t.WriteDigest && t.Index != firstReceipt {
			continue
		}
		raw := hr.Block.Txs[t.Index]
		exec, action, sender, detail := DescribeTx(raw)
		d.Tx = &TxDiagnosis{Index: t.Index, Hash: txHash(raw), Exec: exec, Action: action, Sender: sender, Detail: detail,
			RecordedCode: rec.Code, RecordedDigest: dg, Code: t.Code, Digest: t.WriteDigest, Log: t.Log}
		break
	}
	if res.Root != "" && res.Root != d.Expected {
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
		d.EncodingOnly = encodingOnlyKeys(d.Keys)
	}
	return d, nil
}

func keyChange(key, old, new []byte) KeyChange {
	kc := KeyChange{Key: DescribeKey(key), Old: DescribeValue(key, old), New: DescribeValue(key, new), Change: DescribeChange(key, old, new),
		encodingOnly: encodingOnly(key, old, new)}
	if old != nil {
		kc.OldHex = hex.EncodeToString(old)
	}
	if new != nil {
		kc.NewHex = hex.EncodeToString(new)
	}
	return kc
}

func encodingOnlyKeys(ks []KeyChange) bool {
	for _, k := range ks {
		if !k.encodingOnly {
			return false
		}
	}
	return len(ks) > 0
}

// activatingIn are the forks activating at the diagnosis height that belong
// to the diverging transaction's executor (all of them when no transaction
// is named: block-level processing).
func (d *Diagnosis) activatingIn() []string {
	var out []string
	for _, k := range d.ForksActivating {
		scope, _ := schedule.SplitKey(k)
		if d.Tx == nil || scope == d.Tx.Exec {
			out = append(out, k)
		}
	}
	return out
}

func advice(d *Diagnosis) string {
	switch d.Kind {
	case "config":
		return "the new config reschedules a fork that already took effect on this chain; keep passed forks at their heights and change only future ones (forkgate config compat)"
	case "disagreement":
		return "two nodes running the same build produced different results on fresh blocks: something that feeds state or the transaction source depends on node memory (a restart loses it) or on map order, time or scheduling; make it a function of the committed state"
	case "nondeterministic":
		return fmt.Sprintf("nondeterministic build: executing block %d twice from the same recorded state gave two different results (above), so no recording can be trusted to replay; find what the code that runs here reads besides the block and the state (map iteration order, time, randomness, goroutine scheduling) and make it a function of them. The config cannot cause this", d.Height)
	case "genesis":
		s := "the genesis state differs: from the same genesis.json the new build's InitChain (accounts, candidates, the first election, the signal state) writes another state than the release that recorded the chain, so every existing chain diverges before its first block. A fork cannot gate genesis: restore the recorded genesis behaviour for existing chains, and give a new genesis layout a new genesis format for new chains"
		if d.EncodingOnly {
			s += "; the values decode equal, so this is an encoding change of the genesis keys"
		}
		return s
	}
	if d.ConfigRelevant {
		return fmt.Sprintf("the chain's config changed since the fixture was recorded (%s), and a change moves a fork at or below height %d, which rewrites history: restore its recorded activation and change only forks that have not passed",
			strings.Join(d.ConfigChanges, "; "), d.Height)
	}
	what := "a block-level rule (signal, maintenance, election)"
	if d.Tx != nil {
		what = fmt.Sprintf("%s.%s", d.Tx.Exec, d.Tx.Action)
	}
	var s string
	unchanged := "the config is unchanged since recording"
	if len(d.ConfigChanges) > 0 {
		unchanged = fmt.Sprintf("the config changes since recording (%s) all take effect above height %d", strings.Join(d.ConfigChanges, "; "), d.Height)
	}
	switch act := d.activatingIn(); {
	case d.EncodingOnly:
		s = fmt.Sprintf("an encoding change: at height %d the new build stores the same values in other bytes (keys above). Existing chains hash the recorded bytes: keep writing the recorded encoding (read both if needed), or gate the new encoding with a fork and a new format byte", d.Height)
	case len(act) > 0:
		s = fmt.Sprintf("height %d is where %s activates on this chain, and %s: so it is the rule of the fork itself that behaves differently from the release that recorded the chain at its first active height, not the config. Compare how executor %s applies %s (and the code it gates) with the recorded release; a change to an active fork's rule must ship as a new fork",
			d.Height, strings.Join(act, ", "), unchanged, executorsOf(act), strings.Join(act, ", "))
	default:
		s = fmt.Sprintf("the new build executes %s differently from the release that recorded height %d, and no fork gates the change (%s): register a new fork for the change (chain/forks.go, default never), test the rule on both sides of it, schedule it above every existing chain's height in their configs, and keep the old behaviour below it so old blocks replay to the recorded hashes",
			what, d.Height, unchanged)
	}
	if d.Kind == "results" {
		s += fmt.Sprintf(". The state is the same but the transaction results differ: under CometBFT they are hashed into block %d's header (LastResultsHash), so nodes running the two builds split there", d.Height+1)
	}
	return s
}

// executorsOf names the executors of fork keys ("coins, token").
func executorsOf(keys []string) string {
	seen := map[string]bool{}
	var out []string
	for _, k := range keys {
		scope, _ := schedule.SplitKey(k)
		if !seen[scope] {
			seen[scope] = true
			out = append(out, scope)
		}
	}
	return strings.Join(out, ", ")
}

// Text renders the diagnosis for people.
func (d *Diagnosis) Text() string {
	var b strings.Builder
	switch d.Kind {
	case "disagreement":
		fmt.Fprintf(&b, "first divergent height %d (past the fixture): the reference node has %s, this node %s\n", d.Height, d.Expected, d.Got)
	case "config":
		fmt.Fprintf(&b, "the new config is incompatible with the chain's data\n")
	case "genesis":
		fmt.Fprintf(&b, "the genesis state differs (InitChain, before block 1): recorded state digest %s, the new build wrote %s\n", short(d.Expected), short(d.Got))
	case "nondeterministic":
		fmt.Fprintf(&b, "nondeterministic build at height %d: two executions of the block from the same recorded state disagree\n", d.Height)
		for i, r := range d.Runs {
			fmt.Fprintf(&b, "  run %d: %s\n", i+1, r)
		}
	case "results":
		fmt.Fprintf(&b, "first divergent height %d: the state hash is the recorded one (%s), but the transaction results differ\n", d.Height, short(d.Expected))
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
	} else if d.Kind == "state-hash" || d.Kind == "block-refused" || d.Kind == "results" {
		b.WriteString("no user transaction's outcome differs: the difference comes from block-level processing (signal, maintenance, election)\n")
	}
	if d.Results != "" {
		fmt.Fprintf(&b, "results: %s\n", d.Results)
	}
	if len(d.Keys) > 0 {
		what := "state keys that differ (recorded → new):"
		if d.Kind == "genesis" {
			what = "genesis keys that differ (recorded → new):"
		}
		b.WriteString(what + "\n")
		for _, k := range d.Keys {
			fmt.Fprintf(&b, "  %s\n", k.Change)
		}
		if d.KeysTruncated {
			fmt.Fprintf(&b, "  … (first %d keys only)\n", len(d.Keys))
		}
		if d.EncodingOnly {
			b.WriteString("  every value decodes the same on both sides: only the bytes differ (an encoding change)\n")
		}
	}
	switch d.Kind {
	case "config", "disagreement", "genesis":
	default:
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
// one's, each config taken on its own (no registry), so forks only one
// build knows are compared too.
func configChanges(oldCfg, newCfg string) []string {
	changes, _ := configChangesAt(oldCfg, newCfg, nil, nil, 0)
	return changes
}

// configChangesAt lists the fork activations that differ between the
// recorded config and the current one, and reports whether one of them
// takes effect at or below height m on this chain (with the fixture's
// locator; without a fixture, any change counts).
func configChangesAt(oldCfg, newCfg string, f *Fixture, g *chain.Genesis, m int64) ([]string, bool) {
	o, err1 := scheduleOf(oldCfg)
	n, err2 := scheduleOf(newCfg)
	if err1 != nil || err2 != nil {
		return nil, false
	}
	var loc *schedule.Locator
	if f != nil && g != nil {
		l := f.Locator(g)
		loc = &l
	}
	at := func(e schedule.Entry) (int64, bool) {
		if loc == nil {
			return 0, true
		}
		h, ok := loc.ActivationHeight(e.Activation, e.Fork.Domain)
		return h, ok && h <= max(m, 1)
	}
	old := map[string]schedule.Entry{}
	for _, e := range o.Entries() {
		old[e.Fork.Key()] = e
	}
	var out []string
	relevant := false
	for _, e := range n.Entries() {
		k := e.Fork.Key()
		was, ok := old[k]
		delete(old, k)
		now := activationText(e)
		switch {
		case !ok:
			out = append(out, fmt.Sprintf("%s added at %s", k, now))
			_, r := at(e)
			relevant = relevant || r
		case activationText(was) != now:
			out = append(out, fmt.Sprintf("%s: %s → %s", k, activationText(was), now))
			_, r1 := at(was)
			_, r2 := at(e)
			relevant = relevant || r1 || r2
		}
	}
	removed := make([]string, 0, len(old))
	for k := range old {
		removed = append(removed, k)
	}
	sort.Strings(removed)
	for _, k := range removed {
		out = append(out, fmt.Sprintf("%s removed (was %s)", k, activationText(old[k])))
		_, r := at(old[k])
		relevant = relevant || r
	}
	return out, relevant
}

// scheduleOf reads a config's fork schedule on its own (no registry).
func scheduleOf(path string) (*schedule.Schedule, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	ff, err := forkfile.Read(path, src)
	if err != nil {
		return nil, err
	}
	s, _ := ff.Schedule(nil, false)
	return s, nil
}

func activationText(e schedule.Entry) string {
	if e.Fork.Domain == schedule.DomainParent && e.Activation.Kind == schedule.KindHeight {
		return fmt.Sprintf("parent height %d", e.Activation.Height)
	}
	return e.Activation.String()
}

// diagnoseDisagreement compares two homes that produced blocks past the
// fixture and first differ at height x.
func diagnoseDisagreement(refHome, home string, x int64, refBlock, block *node.Block) *Diagnosis {
	d := &Diagnosis{Kind: "disagreement", Height: x, Expected: hex.EncodeToString(refBlock.AppHash), Got: hex.EncodeToString(block.AppHash), Keys: []KeyChange{}}
	if i, same := sameTxs(refBlock, block); !same {
		d.Note = fmt.Sprintf("the two nodes produced different blocks at height %d (they differ from transaction %d, or in time or proposer): the block producer or the transaction source does not give the same block for the same committed state", x, i)
	}
	var stores [2]*state.Store
	for i, h := range []string{refHome, home} {
		st, err := state.Open(node.Home(h).State(), state.Options{ReadOnly: true})
		if err != nil {
			d.Note += "; " + err.Error()
			d.Advice = advice(d)
			return d
		}
		defer st.Close()
		stores[i] = st
	}
	a, b := stores[0], stores[1]
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
