// Package verify checks that a new build of the reference chain upgrades
// cleanly from an old one, on a library of recorded chains:
//
//   - new upgrade: the new build replays a recorded chain from genesis on a
//     fresh home, and every state hash must equal the recorded one;
//   - smooth upgrade: the old data at height h (rebuilt from the fixture, or
//     left by an old binary), then the new build continues on the same data
//     directory to the end of the fixture, for several h around each fork;
//   - past the new forks: every node then produces fresh blocks past the new
//     release's fork heights, and all must agree at every height.
//
// A mismatch is diagnosed down to the transaction whose execution diverged
// and the state keys that differ, decoded. See docs/verify.md.
package verify

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"sync"
	"time"

	"github.com/forkgate/forkgate/buildinfo"
	"github.com/forkgate/forkgate/chain"
	"github.com/forkgate/forkgate/node"
)

// Options configure Run.
type Options struct {
	Chains []*Chain
	// Old is the old release: "" for each chain's recorded fixture, a
	// fixture file, or a forkgate binary (which then imports the fixture's
	// blocks up to each h through its node CLI).
	Old string
	// New is the new release: "" for this build in-process, else a
	// forkgate binary driven through its node CLI.
	New string
	// Heights replaces the default smooth-upgrade heights.
	Heights []int64
	// SmoothWindow is how many blocks a smooth upgrade replays after its
	// switch height (it always reaches the first fork height after the
	// switch). 0: DefaultSmoothWindow; negative: to the end of the fixture.
	// The smooth upgrade with the highest switch height always runs to the
	// end and past the new forks, with the new upgrade.
	SmoothWindow int64
	// Parallel is the number of scenarios run at once (0: DefaultParallel).
	Parallel int
	// WorkDir holds the scratch homes ("": a temporary directory).
	WorkDir string
	// Keep leaves the scratch homes in WorkDir.
	Keep bool
	// Progress, if set, is told about the blocks each chain has done.
	Progress Progress
}

// DefaultSmoothWindow is Options.SmoothWindow's default. A fault in how the
// new build reads the old data shows in the first blocks after the switch;
// the window is extended to the next fork, and the last switch height and
// the new upgrade cover the rest of the chain.
const DefaultSmoothWindow = 5

// DefaultParallel is the number of scenarios run at once by default: the
// machine's CPUs (2 on the development VM), at most 8.
func DefaultParallel() int { return min(max(runtime.NumCPU(), 1), 8) }

// Progress receives progress per chain.
type Progress interface {
	Start(chain string, total int64)
	Add(chain string, n int64)
	Finish(chain string, failed bool)
}

// InputError is unusable input: a bad fixture, a missing binary, bad
// heights (exit code 2).
type InputError struct{ Err error }

func (e *InputError) Error() string { return e.Err.Error() }
func (e *InputError) Unwrap() error { return e.Err }

func inputErr(format string, args ...any) error {
	return &InputError{Err: fmt.Errorf(format, args...)}
}

// Scenario kinds.
const (
	NewUpgrade    = "new-upgrade"
	SmoothUpgrade = "smooth-upgrade"
	PastForks     = "past-forks"
)

// Results.
const (
	ResultOK       = "ok"
	ResultMismatch = "mismatch"
	ResultError    = "error"
	ResultSkipped  = "skipped"
)

// chainRun is one chain's verification in progress.
type chainRun struct {
	c           *Chain
	f           *Fixture
	fixturePath string
	g           *chain.Genesis
	work        string
	oldCfg      string
	template    string // a home at height 0 for the smooth upgrades' old data
	blockFile   string
	target      int64
	forkAt      []int64 // fork heights inside the fixture, sorted
	window      int64
	lastSwitch  int64 // the smooth upgrade that runs to the target
	filesMu     sync.Mutex
	rep         *ChainReport
	results     []*ScenarioResult

	diagMu sync.Mutex
	diags  map[int64]*Diagnosis
}

// Run verifies every chain of o.Chains and returns the report. An error is
// returned only for unusable input (an *InputError) or a cancelled ctx.
func Run(ctx context.Context, o Options) (*Report, error) {
	began := time.Now()
	if len(o.Chains) == 0 {
		return nil, inputErr("no chains to verify")
	}
	if o.Parallel <= 0 {
		o.Parallel = DefaultParallel()
	}
	var newSide side = inProcess{}
	newName := "this build (" + RecordedBy() + ", in-process)"
	if o.New != "" {
		if err := checkBinary(o.New); err != nil {
			return nil, &InputError{Err: fmt.Errorf("--new: %w", err)}
		}
		newSide, newName = binaryBuild{path: o.New}, o.New
	}
	var oldSide side // nil: build the old data from the fixture
	var oldFixture *Fixture
	oldName := "recorded fixtures"
	if o.Old != "" {
		if isFixtureFile(o.Old) {
			f, err := ReadFixture(o.Old)
			if err != nil {
				return nil, &InputError{Err: err}
			}
			oldFixture, oldName = f, o.Old
		} else {
			if err := checkBinary(o.Old); err != nil {
				return nil, &InputError{Err: fmt.Errorf("--old: %w (give a forkgate binary or a fixture file)", err)}
			}
			oldSide, oldName = binaryBuild{path: o.Old}, o.Old
		}
	}
	work := o.WorkDir
	if work == "" {
		d, err := os.MkdirTemp("", "forkgate-verify-")
		if err != nil {
			return nil, err
		}
		work = d
	} else if err := os.MkdirAll(work, 0o755); err != nil {
		return nil, err
	}
	if !o.Keep {
		defer os.RemoveAll(work)
	}

	rep := &Report{Format: ReportFormat, Old: oldName, New: newName, Parallel: o.Parallel, Release: buildinfo.Version}
	var runs []*chainRun
	for _, c := range o.Chains {
		cr, err := prepare(c, o, oldFixture, work)
		if err != nil {
			var fe *FixtureError
			if errors.As(err, &fe) || errors.As(err, new(*InputError)) {
				return nil, &InputError{Err: fmt.Errorf("chain %s: %w", c.Name, err)}
			}
			return nil, &InputError{Err: fmt.Errorf("chain %s: %w", c.Name, err)}
		}
		runs = append(runs, cr)
		rep.Chains = append(rep.Chains, cr.rep)
	}

	type job struct {
		cr  *chainRun
		res *ScenarioResult
	}
	var jobs []job
	for _, cr := range runs {
		total := int64(0)
		for _, res := range cr.results {
			jobs = append(jobs, job{cr, res})
			total += cr.target
		}
		if o.Progress != nil {
			o.Progress.Start(cr.c.Name, total)
		}
	}
	ch := make(chan job)
	var wg sync.WaitGroup
	for w := 0; w < o.Parallel; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range ch {
				runScenario(ctx, j.cr, j.res, oldSide, newSide, o.Progress)
			}
		}()
	}
	for _, j := range jobs {
		ch <- j
	}
	close(ch)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	for _, cr := range runs {
		cr.rep.Scenarios = append(cr.rep.Scenarios, pastForks(cr))
		cr.rep.Result = ResultOK
		for _, s := range cr.rep.Scenarios {
			cr.rep.Result = worse(cr.rep.Result, s.Result)
			rep.Blocks += s.Blocks
			rep.Txs += s.Txs
		}
		rep.Result = worse(rep.Result, cr.rep.Result)
		if o.Progress != nil {
			o.Progress.Finish(cr.c.Name, cr.rep.Result != ResultOK)
		}
	}
	if rep.Result == "" {
		rep.Result = ResultOK
	}
	rep.ExitCode = map[string]int{ResultOK: 0, ResultMismatch: 1, ResultError: 2}[rep.Result]
	rep.Seconds = time.Since(began).Seconds()
	return rep, nil
}

// worse orders results: mismatch > error > ok/skipped.
func worse(a, b string) string {
	rank := map[string]int{"": 0, ResultSkipped: 0, ResultOK: 0, ResultError: 1, ResultMismatch: 2}
	if rank[b] > rank[a] {
		return b
	}
	if a == "" {
		return ResultOK
	}
	return a
}

func isFixtureFile(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	var magic [2]byte
	_, err = f.Read(magic[:])
	return err == nil && magic == [2]byte{0x1f, 0x8b}
}

// prepare loads a chain's fixture and writes the files its scenarios share.
func prepare(c *Chain, o Options, oldFixture *Fixture, work string) (*chainRun, error) {
	cr := &chainRun{c: c, fixturePath: c.FixturePath(), diags: map[int64]*Diagnosis{}}
	if oldFixture != nil && (len(o.Chains) == 1 || oldFixture.Header.Chain == c.Name) {
		cr.f = oldFixture
		cr.fixturePath = o.Old
	} else {
		f, err := ReadFixture(cr.fixturePath)
		if err != nil {
			return nil, err
		}
		cr.f = f
	}
	f := cr.f
	g, err := f.GenesisValue()
	if err != nil {
		return nil, &FixtureError{Path: cr.fixturePath, Msg: err.Error()}
	}
	cr.g = g
	if g.ChainID != c.Lib.ChainID {
		return nil, &FixtureError{Path: cr.fixturePath, Msg: fmt.Sprintf("the fixture is chain %q, but %s says chain_id = %q", g.ChainID, c.ConfigPath, c.Lib.ChainID)}
	}
	cr.work = filepath.Join(work, c.Name)
	if err := os.MkdirAll(cr.work, 0o755); err != nil {
		return nil, err
	}
	cr.oldCfg = filepath.Join(cr.work, "old-config.toml")
	if err := os.WriteFile(cr.oldCfg, f.Config, 0o644); err != nil {
		return nil, err
	}
	if oldFixture != nil || o.Old == "" {
		cr.template = filepath.Join(cr.work, "template")
		if err := f.NewTemplate(cr.template, c, cr.oldCfg); err != nil {
			return nil, err
		}
	}
	cr.blockFile = filepath.Join(cr.work, "blocks.fgb")
	if err := f.WriteBlockFile(cr.blockFile, f.Header.To); err != nil {
		return nil, err
	}
	n := f.Header.To
	forks := ForkHeights(c.Config.Schedule, f.Locator(g))
	cr.target = n
	var beyond int64 = -1
	for _, fh := range forks {
		if fh.Height > n {
			beyond = max(beyond, fh.Height)
		}
	}
	switch {
	case c.Lib.ExtraBlocks == 0:
	case beyond > 0:
		cr.target = min(beyond+1, n+c.Lib.ExtraBlocks)
	default:
		cr.target = n + min(4, c.Lib.ExtraBlocks)
	}
	heights := o.Heights
	if heights == nil {
		heights = DefaultHeights(forks, n)
	}
	for _, h := range heights {
		if h < 1 || h > n {
			return nil, inputErr("--heights %d: chain %s's fixture covers heights 1..%d", h, c.Name, n)
		}
		cr.lastSwitch = max(cr.lastSwitch, h)
	}
	for _, fh := range forks {
		if fh.Height >= 1 && fh.Height <= n {
			cr.forkAt = append(cr.forkAt, fh.Height)
		}
	}
	sort.Slice(cr.forkAt, func(i, j int) bool { return cr.forkAt[i] < cr.forkAt[j] })
	cr.window = o.SmoothWindow
	if cr.window == 0 {
		cr.window = DefaultSmoothWindow
	}
	cr.rep = &ChainReport{Name: c.Name, Dir: c.Dir, ChainID: g.ChainID, Fixture: cr.fixturePath, RecordedRelease: f.Header.Release,
		From: f.Header.From, To: n, Target: cr.target, Heights: heights, Forks: forks, ConfigChanged: f.Header.ConfigDigest != c.ConfigDigest()}
	cr.results = append(cr.results, &ScenarioResult{Chain: c.Name, Scenario: NewUpgrade})
	for _, h := range heights {
		cr.results = append(cr.results, &ScenarioResult{Chain: c.Name, Scenario: SmoothUpgrade, Switch: h})
	}
	cr.rep.Scenarios = cr.results
	return cr, nil
}

// DefaultHeights are the smooth-upgrade heights: one before each fork
// height inside 1..n, the fork height itself, and the middle of the range.
func DefaultHeights(forks []ForkHeight, n int64) []int64 {
	set := map[int64]bool{max(n/2, 1): true}
	for _, fh := range forks {
		if fh.Height < 1 || fh.Height > n {
			continue
		}
		if fh.Height > 1 {
			set[fh.Height-1] = true
		}
		set[fh.Height] = true
	}
	out := make([]int64, 0, len(set))
	for h := range set {
		out = append(out, h)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// runScenario runs one new or smooth upgrade into res.
func runScenario(ctx context.Context, cr *chainRun, res *ScenarioResult, oldSide, newSide side, p Progress) {
	began := time.Now()
	defer func() { res.Seconds = time.Since(began).Seconds() }()
	c, f, n := cr.c, cr.f, cr.f.Header.To
	add := func(k int64) {
		if p != nil {
			p.Add(c.Name, k)
		}
	}
	name := "new"
	if res.Scenario == SmoothUpgrade {
		name = fmt.Sprintf("smooth-%d", res.Switch)
	}
	home := filepath.Join(cr.work, name)
	res.home = home
	var err error
	if res.Scenario == NewUpgrade {
		res.From = 1
		if err = newSide.initHome(ctx, home, c, c.ConfigPath); err == nil {
			_, err = f.checkGenesis(home)
		}
	} else {
		h := res.Switch
		res.From = h + 1
		if oldSide != nil {
			if err = oldSide.initHome(ctx, home, c, cr.oldCfg); err == nil {
				_, err = f.checkGenesis(home)
			}
			if err == nil {
				var prefix string
				if prefix, err = cr.prefixFile(h); err == nil {
					if err = oldSide.importFile(ctx, home, prefix, nil); err != nil {
						var fd *Finding
						if errors.As(err, &fd) {
							err = fmt.Errorf("the old binary does not reproduce the fixture (the fixture was recorded by %s): %s", f.Header.RecordedBy, fd.Msg)
						}
					}
				}
			}
			add(h)
		} else {
			err = f.BuildHomeFrom(cr.template, home, h, add)
		}
		if err == nil {
			// The upgrade: the new release's config replaces the old one.
			err = copyFile(c.ConfigPath, node.Home(home).Config())
		}
	}
	// The new build imports the fixture's blocks (those it holds are
	// compared by hash), produces fresh blocks to the target, and the
	// node's block store is read back, whatever happened.
	until, file := cr.target, cr.blockFile
	if res.Scenario == SmoothUpgrade && err == nil {
		if end := cr.smoothEnd(res.Switch); end < n {
			until = end
			file, err = cr.prefixFile(end)
		}
	}
	res.until = until
	var blocks []*node.Block
	var herr error
	if err == nil {
		blocks, err, herr = newSide.upgrade(ctx, home, file, n, until, cr.g, add)
	} else {
		_, blocks, herr = blockHashes(home, cr.g, 1, until)
	}
	hs := make([][]byte, len(blocks))
	for i, b := range blocks {
		hs[i] = b.AppHash
	}
	if herr == nil {
		for i, hash := range hs {
			x := int64(i + 1)
			if x > n {
				break
			}
			res.Compared++
			if !bytes.Equal(hash, f.Root(x)) && err == nil {
				err = &Finding{Height: x, Msg: fmt.Sprintf("block %d: state hash mismatch: the fixture records %x, the node holds %x", x, f.Root(x), hash)}
			}
		}
		if int64(len(hs)) > n {
			res.extra, res.extraBlocks = hs[n:], blocks[n:]
		}
		if len(hs) > 0 {
			res.To = int64(len(hs))
		}
		for x := res.From; x <= res.To; x++ {
			res.Blocks++
			res.Txs += int64(len(blocks[x-1].Txs) - 1)
		}
	}
	var fd *Finding
	switch {
	case err == nil && herr != nil:
		res.Result, res.Message = ResultError, herr.Error()
	case err == nil && res.To < until:
		res.Result, res.Message = ResultError, fmt.Sprintf("the node stopped at height %d, before %d", res.To, until)
	case err == nil:
		res.Result = ResultOK
	case errors.As(err, &fd):
		res.Result, res.Message = ResultMismatch, fd.Msg
		if fd.Config {
			res.Diagnosis = &Diagnosis{Kind: "config", Height: fd.Height, Keys: []KeyChange{}, ConfigChanges: configChanges(cr.oldCfg, c.ConfigPath)}
			res.Diagnosis.Advice = advice(res.Diagnosis)
		} else if fd.Height > 0 {
			res.Diagnosis = cr.diagnose(ctx, newSide, fd.Height)
		}
	case ctx.Err() != nil:
		res.Result, res.Message = ResultError, ctx.Err().Error()
	default:
		res.Result, res.Message = ResultError, err.Error()
	}
}

// smoothEnd is where the smooth upgrade switching at h stops: the window
// after h, extended to the first fork height after h; the last switch runs
// to the end of the fixture (and on past the forks).
func (cr *chainRun) smoothEnd(h int64) int64 {
	n := cr.f.Header.To
	if cr.window < 0 || h == cr.lastSwitch {
		return n
	}
	end := h + cr.window
	for _, fh := range cr.forkAt {
		if fh > h {
			end = max(end, fh)
			break
		}
	}
	return min(end, n)
}

// prefixFile is the block file of the fixture's blocks 1..to, written once
// per chain and length.
func (cr *chainRun) prefixFile(to int64) (string, error) {
	cr.filesMu.Lock()
	defer cr.filesMu.Unlock()
	path := filepath.Join(cr.work, fmt.Sprintf("blocks-1-%d.fgb", to))
	if _, err := os.Stat(path); err == nil {
		return path, nil
	}
	return path, cr.f.WriteBlockFile(path, to)
}

// diagnose explains a mismatch at height m once per chain and height.
func (cr *chainRun) diagnose(ctx context.Context, newSide side, m int64) *Diagnosis {
	cr.diagMu.Lock()
	defer cr.diagMu.Unlock()
	if d, ok := cr.diags[m]; ok {
		return d
	}
	dir := filepath.Join(cr.work, fmt.Sprintf("diag-%d", m))
	os.RemoveAll(dir)
	os.MkdirAll(dir, 0o755)
	newDir := filepath.Join(dir, "new")
	var res *ExecResult
	var err error
	if _, ok := newSide.(inProcess); ok {
		res, err = ExecBlock(cr.f, cr.c.ConfigPath, m, newDir)
	} else {
		res, err = newSide.execBlock(ctx, cr.fixturePath, cr.c.ConfigPath, m, newDir)
	}
	var d *Diagnosis
	if err != nil {
		d = &Diagnosis{Kind: "state-hash", Height: m, Expected: hex.EncodeToString(cr.f.Root(m)), Keys: []KeyChange{},
			Note: "the new build could not re-execute the block for a diagnosis: " + err.Error()}
		d.Advice = advice(d)
	} else if d, err = diagnoseBlock(cr.f, m, res, newDir, dir); err != nil {
		d.Note = "diagnosis incomplete: " + err.Error()
	}
	d.ConfigChanges = configChanges(cr.oldCfg, cr.c.ConfigPath)
	d.Advice = advice(d)
	cr.diags[m] = d
	return d
}

// pastForks compares the fresh blocks every node produced past the fixture.
func pastForks(cr *chainRun) *ScenarioResult {
	n := cr.f.Header.To
	res := &ScenarioResult{Chain: cr.c.Name, Scenario: PastForks, From: n + 1, To: cr.target}
	if cr.target <= n {
		res.Result, res.Message = ResultSkipped, "[library] extra_blocks = 0"
		return res
	}
	var ref *ScenarioResult
	nodes := 0
	for _, s := range cr.results {
		if s.Result != ResultOK || int64(len(s.extra)) != cr.target-n {
			continue
		}
		nodes++
		if ref == nil {
			ref = s
			continue
		}
		for i := range s.extra {
			res.Compared++
			if !bytes.Equal(ref.extra[i], s.extra[i]) {
				x := n + 1 + int64(i)
				res.Result = ResultMismatch
				res.Message = fmt.Sprintf("height %d: %s has state hash %x, %s has %x", x, ref.label(), ref.extra[i], s.label(), s.extra[i])
				res.Diagnosis = diagnoseDisagreement(ref.home, s.home, x, ref.extraBlocks[i], s.extraBlocks[i])
				return res
			}
		}
	}
	res.Nodes = nodes
	if nodes < 2 {
		res.Result, res.Message = ResultSkipped, fmt.Sprintf("%d node(s) reached height %d; nothing to compare", nodes, cr.target)
		return res
	}
	res.Result = ResultOK
	return res
}

func (s *ScenarioResult) label() string {
	if s.Scenario == SmoothUpgrade {
		return fmt.Sprintf("the smooth upgrade at %d", s.Switch)
	}
	return "the " + s.Scenario + " node"
}

func copyFile(src, dst string) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, b, 0o644)
}
