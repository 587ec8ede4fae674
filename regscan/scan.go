// Package regscan finds fork registrations in Go source, so that chains whose
// code is not forkgate's (Chain33 and its plugins) get a registry of the
// forks their binary registers, and lint can name a fork the binary knows but
// a config lacks (the case where a Chain33 node panics at start-up).
//
// It reads source with go/parser and go/ast, never regular expressions, and
// understands:
//   - Chain33's API: cfg.RegisterDappFork(dapp, fork, height),
//     cfg.SetDappFork(dapp, fork, height) (executor forks) and
//     f.SetFork(fork, height) / f.setFork / RegisterFork (system forks, or
//     executor forks when the key is "exec.Fork"), in any function (InitFork
//     functions registered with types.RegFork included);
//   - forkgate's own declarations: schedule.Fork{Scope: …, Name: …,
//     Default: …} composite literals.
//
// Arguments may be string literals, constants (of the same package or, by
// selector, of any scanned package with that name: pty.TokenX), package
// variables given a constant value, and local variables assigned one before
// the call. Heights may be integer literals, -1, conversions such as
// int64(30), and integer constants. A registration whose names cannot be
// resolved statically is reported as skipped, with its position.
package regscan

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// Found is one fork registration.
type Found struct {
	Scope  string // "system" or an executor
	Name   string
	Height int64 // -1: never
	Exact  bool  // the height was resolved (else Height is 0)
	Call   string
	Pos    string // file:line
}

// Key is "scope.Name".
func (f Found) Key() string { return f.Scope + "." + f.Name }

// Result is a scan's outcome.
type Result struct {
	Forks   []Found  // one per key, sorted; the first registration wins
	Skipped []string // registrations whose names could not be resolved, with positions
	Files   int      // Go files read
	Broken  []string // files that do not parse (templates and the like), skipped
}

// Scan reads every non-test .go file under the directories (testdata and
// vendor trees skipped).
func Scan(dirs ...string) (*Result, error) {
	s := &scanner{fset: token.NewFileSet(), consts: map[string]map[string]ast.Expr{}, byTail: map[string][]string{}}
	var files []*parsedFile
	for _, dir := range dirs {
		st, err := os.Stat(dir)
		if err != nil {
			return nil, err
		}
		if !st.IsDir() {
			return nil, fmt.Errorf("%s is not a directory", dir)
		}
		err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				if n := d.Name(); path != dir && (n == "testdata" || n == "vendor" || strings.HasPrefix(n, ".")) {
					return filepath.SkipDir
				}
				return nil
			}
			if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return nil
			}
			name := path
			if rel, err := filepath.Rel(dir, path); err == nil {
				name = filepath.ToSlash(filepath.Join(filepath.Base(dir), rel))
			}
			src, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			f, err := parser.ParseFile(s.fset, name, src, parser.SkipObjectResolution)
			if err != nil {
				s.res.Broken = append(s.res.Broken, name)
				return nil
			}
			s.res.Files++
			pf := &parsedFile{path: path, dir: filepath.ToSlash(filepath.Dir(path)), f: f}
			files = append(files, pf)
			s.collect(pf)
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	// A fork is registered once (RegisterDappFork, or SetFork in Chain33's
	// RegisterSystemFork) and may be set again elsewhere for a test network
	// (SetDappFork): the registration gives the default.
	at := map[string]int{}
	for _, pf := range files {
		for _, fd := range s.calls(pf) {
			i, seen := at[fd.Key()]
			switch {
			case !seen:
				at[fd.Key()] = len(s.res.Forks)
				s.res.Forks = append(s.res.Forks, fd)
			case !isRegister(s.res.Forks[i].Call) && isRegister(fd.Call):
				s.res.Forks[i] = fd
			}
		}
	}
	sort.Slice(s.res.Forks, func(i, j int) bool { return s.res.Forks[i].Key() < s.res.Forks[j].Key() })
	sort.Strings(s.res.Skipped)
	return &s.res, nil
}

func isRegister(call string) bool {
	return strings.HasPrefix(call, "Register") || call == "schedule.Fork"
}

type parsedFile struct {
	path string
	dir  string // the package: its directory
	f    *ast.File
}

type scanner struct {
	fset   *token.FileSet
	consts map[string]map[string]ast.Expr // package directory -> identifier -> value expression
	byTail map[string][]string            // last two path segments -> package directories
	res    Result
}

func tail(path string) string {
	parts := strings.Split(strings.Trim(path, "/"), "/")
	if len(parts) > 2 {
		parts = parts[len(parts)-2:]
	}
	return strings.Join(parts, "/")
}

// imports maps a file's import names to the scanned package directories
// they refer to, matched by the import path's last two segments
// (github.com/33cn/plugin/plugin/dapp/token/types -> .../dapp/token/types).
func (s *scanner) imports(f *ast.File) map[string]string {
	m := map[string]string{}
	for _, im := range f.Imports {
		path, err := strconv.Unquote(im.Path.Value)
		if err != nil {
			continue
		}
		dirs := s.byTail[tail(path)]
		if len(dirs) == 0 {
			continue
		}
		dir := dirs[0]
		for _, d := range dirs { // several versions scanned: the longest match
			if strings.HasSuffix(d, path[strings.Index(path, "/")+1:]) {
				dir = d
			}
		}
		name := path[strings.LastIndexByte(path, '/')+1:]
		if im.Name != nil {
			name = im.Name.Name
		}
		m[name] = dir
	}
	return m
}

// collect records package-level constants and variables with one value.
func (s *scanner) collect(pf *parsedFile) {
	f := pf.f
	pkg := pf.dir
	m := s.consts[pkg]
	if m == nil {
		m = map[string]ast.Expr{}
		s.consts[pkg] = m
		s.byTail[tail(pkg)] = append(s.byTail[tail(pkg)], pkg)
	}
	for _, decl := range f.Decls {
		gd, ok := decl.(*ast.GenDecl)
		if !ok || (gd.Tok != token.CONST && gd.Tok != token.VAR) {
			continue
		}
		for _, spec := range gd.Specs {
			vs := spec.(*ast.ValueSpec)
			for i, n := range vs.Names {
				if i < len(vs.Values) {
					if _, dup := m[n.Name]; !dup {
						m[n.Name] = vs.Values[i]
					}
				}
			}
		}
	}
}

// env resolves identifiers: locals of the function being read, then the
// package's, then (for selectors) any scanned package of that name.
type env struct {
	pkg     string            // package directory
	imports map[string]string // import name -> package directory
	locals  map[string]ast.Expr
	params  map[string]bool // the enclosing function's parameters
}

func (s *scanner) str(e ast.Expr, en env, depth int) (string, bool) {
	if depth > 16 {
		return "", false
	}
	switch x := e.(type) {
	case *ast.BasicLit:
		if x.Kind == token.STRING {
			v, err := strconv.Unquote(x.Value)
			return v, err == nil
		}
	case *ast.Ident, *ast.SelectorExpr:
		if v, ven, ok := s.resolve(x, en); ok {
			return s.str(v, ven, depth+1)
		}
	case *ast.BinaryExpr:
		if x.Op == token.ADD {
			a, ok1 := s.str(x.X, en, depth+1)
			b, ok2 := s.str(x.Y, en, depth+1)
			return a + b, ok1 && ok2
		}
	case *ast.ParenExpr:
		return s.str(x.X, en, depth+1)
	}
	return "", false
}

func (s *scanner) integer(e ast.Expr, en env, depth int) (int64, bool) {
	if depth > 16 {
		return 0, false
	}
	switch x := e.(type) {
	case *ast.BasicLit:
		if x.Kind == token.INT {
			v, err := strconv.ParseInt(strings.ReplaceAll(x.Value, "_", ""), 0, 64)
			return v, err == nil
		}
	case *ast.UnaryExpr:
		if x.Op == token.SUB {
			v, ok := s.integer(x.X, en, depth+1)
			return -v, ok
		}
	case *ast.ParenExpr:
		return s.integer(x.X, en, depth+1)
	case *ast.CallExpr: // int64(30)
		if id, ok := x.Fun.(*ast.Ident); ok && len(x.Args) == 1 && strings.HasPrefix(id.Name, "int") {
			return s.integer(x.Args[0], en, depth+1)
		}
	case *ast.Ident, *ast.SelectorExpr:
		if v, ven, ok := s.resolve(x, en); ok {
			return s.integer(v, ven, depth+1)
		}
	}
	return 0, false
}

// resolve follows an identifier (a local assigned before, or a package
// constant or variable) or a selector into another scanned package to the
// expression that defines it.
func (s *scanner) resolve(e ast.Expr, en env) (ast.Expr, env, bool) {
	switch x := e.(type) {
	case *ast.Ident:
		if v, ok := en.locals[x.Name]; ok {
			return v, env{pkg: en.pkg, imports: en.imports}, true
		}
		if v, ok := s.consts[en.pkg][x.Name]; ok {
			return v, env{pkg: en.pkg, imports: en.imports}, true
		}
	case *ast.SelectorExpr:
		if p, ok := x.X.(*ast.Ident); ok {
			if dir, ok := en.imports[p.Name]; ok {
				if v, ok := s.consts[dir][x.Sel.Name]; ok {
					return v, env{pkg: dir}, true
				}
			}
		}
	}
	return nil, env{}, false
}

// calls finds the registrations in one file, function by function, with the
// simple assignments made before each call in scope.
func (s *scanner) calls(pf *parsedFile) []Found {
	var out []Found
	imports := s.imports(pf.f)
	for _, decl := range pf.f.Decls {
		var body ast.Node = decl
		en := env{pkg: pf.dir, imports: imports, locals: map[string]ast.Expr{}, params: map[string]bool{}}
		if fd, ok := decl.(*ast.FuncDecl); ok && fd.Type.Params != nil {
			for _, f := range fd.Type.Params.List {
				for _, n := range f.Names {
					en.params[n.Name] = true
				}
			}
		}
		ast.Inspect(body, func(n ast.Node) bool {
			switch x := n.(type) {
			case *ast.AssignStmt:
				if len(x.Lhs) == len(x.Rhs) {
					for i, l := range x.Lhs {
						if id, ok := l.(*ast.Ident); ok {
							en.locals[id.Name] = x.Rhs[i]
						}
					}
				}
			case *ast.CallExpr:
				if fd, ok := s.registration(x, en, pf.path); ok {
					out = append(out, fd)
				}
			case *ast.CompositeLit:
				if fd, ok := s.declaration(x, en, pf.path); ok {
					out = append(out, fd)
				}
			}
			return true
		})
	}
	return out
}

func callName(c *ast.CallExpr) string {
	switch f := c.Fun.(type) {
	case *ast.SelectorExpr:
		return f.Sel.Name
	case *ast.Ident:
		return f.Name
	}
	return ""
}

func (s *scanner) pos(p token.Pos) string {
	ps := s.fset.Position(p)
	return fmt.Sprintf("%s:%d", ps.Filename, ps.Line)
}

func (s *scanner) registration(c *ast.CallExpr, en env, path string) (Found, bool) {
	name := callName(c)
	var scopeArg, nameArg, heightArg ast.Expr
	switch name {
	case "RegisterDappFork", "SetDappFork":
		if len(c.Args) != 3 {
			return Found{}, false
		}
		scopeArg, nameArg, heightArg = c.Args[0], c.Args[1], c.Args[2]
	case "SetFork", "setFork", "RegisterFork":
		if len(c.Args) != 2 {
			return Found{}, false
		}
		nameArg, heightArg = c.Args[0], c.Args[1]
	default:
		return Found{}, false
	}
	fd := Found{Scope: "system", Call: name, Pos: s.pos(c.Pos())}
	// A call that forwards its own parameters is the API's implementation
	// (or a wrapper), not a registration.
	for _, a := range []ast.Expr{scopeArg, nameArg} {
		if id, ok := a.(*ast.Ident); ok && en.params[id.Name] {
			return Found{}, false
		}
	}
	if scopeArg != nil {
		v, ok := s.str(scopeArg, en, 0)
		if !ok {
			s.res.Skipped = append(s.res.Skipped, fmt.Sprintf("%s: %s: executor name not a constant", fd.Pos, name))
			return Found{}, false
		}
		fd.Scope = v
	}
	v, ok := s.str(nameArg, en, 0)
	if !ok {
		s.res.Skipped = append(s.res.Skipped, fmt.Sprintf("%s: %s: fork name not a constant", fd.Pos, name))
		return Found{}, false
	}
	fd.Name = v
	if scopeArg == nil {
		if i := strings.IndexByte(v, '.'); i > 0 {
			fd.Scope, fd.Name = v[:i], v[i+1:]
		}
	}
	fd.Height, fd.Exact = s.integer(heightArg, en, 0)
	return fd, fd.Scope != "" && fd.Name != ""
}

// declaration reads forkgate's own schedule.Fork{...} literals.
func (s *scanner) declaration(c *ast.CompositeLit, en env, path string) (Found, bool) {
	sel, ok := c.Type.(*ast.SelectorExpr)
	if !ok || sel.Sel.Name != "Fork" {
		return Found{}, false
	}
	if p, ok := sel.X.(*ast.Ident); !ok || p.Name != "schedule" {
		return Found{}, false
	}
	fd := Found{Call: "schedule.Fork", Pos: s.pos(c.Pos()), Height: -1, Exact: true}
	for _, el := range c.Elts {
		kv, ok := el.(*ast.KeyValueExpr)
		if !ok {
			continue
		}
		k, _ := kv.Key.(*ast.Ident)
		if k == nil {
			continue
		}
		switch k.Name {
		case "Scope":
			fd.Scope, _ = s.str(kv.Value, en, 0)
		case "Name":
			fd.Name, _ = s.str(kv.Value, en, 0)
		case "Default":
			// schedule.AtHeight(N), schedule.Genesis(); anything else
			// (versions, times) has no height.
			if call, ok := kv.Value.(*ast.CallExpr); ok {
				switch callName(call) {
				case "AtHeight":
					if len(call.Args) == 1 {
						fd.Height, fd.Exact = s.integer(call.Args[0], en, 0)
					}
				case "Genesis":
					fd.Height = 0
				default:
					fd.Exact = false
				}
			}
		}
	}
	return fd, fd.Scope != "" && fd.Name != ""
}
