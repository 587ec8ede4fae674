package regscan

import (
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/forkgate/forkgate/forkfile"
	"github.com/forkgate/forkgate/internal/gomod"
	"github.com/forkgate/forkgate/schedule"
)

func write(t *testing.T, dir, name, src string) {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestScanForms: every form of registration the scanner understands, and
// what it leaves out.
func TestScanForms(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "x/types/types.go", `package types
const (
	TokenX = "token"
	ForkTokenCheckX = "ForkTokenCheck"
	MaxHeight = 10000000000000000
)
var name string
func init() { RegFork(TokenX, InitFork) }
func InitFork(cfg *Chain33Config) {
	cfg.RegisterDappFork(TokenX, "Enable", 0)
	cfg.RegisterDappFork(TokenX, ForkTokenCheckX, int64(100))
	name = "unfreeze"
	cfg.RegisterDappFork(name, "ForkTerminatePart", -1)
}
func (f *Forks) RegisterSystemFork() {
	f.SetFork("ForkBlockHash", 209186)
	f.setFork("ForkRootHash", 4500000)
	f.SetFork("store-kvmvccmavl.ForkKvmvccmavl", 0)
}
// The API itself forwards its parameters: not a registration.
func (c *Chain33Config) RegisterDappFork(dapp, fork string, height int64) { c.forks.SetDappFork(dapp, fork, height) }
`)
	write(t, dir, "other/other.go", `package other
import pty "example.com/x/types"
func testnet(cfg *Chain33Config) {
	cfg.SetDappFork(pty.TokenX, pty.ForkTokenCheckX, 1600000) // a test network's height: the registration wins
	cfg.SetDappFork("game", "ForkGameX", 5)
	for k, v := range m { cfg.SetDappFork("dyn", k, v) }
}
var _ = schedule.Fork{Scope: "coins", Name: "ForkOwn", Default: schedule.AtHeight(7)}
var _ = schedule.Fork{Scope: "coins", Name: "ForkNever"}
`)
	write(t, dir, "other/other_test.go", "package other\nfunc x(cfg *C) { cfg.RegisterDappFork(\"test\", \"ForkOnlyInTests\", 0) }\n")
	write(t, dir, "tmpl/tmpl.go", "package tmpl\nfunc f() { cfg.RegisterDappFork(${CLASSNAME}X, \"Enable\", 0) }\n")
	res, err := Scan(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range res.Forks {
		got = append(got, f.Key()+"="+map[bool]string{true: "", false: "?"}[f.Exact]+strconv.FormatInt(f.Height, 10))
	}
	want := []string{"coins.ForkNever=-1", "coins.ForkOwn=7", "game.ForkGameX=5", "store-kvmvccmavl.ForkKvmvccmavl=0",
		"system.ForkBlockHash=209186", "system.ForkRootHash=4500000", "token.Enable=0", "token.ForkTokenCheck=100",
		"unfreeze.ForkTerminatePart=-1"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("forks:\n got %v\nwant %v", got, want)
	}
	if len(res.Skipped) != 1 || !strings.Contains(res.Skipped[0], "other/other.go:6") {
		t.Errorf("skipped: %v", res.Skipped)
	}
	if len(res.Broken) != 1 || !strings.HasSuffix(res.Broken[0], "tmpl/tmpl.go") {
		t.Errorf("unparsed: %v", res.Broken)
	}
	reg, err := forkfile.ReadRegistry("scanned", res.Registry(dir))
	if err != nil {
		t.Fatal(err)
	}
	if f, ok := reg.Lookup("token", "ForkTokenCheck"); !ok || f.Default != schedule.AtHeight(100) {
		t.Errorf("registry: %+v %v", f, ok)
	}
	if f, _ := reg.Lookup("unfreeze", "ForkTerminatePart"); !f.Default.IsNever() {
		t.Errorf("-1 must read back as never: %+v", f)
	}
}

// scanReal scans published module source from the Go module cache.
func scanReal(t *testing.T, mods ...[2]string) (*Result, []string) {
	t.Helper()
	var dirs []string
	for _, m := range mods {
		dirs = append(dirs, gomod.Dir(t, m[0], m[1]))
	}
	res, err := Scan(dirs...)
	if err != nil {
		t.Fatal(err)
	}
	return res, dirs
}

func lintMissing(t *testing.T, file string, res *Result) (missing, unknown []string) {
	t.Helper()
	reg, err := forkfile.ReadRegistry("scanned", res.Registry("test"))
	if err != nil {
		t.Fatal(err)
	}
	f, err := forkfile.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	for _, fd := range forkfile.Lint(f, forkfile.LintOptions{Registry: reg, Strict: true}) {
		switch fd.Rule {
		case schedule.RuleMissingFork:
			missing = append(missing, fd.Fork)
		case schedule.RuleUnknownFork:
			unknown = append(unknown, fd.Fork)
		}
	}
	sort.Strings(missing)
	sort.Strings(unknown)
	return missing, unknown
}

const (
	chain33Old = "v1.66.4"
	chain33New = "v1.69.0"
)

// TestScanRealChain33: the scan of a release finds every fork its own
// default fork file lists, and no more; lint of the older release's fork
// file against the newer release's scan names exactly the forks the newer
// release added (those a node built from it would refuse to start without).
func TestScanRealChain33(t *testing.T) {
	if testing.Short() {
		t.Skip("reads two chain33 releases (about 1,000 Go files)")
	}
	oldRes, oldDirs := scanReal(t, [2]string{"github.com/33cn/chain33", chain33Old})
	newRes, newDirs := scanReal(t, [2]string{"github.com/33cn/chain33", chain33New})
	for _, tc := range []struct {
		res  *Result
		file string
	}{{oldRes, filepath.Join(oldDirs[0], "cmd/chain33/chain33.fork.toml")}, {newRes, filepath.Join(newDirs[0], "cmd/chain33/chain33.fork.toml")}} {
		missing, unknown := lintMissing(t, tc.file, tc.res)
		if len(missing)+len(unknown) > 0 {
			t.Errorf("%s against its own release's scan: missing %v, unknown %v", tc.file, missing, unknown)
		}
	}
	added := map[string]bool{}
	for _, f := range newRes.Forks {
		added[f.Key()] = true
	}
	for _, f := range oldRes.Forks {
		delete(added, f.Key())
	}
	var want []string
	for k := range added {
		want = append(want, k)
	}
	sort.Strings(want)
	if len(want) == 0 {
		t.Fatal("the newer release registers no new fork; pick releases further apart")
	}
	missing, unknown := lintMissing(t, filepath.Join(oldDirs[0], "cmd/chain33/chain33.fork.toml"), newRes)
	if strings.Join(missing, " ") != strings.Join(want, " ") || len(unknown) > 0 {
		t.Errorf("lint of %s's fork file against %s's registry:\n missing %v\n    want %v (unknown %v)", chain33Old, chain33New, missing, want, unknown)
	}
	t.Logf("%s added %d fork(s): %v", chain33New, len(want), want)
}

// TestScanRealPlugin: the plugin's scan (with the chain33 it pins) knows
// every fork of the plugin's default fork file.
func TestScanRealPlugin(t *testing.T) {
	if testing.Short() {
		t.Skip("reads the plugin and chain33 source (about 1,600 Go files)")
	}
	res, dirs := scanReal(t, [2]string{"github.com/33cn/plugin", "v1.66.2"}, [2]string{"github.com/33cn/chain33", chain33Old})
	missing, unknown := lintMissing(t, filepath.Join(dirs[0], "chain33.fork.toml"), res)
	if len(unknown) > 0 {
		t.Errorf("forks of the plugin's fork file the scan did not find: %v", unknown)
	}
	// The scan covers every package of the module, also dapps the plugin's
	// own binary does not link (x2ethereum): the one fork its file lacks.
	if strings.Join(missing, " ") != "x2ethereum.Enable" {
		t.Errorf("registered forks the plugin's fork file lacks: %v", missing)
	}
	if len(res.Forks) < 100 {
		t.Errorf("only %d forks found", len(res.Forks))
	}
}
