package fleet

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/forkgate/forkgate/forkfile"
	"github.com/forkgate/forkgate/nodestatus"
	"github.com/forkgate/forkgate/ops"
	"github.com/forkgate/forkgate/upgradedoc"
)

// ReportFormat versions Report's JSON (docs/cli-json.md).
const ReportFormat = 1

// The fleet's own checks, beside the document's (upgradedoc.Check*).
const (
	CheckReachable = "fleet.nodes.reachable"
	CheckRelease   = "fleet.node.release"   // pre: a release the document allows
	CheckSchedule  = "fleet.nodes.schedule" // every node holds the same fork schedule
	CheckHalted    = "fleet.node.halted"    // no node stopped for an upgrade it cannot execute
	CheckLagging   = "fleet.node.lagging"   // no node far behind the others
	CheckSignal    = "fleet.signal.on-track"
	CheckVisor     = "fleet.visor.staged" // pre: the supervisor holds the release, verified
	CheckDisk      = "fleet.node.disk"    // pre: room for a checkpoint of the data
)

// DiskMargin is the free space a node needs beyond a copy of its data.
const DiskMargin = 256 << 20

// Node states (health), worst first.
const (
	StateUnreachable = "unreachable"
	StateSplit       = "split"
	StateHalted      = "halted" // stopped for an upgrade it cannot execute
	StateLagging     = "lagging"
	StateOK          = "ok"
)

// Upgrade states of a node against the document's release.
const (
	UpgradeUnknown     = "unknown"      // unreachable
	UpgradePending     = "pending"      // runs an allowed older release
	UpgradeUpgraded    = "upgraded"     // runs the document's release (binary matches when reported)
	UpgradeWrongBinary = "wrong-binary" // the release's version, another build
	UpgradeOther       = "other"        // a release the document does not name
)

// Options tune a check.
type Options struct {
	// Lag is how many blocks behind the highest node a node may be before
	// it is lagging (0: 5).
	Lag int64
	// Allow lists further releases the pre-check accepts besides the
	// document's and its previous one.
	Allow []string
	// Hasher reads past state hashes (default: the status API's).
	Hasher Hasher
	// Timeout bounds each request (0: 5 s).
	Timeout time.Duration
	// DiskMargin is the free space a node needs beyond a copy of its data
	// (0: DiskMargin).
	DiskMargin int64
}

// Report is the outcome of a fleet check.
type Report struct {
	Format    int          `json:"format"`
	Phase     string       `json:"phase"` // pre | post
	Doc       string       `json:"doc"`
	Chain     string       `json:"chain"`
	Release   string       `json:"release"`
	Time      time.Time    `json:"time"`
	OK        bool         `json:"ok"`
	MaxHeight int64        `json:"max_height"`
	Nodes     []NodeReport `json:"nodes"`
	Agreement Agreement    `json:"agreement"`
	Results   []Result     `json:"results"`
}

// NodeReport is one node's row.
type NodeReport struct {
	Name            string `json:"name"`
	URL             string `json:"url"`
	Title           string `json:"title,omitempty"` // the chain's title in the node's config
	Reachable       bool   `json:"reachable"`
	Error           string `json:"error,omitempty"`
	Height          int64  `json:"height"`
	Behind          int64  `json:"behind"`
	StateHash       string `json:"state_hash,omitempty"`
	AppVersion      string `json:"app_version,omitempty"`
	Commit          string `json:"commit,omitempty"`
	BinarySHA256    string `json:"binary_sha256,omitempty"`
	ProtocolVersion uint32 `json:"protocol_version"`
	Implemented     uint32 `json:"implemented"`
	ScheduleHash    string `json:"schedule_hash,omitempty"`
	Halt            string `json:"halt,omitempty"`
	State           string `json:"state"`
	Upgrade         string `json:"upgrade"`
	// Signal is each declared version's tally towards its threshold, and
	// Forks the node's schedule, for the dashboard.
	Signal []Tally               `json:"signal,omitempty"`
	Forks  []nodestatus.ForkInfo `json:"forks,omitempty"`
}

// Tally is one protocol version's signalling progress on a node.
type Tally struct {
	Version     uint32 `json:"version"`
	State       string `json:"state"`
	Count       int    `json:"count"`
	Threshold   int    `json:"threshold"`
	Denominator int    `json:"denominator"`
	// ActivationHeight is the height the version is active from (-1 or
	// 0: not active).
	ActivationHeight int64 `json:"activation_height"`
}

// Result is one check over the fleet.
type Result struct {
	ID       string    `json:"id"`
	What     string    `json:"what"`
	Result   string    `json:"result"` // ok | fail | skipped
	Message  string    `json:"message,omitempty"`
	Findings []Finding `json:"findings,omitempty"`
}

// Finding is one problem: on which node, what, and what to do.
type Finding struct {
	Check   string `json:"check"`
	Node    string `json:"node,omitempty"`
	Message string `json:"message"`
	Fix     string `json:"fix"`
}

// Line is the finding as one line of text.
func (f Finding) Line() string {
	where := ""
	if f.Node != "" {
		where = "node " + f.Node + ": "
	}
	return fmt.Sprintf("%s %s%s; %s", f.Check, where, f.Message, f.Fix)
}

// Findings lists every finding of the report, in check order.
func (r *Report) Findings() []Finding {
	var out []Finding
	for _, res := range r.Results {
		out = append(out, res.Findings...)
	}
	return out
}

// Result values.
const (
	OK      = "ok"
	Fail    = "fail"
	Skipped = "skipped"
)

// Check runs the document's checks of phase (pre or post) against a
// snapshot. Only the node and nodes checks read a snapshot; the binary,
// release and config checks are ops check's (they run on each node's
// machine), and are listed as skipped with that command.
//
// Without a document (doc nil, phase "") only the fleet's own checks that
// need none run: reachable, agreement, schedule, halted, lagging.
func Check(ctx context.Context, snap Snapshot, doc *upgradedoc.Document, docPath, phase string, o Options) (*Report, error) {
	if doc == nil {
		doc = &upgradedoc.Document{}
		phase = ""
	} else if phase != upgradedoc.PhasePre && phase != upgradedoc.PhasePost {
		return nil, fmt.Errorf("phase %q: pre or post", phase)
	}
	if o.Lag <= 0 {
		o.Lag = 5
	}
	if o.Hasher == nil {
		o.Hasher = &HTTPHasher{Timeout: o.Timeout}
	}
	r := &Report{Format: ReportFormat, Phase: phase, Doc: docPath, Chain: doc.Chain.Title, Release: doc.Release.Version,
		Time: snap.Time, MaxHeight: snap.MaxHeight()}
	r.Agreement = Agree(ctx, snap, o.Hasher)
	r.Nodes = nodeReports(snap, doc, r.Agreement, o.Lag)
	c := &checker{ctx: ctx, r: r, snap: snap, doc: doc, docPath: docPath, o: o, ops: map[string]opsResult{}}

	c.reachable()
	if phase == "" {
		c.agree(upgradedoc.Check{ID: "fleet.nodes.agree", What: "every node holds the same state hash at common heights"})
	}
	for _, ch := range doc.ChecksIn(phase) {
		switch ch.ID {
		case upgradedoc.CheckNodeBeforeForks:
			c.beforeActivation(ch)
		case upgradedoc.CheckNodesAgreePre, upgradedoc.CheckNodesAgreePost:
			c.agree(ch)
		case upgradedoc.CheckConfigForks:
			c.configForks(ch)
		case upgradedoc.CheckNodeVersion:
			c.version(ch)
		case upgradedoc.CheckNodeForksActive:
			c.forksActive(ch)
		case upgradedoc.CheckNodeAdvancing:
			c.advancing(ch)
		default:
			c.local(ch)
		}
	}
	if phase == upgradedoc.PhasePre {
		c.release()
		c.signal()
		c.visor()
		c.disk()
	}
	c.schedule()
	c.halted()
	c.lagging()
	r.OK = true
	for _, res := range r.Results {
		r.OK = r.OK && res.Result != Fail
	}
	return r, nil
}

type checker struct {
	ctx     context.Context
	r       *Report
	snap    Snapshot
	doc     *upgradedoc.Document
	docPath string
	o       Options
	ops     map[string]opsResult // ops check per home, run once
}

type opsResult struct {
	rep *ops.Report
	err error
}

// local runs one of the document's checks that read files (the release,
// the binary, the config) through ops check, on every node whose home is
// on this machine: the supervisor's staged binary and the home's config.
// Without homes it is skipped, naming the command to run on each machine.
func (c *checker) local(ch upgradedoc.Check) {
	var fs []Finding
	var notes []string
	ran := false
	for _, n := range c.snap.Nodes {
		if n.Home == "" {
			continue
		}
		res, ok := c.ops[n.Home]
		if !ok {
			res.rep, res.err = ops.Check(c.ctx, c.doc, c.docPath, ops.Options{Home: n.Home})
			c.ops[n.Home] = res
		}
		if res.err != nil {
			fs = append(fs, Finding{Node: n.Name, Message: "ops check of " + n.Home + ": " + res.err.Error(), Fix: "check the home's config.toml, then check again"})
			continue
		}
		for _, r := range res.rep.Results {
			if r.ID != ch.ID {
				continue
			}
			if r.Result == ops.Skipped {
				notes = append(notes, n.Name+": "+r.Message)
				continue
			}
			ran = true
			for _, d := range r.Differences {
				fs = append(fs, Finding{Node: n.Name, Message: fmt.Sprintf("%s: got %s, the document expects %s", d.What, d.Got, d.Want), Fix: d.Fix})
			}
		}
	}
	res := Result{ID: ch.ID, What: ch.What, Findings: fs, Message: strings.Join(notes, "; ")}
	if !ran && len(fs) == 0 {
		res.Result = Skipped
		if len(notes) == 0 {
			res.Message = fmt.Sprintf("a check of the %s, run on each node's machine: forkgate ops check --doc %s --home HOME (or give --net DIR)", ch.Source, c.docPath)
		}
	}
	c.add(res)
}

func (c *checker) add(res Result) {
	if res.Result == "" {
		res.Result = OK
		if len(res.Findings) > 0 {
			res.Result = Fail
		}
	}
	for i := range res.Findings {
		res.Findings[i].Check = res.ID
	}
	c.r.Results = append(c.r.Results, res)
}

// each calls f for every reachable node's status.
func (c *checker) each(f func(n Node, st *nodestatus.Status)) {
	for _, n := range c.snap.Nodes {
		if n.Reachable {
			f(n, n.Status)
		}
	}
}

func (c *checker) reachable() {
	var fs []Finding
	for _, n := range c.snap.Nodes {
		if !n.Reachable && n.Stopped == nil { // a stopped node is fleet.node.halted's
			fs = append(fs, Finding{Node: n.Name, Message: "status API " + n.URL + " did not answer: " + n.Error,
				Fix: "check that the node runs and serves its status API (node run --http), then check again"})
		}
	}
	c.add(Result{ID: CheckReachable, What: "every node's status API answers", Findings: fs})
}

func (c *checker) beforeActivation(ch upgradedoc.Check) {
	var fs []Finding
	if below := ch.Expect.HeightBelow; below != nil {
		c.each(func(n Node, st *nodestatus.Status) {
			if st.Height >= *below {
				fs = append(fs, Finding{Node: n.Name, Message: fmt.Sprintf("at height %d, not below the first activation height %d", st.Height, *below),
					Fix: "the switch is late for this chain: follow the document's step 7 at once and report to the developers if the node halted"})
			}
		})
	}
	c.add(Result{ID: ch.ID, What: ch.What, Findings: fs})
}

func (c *checker) agree(ch upgradedoc.Check) {
	a := c.r.Agreement
	var fs []Finding
	for _, s := range a.Splits {
		fs = append(fs, Finding{Node: strings.Join(s.Minority, ","),
			Message: fmt.Sprintf("state hash split at height %d: %s hold %s, %s hold %s (they agreed at %d)",
				s.Height, strings.Join(s.Minority, ","), short(s.MinorityHash), strings.Join(s.Majority, ","), short(s.MajorityHash), s.Agreed),
			Fix: fmt.Sprintf("stop the split nodes, report height %d, both hashes and their builds to the developers (forkgate verify finds the transaction), then resync them from the majority", s.Height)})
	}
	for _, e := range a.Errors {
		fs = append(fs, Finding{Message: "state hash unreadable: " + e, Fix: "the comparison is incomplete: make the node serve GET /status/hashes (a forkgate node does) and check again"})
	}
	c.add(Result{ID: ch.ID, What: ch.What, Findings: fs})
}

// configForks compares each node's schedule (its status) with the
// suggested fork items.
func (c *checker) configForks(ch upgradedoc.Check) {
	var fs []Finding
	c.each(func(n Node, st *nodestatus.Status) {
		if ch.Expect.Title != "" && st.Title != ch.Expect.Title {
			fs = append(fs, Finding{Node: n.Name, Message: fmt.Sprintf("runs chain %q, the document is for %q", st.Title, ch.Expect.Title), Fix: "check this node against its own chain's document"})
			return
		}
		have := map[string]nodestatus.ForkInfo{}
		for _, f := range st.Forks.All {
			have[f.Key] = f
		}
		for _, want := range ch.Expect.Forks {
			norm := want.Value
			if a, d, err := forkfile.ParseActivation(want.Value); err == nil {
				norm = forkfile.FormatActivation(a, d)
			}
			f, ok := have[want.Key]
			switch {
			case !ok:
				fs = append(fs, Finding{Node: n.Name, Message: fmt.Sprintf("fork %s is not in its schedule (want %s)", want.Key, want.Value),
					Fix: fmt.Sprintf("forkgate config set HOME/config.toml %s '%s', then restart the node", want.Key, want.Value)})
			case f.Activation != norm:
				fs = append(fs, Finding{Node: n.Name, Message: fmt.Sprintf("fork %s activates at %s, the document suggests %s", want.Key, f.Activation, want.Value),
					Fix: fmt.Sprintf("forkgate config set HOME/config.toml %s '%s', then restart the node", want.Key, want.Value)})
			}
		}
	})
	c.add(Result{ID: ch.ID, What: ch.What, Findings: fs})
}

func (c *checker) version(ch upgradedoc.Check) {
	var fs []Finding
	rel := c.doc.Release
	for _, nr := range c.r.Nodes {
		if !nr.Reachable {
			continue
		}
		switch {
		case nr.AppVersion != ch.Expect.Version:
			fs = append(fs, Finding{Node: nr.Name, Message: fmt.Sprintf("runs release %s, not %s", nr.AppVersion, ch.Expect.Version),
				Fix: fmt.Sprintf("install release %s (the document's steps 2-7) and restart the node", rel.Version)})
		case ch.Expect.Implemented != 0 && nr.Implemented != ch.Expect.Implemented:
			fs = append(fs, Finding{Node: nr.Name, Message: fmt.Sprintf("implements protocol version %d, the release implements %d", nr.Implemented, ch.Expect.Implemented),
				Fix: "the binary is not the release's build: " + c.doc.Download.Fetch})
		case nr.Upgrade == UpgradeWrongBinary:
			fs = append(fs, Finding{Node: nr.Name, Message: fmt.Sprintf("reports version %s but its binary's sha256 is %s, the release's is %s", nr.AppVersion, short(nr.BinarySHA256), short(rel.BinarySHA256)),
				Fix: "another build of this version runs: install the release's binary (forkgate ops check --doc DOC --binary FILE) and restart"})
		}
	}
	c.add(Result{ID: ch.ID, What: ch.What, Findings: fs})
}

func (c *checker) forksActive(ch upgradedoc.Check) {
	var fs []Finding
	c.each(func(n Node, st *nodestatus.Status) {
		have := map[string]nodestatus.ForkInfo{}
		for _, f := range st.Forks.All {
			have[f.Key] = f
		}
		for _, want := range ch.Expect.Forks {
			f, ok := have[want.Key]
			switch {
			case !ok:
				fs = append(fs, Finding{Node: n.Name, Message: "fork " + want.Key + " is not in its schedule", Fix: "set it as the document suggests (" + want.Value + ") and restart"})
			case want.ActiveFrom == nil:
			case f.Height != *want.ActiveFrom:
				fs = append(fs, Finding{Node: n.Name, Message: fmt.Sprintf("fork %s activates at height %d, the document says %d", want.Key, f.Height, *want.ActiveFrom), Fix: "set it as the document suggests (" + want.Value + "), and report: this node's state may differ"})
			case st.Height >= *want.ActiveFrom && !f.Active:
				fs = append(fs, Finding{Node: n.Name, Message: fmt.Sprintf("fork %s is not active at height %d (from %d)", want.Key, st.Height, *want.ActiveFrom), Fix: "report this node's status to the developers"})
			}
		}
	})
	c.add(Result{ID: ch.ID, What: ch.What, Findings: fs})
}

func (c *checker) advancing(ch upgradedoc.Check) {
	var fs []Finding
	if at := ch.Expect.HeightAtLeast; at != nil {
		c.each(func(n Node, st *nodestatus.Status) {
			if st.Height < *at {
				fs = append(fs, Finding{Node: n.Name, Message: fmt.Sprintf("at height %d, not yet past the activation (want >= %d)", st.Height, *at),
					Fix: "wait for the chain to pass the activation height and check again; if the node does not move, see fleet.node.halted and fleet.node.lagging"})
			}
		})
	}
	c.add(Result{ID: ch.ID, What: ch.What, Findings: fs})
}

// allowed are the releases the pre-check accepts.
func (c *checker) allowed() []string {
	out := []string{c.doc.Release.Version}
	if p := c.doc.Release.Previous; p != "" {
		out = append(out, strings.TrimPrefix(p, "v"))
	}
	return append(out, c.o.Allow...)
}

func (c *checker) release() {
	allowed := c.allowed()
	var fs []Finding
	for _, nr := range c.r.Nodes {
		if !nr.Reachable {
			continue
		}
		ok := false
		for _, a := range allowed {
			ok = ok || strings.TrimPrefix(a, "v") == strings.TrimPrefix(nr.AppVersion, "v")
		}
		if !ok {
			fs = append(fs, Finding{Node: nr.Name, Message: fmt.Sprintf("runs release %s; the document allows %s", nr.AppVersion, strings.Join(allowed, ", ")),
				Fix: "install an allowed release before the upgrade (terra-money/core#334: a wrong version splits the chain)"})
		} else if nr.Upgrade == UpgradeWrongBinary {
			fs = append(fs, Finding{Node: nr.Name, Message: fmt.Sprintf("reports release %s with binary sha256 %s, not the release's %s", nr.AppVersion, short(nr.BinarySHA256), short(c.doc.Release.BinarySHA256)),
				Fix: "install the release's binary: " + c.doc.Download.Fetch})
		}
	}
	c.add(Result{ID: CheckRelease, What: "every node runs a release the document allows (" + strings.Join(allowed, ", ") + ")", Findings: fs})
}

// signal checks, for each version the suggested forks wait for, that
// enough producers signal it or are set to (by their nodes' signalling
// plans) to reach the threshold.
func (c *checker) signal() {
	versions := map[uint32]bool{}
	for _, it := range c.doc.Suggested.Items {
		if a, _, err := forkfile.ParseActivation(it.Value); err == nil && a.Version > 0 {
			versions[a.Version] = true
		}
	}
	if len(versions) == 0 {
		c.add(Result{ID: CheckSignal, What: "producers signal the new protocol version", Result: Skipped, Message: "no suggested fork waits for a protocol version"})
		return
	}
	var vs []uint32
	for v := range versions {
		vs = append(vs, v)
	}
	sort.Slice(vs, func(i, j int) bool { return vs[i] < vs[j] })
	var fs []Finding
	var msgs []string
	for _, v := range vs {
		onTrack := map[string]bool{}
		producers := map[string]bool{}
		threshold, active := 0, false
		c.each(func(n Node, st *nodestatus.Status) {
			for _, vi := range st.Signal.Versions {
				if vi.Version == v {
					threshold = max(threshold, vi.Tally.Threshold)
					active = active || vi.State == "active"
				}
			}
			for _, p := range st.Producers {
				producers[p.Address] = true
				s := p.Signalling
				if p.LastVersion >= v || (s != nil && (s.Version >= v || s.UpgradeVersion >= v)) {
					onTrack[p.Address] = true
				}
			}
		})
		msg := fmt.Sprintf("version %d: %d of %d producers signal it or plan to, threshold %d", v, len(onTrack), len(producers), threshold)
		msgs = append(msgs, msg)
		if !active && threshold > 0 && len(onTrack) < threshold {
			fs = append(fs, Finding{Message: msg, Fix: "ask the producers' operators to install the release and set their signalling ([node.signalling]) before the window; the forks of this version wait for the threshold"})
		}
	}
	c.add(Result{ID: CheckSignal, What: "producers signal the new protocol version (or are set to) up to its threshold", Message: strings.Join(msgs, "; "), Findings: fs})
}

// visor checks that every supervised node has the release staged (the
// supervisor verifies a release's signature and checksums when it adds it)
// and that no supervisor refused or rolled back.
func (c *checker) visor() {
	want := strings.TrimPrefix(c.doc.Release.Version, "v")
	var fs []Finding
	var bare []string
	c.each(func(n Node, st *nodestatus.Status) {
		v := st.Visor
		if v == nil {
			bare = append(bare, n.Name)
			return
		}
		staged := false
		for _, r := range v.Releases {
			if strings.TrimPrefix(r.Version, "v") == want {
				staged = true
				if r.GateFailed != "" {
					fs = append(fs, Finding{Node: n.Name, Message: fmt.Sprintf("release %s failed the supervisor's health gate before: %s", want, r.GateFailed),
						Fix: "report the failure to the developers before switching again"})
				}
			}
		}
		if !staged {
			fs = append(fs, Finding{Node: n.Name, Message: fmt.Sprintf("the supervisor has not staged release %s (it holds %d release(s), current %s)", want, len(v.Releases), v.Current),
				Fix: fmt.Sprintf("forkgate visor add HOME %s (verified against its checksums and signature)", c.doc.Download.Archive)})
		}
		if v.State == "refused" || v.State == "rolled_back" {
			fs = append(fs, Finding{Node: n.Name, Message: fmt.Sprintf("the supervisor is %s: %s", v.State, v.Detail), Fix: "forkgate visor status HOME, and fix what it names before the upgrade"})
		}
	})
	msg := ""
	if len(bare) > 0 {
		msg = "not supervised (install the release by hand before the height): " + strings.Join(bare, ",")
	}
	c.add(Result{ID: CheckVisor, What: "every supervised node has the release staged and verified", Message: msg, Findings: fs})
}

// disk checks, for the nodes whose homes are on this machine, that a
// checkpoint or backup of the data fits (cosmos-sdk#21617: a node that
// ran out of disk during an upgrade).
func (c *checker) disk() {
	var fs []Finding
	measured := 0
	for _, n := range c.snap.Nodes {
		d := n.Disk
		if d == nil {
			continue
		}
		measured++
		margin := c.o.DiskMargin
		if margin <= 0 {
			margin = DiskMargin
		}
		if need := d.Data + margin; d.Free < need {
			fs = append(fs, Finding{Node: n.Name, Message: fmt.Sprintf("%d MiB free beside %s, a copy of its data needs %d MiB (data %d MiB + %d MiB margin)",
				d.Free>>20, n.Home, need>>20, d.Data>>20, margin>>20), Fix: "free space or move the supervisor's backups to another disk before the upgrade"})
		}
	}
	res := Result{ID: CheckDisk, What: "each node has room for a copy of its data (homes on this machine)", Findings: fs}
	if measured == 0 {
		res.Result, res.Message = Skipped, "no node home on this machine (give --net DIR)"
	}
	c.add(res)
}

func (c *checker) schedule() {
	byHash := map[string][]string{}
	c.each(func(n Node, st *nodestatus.Status) {
		if st.ScheduleHash != "" {
			byHash[st.ScheduleHash] = append(byHash[st.ScheduleHash], n.Name)
		}
	})
	var fs []Finding
	if len(byHash) > 1 {
		var parts []string
		var hashes []string
		for h := range byHash {
			hashes = append(hashes, h)
		}
		sort.Slice(hashes, func(i, j int) bool {
			return len(byHash[hashes[i]]) > len(byHash[hashes[j]]) || (len(byHash[hashes[i]]) == len(byHash[hashes[j]]) && hashes[i] < hashes[j])
		})
		for _, h := range hashes {
			parts = append(parts, fmt.Sprintf("%s: %s", short(h), strings.Join(byHash[h], ",")))
		}
		for _, h := range hashes[1:] {
			fs = append(fs, Finding{Node: strings.Join(byHash[h], ","), Message: "fork schedules differ (" + strings.Join(parts, "; ") + ")",
				Fix: "compare the nodes' configs (forkgate config diff A B) and set the document's fork items on every node"})
		}
	}
	c.add(Result{ID: CheckSchedule, What: "every node holds the same fork schedule (schedule hash)", Findings: fs})
}

func (c *checker) halted() {
	var fs []Finding
	for _, nr := range c.r.Nodes {
		if nr.Halt != "" {
			fs = append(fs, Finding{Node: nr.Name, Message: fmt.Sprintf("halted for the upgrade at height %d: %s", nr.Height, nr.Halt),
				Fix: fmt.Sprintf("install release %s and restart the node on the same home (it resumes at height %d)", c.doc.Release.Version, nr.Height+1)})
		}
	}
	c.add(Result{ID: CheckHalted, What: "no node stopped at a protocol version it does not implement", Findings: fs})
}

func (c *checker) lagging() {
	var fs []Finding
	for _, nr := range c.r.Nodes {
		if nr.State == StateLagging {
			fs = append(fs, Finding{Node: nr.Name, Message: fmt.Sprintf("at height %d, %d behind the highest node (%d)", nr.Height, nr.Behind, c.r.MaxHeight),
				Fix: "check its peers and network (a partitioned node catches up once it reconnects) and its log"})
		}
	}
	c.add(Result{ID: CheckLagging, What: fmt.Sprintf("no node more than %d blocks behind the highest", c.o.Lag), Findings: fs})
}

// nodeReports turns the snapshot into rows with a state each.
func nodeReports(snap Snapshot, doc *upgradedoc.Document, a Agreement, lag int64) []NodeReport {
	top := snap.MaxHeight()
	split := map[string]bool{}
	for _, s := range a.Splits {
		for _, n := range s.Minority {
			split[n] = true
		}
	}
	prev := strings.TrimPrefix(doc.Release.Previous, "v")
	var out []NodeReport
	for _, n := range snap.Nodes {
		nr := NodeReport{Name: n.Name, URL: n.URL, Reachable: n.Reachable, Error: n.Error, State: StateUnreachable, Upgrade: UpgradeUnknown}
		if u := n.Stopped; !n.Reachable && u != nil {
			// The process exited for the upgrade; its home says where.
			nr.State, nr.Upgrade, nr.Height, nr.AppVersion = StateHalted, UpgradePending, u.Height-1, u.Binary
			nr.Behind = top - nr.Height
			nr.Halt = fmt.Sprintf("stopped before height %d: protocol version %d needs release %q (upgrade-info.json)", u.Height, u.Version, u.Release)
		}
		if st := n.Status; n.Reachable {
			nr.Height, nr.Behind, nr.StateHash = st.Height, top-st.Height, st.StateHash
			nr.AppVersion, nr.Commit, nr.BinarySHA256 = st.AppVersion, st.Commit, st.BinarySHA256
			nr.ProtocolVersion, nr.Implemented, nr.ScheduleHash, nr.Halt = st.ProtocolVersion, st.Implemented, st.ScheduleHash, st.Halt
			if u := st.UpgradeNeeded; nr.Halt == "" && u != nil {
				nr.Halt = fmt.Sprintf("upgrade needed at height %d: protocol version %d, release %q", u.Height, u.Version, u.Release)
			}
			nr.Forks = st.Forks.All
			nr.Title = st.Title
			for _, v := range st.Signal.Versions {
				tl := Tally{Version: v.Version, State: v.State, Count: v.Tally.Count, Threshold: v.Tally.Threshold, Denominator: v.Tally.Denominator}
				for _, vi := range st.Versions {
					if vi.Version == v.Version {
						tl.ActivationHeight = vi.ActivationHeight
					}
				}
				nr.Signal = append(nr.Signal, tl)
			}
			switch {
			case split[n.Name]:
				nr.State = StateSplit
			case nr.Halt != "":
				nr.State = StateHalted
			case nr.Behind > lag:
				nr.State = StateLagging
			default:
				nr.State = StateOK
			}
			v := strings.TrimPrefix(st.AppVersion, "v")
			switch {
			case doc.Release.Version == "":
				nr.Upgrade = UpgradeUnknown // no document: nothing to compare with
			case v == strings.TrimPrefix(doc.Release.Version, "v") && st.BinarySHA256 != "" && doc.Release.BinarySHA256 != "" && st.BinarySHA256 != doc.Release.BinarySHA256:
				nr.Upgrade = UpgradeWrongBinary
			case v == strings.TrimPrefix(doc.Release.Version, "v"):
				nr.Upgrade = UpgradeUpgraded
			case prev != "" && v == prev, nr.Halt != "":
				nr.Upgrade = UpgradePending
			default:
				nr.Upgrade = UpgradeOther
			}
		}
		out = append(out, nr)
	}
	return out
}

// short is a hash's first 12 characters.
func short(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	if h == "" {
		return "(none)"
	}
	return h
}
