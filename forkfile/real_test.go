package forkfile

import (
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/forkgate/forkgate/internal/gomod"
	"github.com/forkgate/forkgate/schedule"
	"github.com/pelletier/go-toml/v2"
)

// Real Chain33 configs, read unchanged from the published modules, are
// checked against an independent decoding of the same bytes (go-toml's
// Unmarshal): every fork's height and every [mver] value, lists included.

var realModules = [][2]string{
	{"github.com/33cn/chain33", "v1.69.0"},
	{"github.com/33cn/plugin", "v1.66.2"},
}

// realFiles lists every .toml file of the modules.
func realFiles(t *testing.T) map[string]string {
	t.Helper()
	dirs := map[string]string{}
	for _, m := range realModules {
		dirs[m[0]] = gomod.Dir(t, m[0], m[1])
	}
	return dirs
}

// decodedText renders a decoded value as CanonicalValue renders the source.
func decodedText(v any) string {
	switch x := v.(type) {
	case int64:
		return strconv.FormatInt(x, 10)
	case string:
		var b strings.Builder
		writeQuoted(&b, x)
		return b.String()
	case bool:
		return strconv.FormatBool(x)
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			var b strings.Builder
			writeKey(&b, k)
			parts[i] = b.String() + " = " + decodedText(x[k])
		}
		return "{ " + strings.Join(parts, ", ") + " }"
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = decodedText(e)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	}
	return "?"
}

// leaves flattens a decoded table into dotted paths; tables inside arrays
// are left out (no fork or mver value is one).
func leaves(prefix string, m map[string]any, out map[string]any) {
	for k, v := range m {
		p := k
		if prefix != "" {
			p = prefix + "." + k
		}
		if sub, ok := v.(map[string]any); ok {
			leaves(p, sub, out)
			continue
		}
		out[p] = v
	}
}

func TestRealChain33Files(t *testing.T) {
	dirs := realFiles(t)
	var files []string
	for _, d := range dirs {
		err := filepath.WalkDir(d, func(p string, e fs.DirEntry, err error) error {
			if err == nil && !e.IsDir() && strings.HasSuffix(p, ".toml") {
				files = append(files, p)
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	sort.Strings(files)
	forks, params, lists := 0, 0, 0
	for _, path := range files {
		src, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var decoded map[string]any
		if err := toml.Unmarshal(src, &decoded); err != nil {
			continue // not a valid TOML file; Chain33 cannot read it either
		}
		f, err := Read(path, src)
		if err != nil {
			t.Errorf("%s: %v", path, err)
			continue
		}
		flat := map[string]any{}
		leaves("", decoded, flat)
		items := map[string]Item{}
		for _, it := range f.Items {
			items[it.Key()] = it
		}
		byOrigin := map[string]schedule.ParamSetting{}
		for _, p := range f.Params {
			byOrigin[p.Origin] = p
		}
		nFork, nMver := 0, 0
		for k, v := range flat {
			parts := strings.Split(k, ".")
			switch parts[0] {
			case "fork":
				nFork++
				key := ""
				switch {
				case len(parts) == 3 && parts[1] == "system":
					key = "system." + parts[2]
				case len(parts) == 4 && parts[1] == "sub":
					key = parts[2] + "." + parts[3]
				default:
					t.Errorf("%s: unexpected fork key %s", path, k)
					continue
				}
				it, ok := items[key]
				h, isInt := v.(int64)
				switch {
				case !ok:
					t.Errorf("%s: fork %s = %v not read", path, key, v)
				case !isInt:
					t.Errorf("%s: fork %s = %v is not an integer, yet read", path, key, v)
				case h == -1 && !it.Activation.IsNever(), h >= 0 && it.Activation != schedule.AtHeight(h):
					t.Errorf("%s: fork %s = %d, read as %v", path, key, h, it.Activation)
				}
			case "mver":
				nMver++
			}
		}
		if nFork != len(f.Items) {
			t.Errorf("%s: %d fork values in the file, %d read", path, nFork, len(f.Items))
		}
		if nMver != len(f.Params) {
			t.Errorf("%s: %d [mver] values in the file, %d read", path, nMver, len(f.Params))
		}
		for _, e := range f.Doc.Entries {
			if e.Key[0] != "mver" {
				continue
			}
			p, ok := byOrigin[origin(path, e.Pos)]
			want := decodedText(flat[strings.Join(e.Key, ".")])
			if !ok || p.Value.Text != want {
				t.Errorf("%s: %s = %s, read as %q", origin(path, e.Pos), strings.Join(e.Key, "."), want, p.Value.Text)
			}
			if p.Value.Type == schedule.TypeList {
				lists++
			}
		}
		// config fmt keeps every value (and so every list) as it was.
		formatted, err := Canonical(src)
		if err != nil {
			t.Errorf("%s: fmt: %v", path, err)
		} else if g, err := Read(path, formatted); err != nil {
			t.Errorf("%s: formatted file does not read: %v", path, err)
		} else if valuesOf(g) != valuesOf(f) {
			t.Errorf("%s: fmt changed values:\n%s\nbefore:\n%s", path, valuesOf(g), valuesOf(f))
		}
		forks += nFork
		params += nMver
	}
	t.Logf("%d files: %d fork values and %d [mver] values (%d lists) match an independent decoding", len(files), forks, params, lists)
	if forks < 400 || params < 200 || lists < 5 {
		t.Errorf("too few values checked: %d forks, %d params, %d lists", forks, params, lists)
	}
}

// TestRealTwoFileLayout: Chain33's node config merged with its default fork
// config binds the node's [mver] values to the fork file's forks, and the
// plugin's exchange banks list is read as written.
func TestRealTwoFileLayout(t *testing.T) {
	dirs := realFiles(t)
	c33 := dirs["github.com/33cn/chain33"]
	node, err := Load(filepath.Join(c33, "cmd/chain33/chain33.toml"))
	if err != nil {
		t.Fatal(err)
	}
	if node.HasForkTables() {
		t.Fatal("chain33.toml has fork tables; the test expects a node config")
	}
	forks, err := Load(filepath.Join(c33, "cmd/chain33/chain33.fork.toml"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := Merge(node, forks)
	if err != nil {
		t.Fatal(err)
	}
	s, fs := m.Schedule(nil, false)
	if fs.HasErrors() {
		t.Fatal(fs)
	}
	// [mver.mempool.ForkMaxTxFeeV1] maxTxFee; ForkMaxTxFeeV1 is in the fork
	// file.
	var over string
	for _, p := range m.Params {
		if p.Name == "mempool.maxTxFee" && p.Fork == "system.ForkMaxTxFeeV1" {
			over = p.Value.Text
		}
	}
	if over != "5000000000" {
		t.Fatalf("mempool.maxTxFee at ForkMaxTxFeeV1 = %q: %+v", over, m.Params)
	}
	v, ok := s.ParamValue("mempool.maxTxFee", schedule.Block{Height: 0, ParentHeight: -1}, nil)
	if !ok || v.Text != over { // ForkMaxTxFeeV1 = 0 in chain33.fork.toml
		t.Errorf("maxTxFee at 0 = %v, want %s", v.Text, over)
	}

	pl := dirs["github.com/33cn/plugin"]
	pnode, err := Load(filepath.Join(pl, "chain33.toml"))
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, p := range pnode.Params {
		if p.Name == "exec.sub.exchange.banks" && p.Fork == "" {
			found = p.Value.Text == `["1PTGVR7TUm1MJUH7M1UNcKBGMvfJ7nCrnN"]` && p.Value.Type == schedule.TypeList
		}
	}
	if !found {
		t.Errorf("plugin chain33.toml: exec.sub.exchange.banks not read as the list it is")
	}
	pforks, err := Load(filepath.Join(pl, "chain33.fork.toml"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Merge(pnode, pforks); err != nil {
		t.Errorf("plugin chain33.toml + chain33.fork.toml: %v", err)
	}
}

// valuesOf lists a file's forks and parameters, without positions.
func valuesOf(f *File) string {
	var out []string
	for _, it := range f.Items {
		out = append(out, it.Key()+"="+FormatActivation(it.Activation, it.Domain))
	}
	for _, p := range f.Params {
		out = append(out, p.Name+"@"+p.Fork+"="+p.Value.Text)
	}
	sort.Strings(out)
	return strings.Join(out, "\n")
}
