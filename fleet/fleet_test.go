package fleet

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/forkgate/forkgate/nodestatus"
	"github.com/forkgate/forkgate/upgradedoc"
)

// fake is a node's history: its state hash at height h is "a<h>" until it
// splits at splitAt (then "b<h>"), so any two fakes agree exactly below the
// lower of their split heights.
type fake struct {
	name    string
	height  int64
	splitAt int64 // 0: never
	branch  string
	version string
	sha     string
	sched   string
	halt    string
	down    bool
	forks   []nodestatus.ForkInfo
	visor   *nodestatus.Visor
	genesis string
}

func (f fake) hash(h int64) string {
	if f.splitAt > 0 && h >= f.splitAt {
		return fmt.Sprintf("%s%d", f.branch, h)
	}
	return fmt.Sprintf("a%d", h)
}

// start serves the fake's status and hashes on a loopback port.
func (f fake) start(t *testing.T) Target {
	t.Helper()
	if f.branch == "" {
		f.branch = "b"
	}
	st := &nodestatus.Status{Format: nodestatus.StatusFormat, ChainID: "c", Title: "main", Height: f.height, StateHash: f.hash(f.height),
		AppVersion: f.version, BinarySHA256: f.sha, ScheduleHash: f.sched, Halt: f.halt, Implemented: 2, ProtocolVersion: 1,
		Forks: nodestatus.ForksStatus{All: f.forks}, Visor: f.visor, GenesisHash: f.genesis}
	srv, err := nodestatus.ServeWith("127.0.0.1:0", func() (*nodestatus.Status, error) { return st, nil }, nodestatus.Options{
		Hashes: func(from, to int64) ([]nodestatus.HeightHash, error) {
			var out []nodestatus.HeightHash
			for h := from; h <= to && h <= f.height; h++ {
				out = append(out, nodestatus.HeightHash{Height: h, StateHash: f.hash(h)})
			}
			return out, nil
		}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	addr := "http://" + srv.Addr()
	if f.down {
		srv.Close()
	} else {
		t.Cleanup(func() { srv.Close() })
	}
	return Target{Name: f.name, URL: addr}
}

func p64(v int64) *int64 { return &v }

// testDoc is an upgrade document from release 0.1.0 to 0.2.0 whose fork
// system.ForkX activates at 40.
func testDoc() *upgradedoc.Document {
	forks := []upgradedoc.ExpectFork{{Key: "system.ForkX", Value: "40", ActiveFrom: p64(40)}}
	return &upgradedoc.Document{Format: 1,
		Chain:     upgradedoc.Chain{Title: "main", Head: 10},
		Release:   upgradedoc.Release{Version: "0.2.0", Previous: "0.1.0", BinarySHA256: "good", Implemented: 2},
		Suggested: upgradedoc.Suggested{Items: []upgradedoc.Item{{Key: "system.ForkX", Value: "40", Kind: "height", Domain: "own", Height: p64(40)}}},
		Checks: upgradedoc.Checks{Format: 1, Checks: []upgradedoc.Check{
			{ID: upgradedoc.CheckBinarySHA256, Phase: "pre", Source: "binary"},
			{ID: upgradedoc.CheckConfigForks, Phase: "pre", Source: "config", Expect: upgradedoc.Expect{Title: "main", Forks: forks}},
			{ID: upgradedoc.CheckNodeBeforeForks, Phase: "pre", Source: "node", Expect: upgradedoc.Expect{HeightBelow: p64(40)}},
			{ID: upgradedoc.CheckNodesAgreePre, Phase: "pre", Source: "nodes", Expect: upgradedoc.Expect{Agree: true, FromHeight: p64(10)}},
			{ID: upgradedoc.CheckNodeVersion, Phase: "post", Source: "node", Expect: upgradedoc.Expect{Version: "0.2.0", Implemented: 2}},
			{ID: upgradedoc.CheckNodeForksActive, Phase: "post", Source: "node", Expect: upgradedoc.Expect{Forks: forks}},
			{ID: upgradedoc.CheckNodeAdvancing, Phase: "post", Source: "node", Expect: upgradedoc.Expect{HeightAtLeast: p64(41)}},
			{ID: upgradedoc.CheckNodesAgreePost, Phase: "post", Source: "nodes", Expect: upgradedoc.Expect{Agree: true, FromHeight: p64(40)}},
		}}}
}

var (
	forkPending = []nodestatus.ForkInfo{{Key: "system.ForkX", Kind: "height", Activation: "40", Height: 40}}
	forkActive  = []nodestatus.ForkInfo{{Key: "system.ForkX", Kind: "height", Activation: "40", Height: 40, Active: true}}
)

func preNode(name string, h int64) fake {
	return fake{name: name, height: h, version: "0.1.0", sha: "old", sched: "s1", forks: forkPending}
}

func postNode(name string, h int64) fake {
	return fake{name: name, height: h, version: "0.2.0", sha: "good", sched: "s1", forks: forkActive}
}

func TestCheck(t *testing.T) {
	with := func(f fake, change func(*fake)) fake { change(&f); return f }
	tests := []struct {
		name    string
		phase   string
		nodes   []fake
		want    []string          // every finding line must contain one of these, in order
		states  map[string]string // node -> State
		upgrade map[string]string // node -> Upgrade
		split   int64
	}{
		{name: "pre passes", phase: "pre",
			nodes:  []fake{preNode("n0", 20), preNode("n1", 20), preNode("n2", 19), preNode("n3", 20)},
			states: map[string]string{"n0": StateOK, "n2": StateOK}, upgrade: map[string]string{"n0": UpgradePending}},
		{name: "pre: the new release early is allowed", phase: "pre",
			nodes:   []fake{preNode("n0", 20), with(preNode("n1", 20), func(f *fake) { f.version, f.sha = "0.2.0", "good" })},
			upgrade: map[string]string{"n1": UpgradeUpgraded}},
		{name: "pre: a release the document does not allow", phase: "pre",
			nodes:   []fake{preNode("n0", 20), with(preNode("n1", 20), func(f *fake) { f.version = "0.0.9" })},
			want:    []string{"fleet.node.release node n1: runs release 0.0.9; the document allows 0.2.0, 0.1.0"},
			upgrade: map[string]string{"n1": UpgradeOther}},
		{name: "pre: the release's version from another build", phase: "pre",
			nodes: []fake{preNode("n0", 20), with(preNode("n1", 20), func(f *fake) { f.version, f.sha = "0.2.0", "evil" })},
			want:  []string{"fleet.node.release node n1: reports release 0.2.0 with binary sha256 evil"}},
		{name: "pre: the supervisor staged the release", phase: "pre",
			nodes: []fake{preNode("n0", 20), with(preNode("n1", 20), func(f *fake) {
				f.visor = &nodestatus.Visor{Format: 1, Current: "0.1.0", State: "running", Releases: []nodestatus.VisorRelease{{Version: "0.1.0"}, {Version: "0.2.0"}}}
			})}},
		{name: "pre: the supervisor lacks the release", phase: "pre",
			nodes: []fake{preNode("n0", 20), with(preNode("n1", 20), func(f *fake) {
				f.visor = &nodestatus.Visor{Format: 1, Current: "0.1.0", State: "refused", Detail: "no release implements version 2", Releases: []nodestatus.VisorRelease{{Version: "0.1.0"}}}
			})},
			want: []string{"fleet.visor.staged node n1: the supervisor has not staged release 0.2.0", "fleet.visor.staged node n1: the supervisor is refused: no release implements version 2"}},
		{name: "pre: unreachable", phase: "pre",
			nodes:  []fake{preNode("n0", 20), with(preNode("n1", 20), func(f *fake) { f.down = true })},
			want:   []string{"fleet.nodes.reachable node n1: status API"},
			states: map[string]string{"n1": StateUnreachable}},
		{name: "pre: past the activation height", phase: "pre",
			nodes: []fake{preNode("n0", 40), preNode("n1", 40)},
			want:  []string{"pre.node.before-activation node n0: at height 40", "pre.node.before-activation node n1: at height 40"}},
		{name: "pre: a fork set elsewhere", phase: "pre",
			nodes: []fake{preNode("n0", 20), with(preNode("n1", 20), func(f *fake) {
				f.sched = "s2"
				f.forks = []nodestatus.ForkInfo{{Key: "system.ForkX", Activation: "44", Height: 44}}
			})},
			want: []string{"pre.config.forks node n1: fork system.ForkX activates at 44, the document suggests 40", "fleet.nodes.schedule node n1: fork schedules differ"}},
		{name: "post passes", phase: "post",
			nodes:   []fake{postNode("n0", 50), postNode("n1", 50), postNode("n2", 49), postNode("n3", 50)},
			upgrade: map[string]string{"n0": UpgradeUpgraded, "n3": UpgradeUpgraded}},
		{name: "post: a wrong binary", phase: "post",
			nodes:   []fake{postNode("n0", 50), with(postNode("n1", 50), func(f *fake) { f.sha = "evil" })},
			want:    []string{"post.node.version node n1: reports version 0.2.0 but its binary's sha256 is evil"},
			upgrade: map[string]string{"n1": UpgradeWrongBinary}},
		{name: "post: one node split", phase: "post",
			nodes:  []fake{postNode("n0", 50), postNode("n1", 50), with(postNode("n2", 50), func(f *fake) { f.splitAt = 37 }), postNode("n3", 48)},
			want:   []string{"post.nodes.agree node n2: state hash split at height 37: n2 hold b37, n0,n1,n3 hold a37 (they agreed at 36)"},
			states: map[string]string{"n2": StateSplit, "n3": StateOK}, split: 37},
		{name: "post: the split node is the highest", phase: "post",
			nodes: []fake{postNode("n0", 50), postNode("n1", 50), with(postNode("n2", 60), func(f *fake) { f.splitAt = 41 })},
			want:  []string{"post.nodes.agree node n2: state hash split at height 41", "fleet.node.lagging node n0", "fleet.node.lagging node n1"},
			split: 41},
		{name: "post: split from the first block", phase: "post",
			nodes: []fake{postNode("n0", 50), with(postNode("n1", 50), func(f *fake) { f.splitAt = 1 }), postNode("n2", 50)},
			want:  []string{"post.nodes.agree node n1: state hash split at height 1"}, split: 1},
		{name: "post: two splits", phase: "post",
			nodes: []fake{postNode("n0", 50), postNode("n1", 50), postNode("n2", 50),
				with(postNode("n3", 50), func(f *fake) { f.splitAt = 45 }), with(postNode("n4", 50), func(f *fake) { f.splitAt, f.branch = 30, "c" })},
			want:  []string{"post.nodes.agree node n4: state hash split at height 30", "post.nodes.agree node n3: state hash split at height 45"},
			split: 30},
		{name: "post: halted and lagging", phase: "post",
			nodes: []fake{postNode("n0", 60), postNode("n1", 60), postNode("n2", 60),
				with(postNode("n3", 39), func(f *fake) {
					f.version, f.sha, f.halt, f.forks = "0.1.0", "old", "protocol version 2 is active at height 40", forkPending
				})},
			want: []string{"post.node.version node n3: runs release 0.1.0, not 0.2.0", "post.node.advancing node n3: at height 39",
				"fleet.node.halted node n3: halted for the upgrade at height 39"},
			states: map[string]string{"n3": StateHalted}, upgrade: map[string]string{"n3": UpgradePending}},
		{name: "post: lagging, not halted", phase: "post",
			nodes:  []fake{postNode("n0", 60), postNode("n1", 60), postNode("n2", 52)},
			want:   []string{"fleet.node.lagging node n2: at height 52, 8 behind the highest node (60)"},
			states: map[string]string{"n2": StateLagging}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var targets []Target
			for _, f := range tc.nodes {
				targets = append(targets, f.start(t))
			}
			snap := Collect(context.Background(), targets, 2*time.Second)
			rep, err := Check(context.Background(), snap, testDoc(), "DOC.json", tc.phase, Options{})
			if err != nil {
				t.Fatal(err)
			}
			fs := rep.Findings()
			if len(fs) != len(tc.want) {
				var lines []string
				for _, f := range fs {
					lines = append(lines, f.Line())
				}
				t.Fatalf("%d findings, want %d:\n%s", len(fs), len(tc.want), strings.Join(lines, "\n"))
			}
			for i, f := range fs {
				if !strings.Contains(f.Line(), tc.want[i]) {
					t.Errorf("finding %d: %s\nwant it to contain %q", i, f.Line(), tc.want[i])
				}
				if f.Fix == "" {
					t.Errorf("finding %d says nothing to do", i)
				}
			}
			if rep.OK != (len(tc.want) == 0) {
				t.Errorf("OK = %v with %d findings", rep.OK, len(fs))
			}
			rows := map[string]NodeReport{}
			for _, nr := range rep.Nodes {
				rows[nr.Name] = nr
			}
			for n, want := range tc.states {
				if rows[n].State != want {
					t.Errorf("node %s: state %s, want %s", n, rows[n].State, want)
				}
			}
			for n, want := range tc.upgrade {
				if rows[n].Upgrade != want {
					t.Errorf("node %s: upgrade %s, want %s", n, rows[n].Upgrade, want)
				}
			}
			if rep.Agreement.SplitHeight != tc.split {
				t.Errorf("split height %d, want %d", rep.Agreement.SplitHeight, tc.split)
			}
		})
	}
}

// TestFirstDifference: for every split height of a 1..n history, the
// search finds exactly it, reading O(log n) heights.
func TestFirstDifference(t *testing.T) {
	for _, top := range []int64{1, 2, 3, 17, 1000} {
		for split := int64(1); split <= top; split++ {
			reads := 0
			got, ok := firstDifference(top, func(h int64) (bool, bool) { reads++; return h >= split, true })
			if !ok || got != split {
				t.Fatalf("top %d, split %d: got %d", top, split, got)
			}
			if limit := 12; reads > limit {
				t.Fatalf("top %d: %d reads", top, reads)
			}
		}
	}
	if _, ok := firstDifference(100, func(int64) (bool, bool) { return false, false }); ok {
		t.Fatal("an unreadable hash must not give a height")
	}
}

func TestParseTargets(t *testing.T) {
	ts, err := ParseTargets("127.0.0.1:1, b=http://127.0.0.1:2/")
	if err != nil || len(ts) != 2 || ts[0].Name != "n0" || ts[0].URL != "http://127.0.0.1:1" || ts[1].Name != "b" {
		t.Fatalf("%+v %v", ts, err)
	}
	for _, bad := range []string{"", " , ", "a=ftp://x", "a=1.2.3.4:5,a=1.2.3.4:6", "a=http://"} {
		if _, err := ParseTargets(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

// TestStoppedNodeFromItsHome: a node whose process exited for the upgrade
// (no status API) is halted, not unreachable, at the height its home's
// upgrade-info.json names.
func TestStoppedNodeFromItsHome(t *testing.T) {
	home := t.TempDir()
	os.MkdirAll(filepath.Join(home, "data"), 0o755)
	os.WriteFile(filepath.Join(home, "data", "upgrade-info.json"), []byte(`{"format":1,"version":2,"height":40,"release":"0.2.0","implemented":1,"binary_version":"0.1.0"}`), 0o644)
	stopped := preNode("n3", 0)
	stopped.down = true
	tg := stopped.start(t)
	tg.Home = home
	targets := []Target{postNode("n0", 50).start(t), postNode("n1", 50).start(t), postNode("n2", 50).start(t), tg}
	rep, err := Check(context.Background(), Collect(context.Background(), targets, time.Second), testDoc(), "DOC.json", "post", Options{})
	if err != nil {
		t.Fatal(err)
	}
	n3 := rep.Nodes[3]
	if n3.State != StateHalted || n3.Height != 39 || n3.Upgrade != UpgradePending {
		t.Fatalf("n3: %+v", n3)
	}
	var lines []string
	for _, f := range rep.Findings() {
		lines = append(lines, f.Line())
	}
	all := strings.Join(lines, "\n")
	if !strings.Contains(all, "fleet.node.halted node n3: halted for the upgrade at height 39: stopped before height 40") || strings.Contains(all, "fleet.nodes.reachable") {
		t.Fatalf("findings:\n%s", all)
	}
}

// TestDiskCheck measures a home's data and the free space beside it.
func TestDiskCheck(t *testing.T) {
	home := t.TempDir()
	os.MkdirAll(filepath.Join(home, "data"), 0o755)
	os.WriteFile(filepath.Join(home, "data", "blocks"), make([]byte, 1<<20), 0o644)
	tg := preNode("n0", 20).start(t)
	tg.Home = home
	snap := Collect(context.Background(), []Target{tg}, time.Second)
	if d := snap.Nodes[0].Disk; d == nil || d.Data != 1<<20 || d.Free <= 0 {
		t.Fatalf("disk %+v", d)
	}
	for _, tc := range []struct {
		margin int64
		fail   bool
	}{{1 << 20, false}, {1 << 62, true}} {
		rep, err := Check(context.Background(), snap, testDoc(), "DOC.json", "pre", Options{DiskMargin: tc.margin})
		if err != nil {
			t.Fatal(err)
		}
		var res Result
		for _, r := range rep.Results {
			if r.ID == CheckDisk {
				res = r
			}
		}
		if (res.Result == Fail) != tc.fail || (tc.fail && !strings.Contains(res.Findings[0].Message, "a copy of its data needs")) {
			t.Errorf("margin %d: %+v", tc.margin, res)
		}
	}
}

// TestTwoChainsAreNotCompared: nodes of two chains (other genesis hashes)
// each agree within their chain; the fleet agrees, with a group per chain.
func TestTwoChainsAreNotCompared(t *testing.T) {
	chain := func(name, genesis string, split int64) fake {
		f := postNode(name, 30)
		f.genesis, f.splitAt = genesis, split
		return f
	}
	var targets []Target
	for _, f := range []fake{chain("a0", "ga", 0), chain("a1", "ga", 0), chain("b0", "gb", 1), chain("b1", "gb", 1), chain("b2", "gb", 1)} {
		targets = append(targets, f.start(t))
	}
	a := Agree(context.Background(), Collect(context.Background(), targets, time.Second), &HTTPHasher{})
	if !a.Agree || len(a.Groups) != 2 || len(a.Splits) != 0 {
		t.Fatalf("%+v", a)
	}
	// A split inside chain b is still found, at its height.
	targets[4] = chain("b2", "gb", 0).start(t) // b2 holds chain a's history under b's genesis: split at 1
	a = Agree(context.Background(), Collect(context.Background(), targets, time.Second), &HTTPHasher{})
	if a.Agree || a.SplitHeight != 1 || len(a.Splits) != 1 || strings.Join(a.Splits[0].Minority, ",") != "b2" {
		t.Fatalf("%+v", a)
	}
}

// TestLocalChecksOnHomes: with homes on this machine the document's file
// checks run through ops check: a home with the suggested config and no
// staged binary skips the binary checks saying why; a home without a
// config is a finding.
func TestLocalChecksOnHomes(t *testing.T) {
	doc, err := upgradedoc.Read(filepath.Join("..", "upgradedoc", "testdata", "golden", "UPGRADE-0.2.0-forkgate.library.main.json"))
	if err != nil {
		t.Fatal(err)
	}
	good, broken := t.TempDir(), t.TempDir()
	os.WriteFile(filepath.Join(good, "config.toml"), []byte(doc.Suggested.Config), 0o644)
	n0, n1 := preNode("n0", 20).start(t), preNode("n1", 20).start(t)
	n0.Home = good
	rep, err := Check(context.Background(), Collect(context.Background(), []Target{n0}, time.Second), doc, "DOC.json", "pre", Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rep.Results {
		if r.ID == upgradedoc.CheckBinarySHA256 && (r.Result != Skipped || !strings.Contains(r.Message, "n0: no binary given and none staged")) {
			t.Errorf("binary check: %+v", r)
		}
	}
	n1.Home = broken
	rep, err = Check(context.Background(), Collect(context.Background(), []Target{n1}, time.Second), doc, "DOC.json", "pre", Options{})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, f := range rep.Findings() {
		found = found || (f.Check == upgradedoc.CheckBinarySHA256 && f.Node == "n1" && strings.Contains(f.Message, "ops check of "+broken))
	}
	if !found {
		t.Errorf("no finding for a home without a config: %v", rep.Findings())
	}
}
