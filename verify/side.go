package verify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/forkgate/forkgate/chain"
	"github.com/forkgate/forkgate/node"
	"github.com/forkgate/forkgate/schedule"
	"github.com/forkgate/forkgate/state"
)

// A side is one build driving a home: this build in-process (the fast
// path) or another binary through the node CLI.
type side interface {
	String() string
	initHome(ctx context.Context, home string, c *Chain, configPath string) error
	// importFile replays a block file; a state hash mismatch or an
	// incompatible config is a *Finding.
	importFile(ctx context.Context, home, file string, progress func(int64)) error
	// upgrade imports a block file of heights 1..to, produces blocks
	// until the target (when above to), and returns the blocks the
	// home's block store then holds (readErr: they could not be read).
	// A side that can observes each executed block's outcomes with chk.
	// An in-process side takes over st (the home's state store, open) if
	// set; any other side gets it nil.
	upgrade(ctx context.Context, home, file string, to, until int64, g *chain.Genesis, progress func(int64), chk *outcomeCheck, st *state.Store) (blocks []*node.Block, err, readErr error)
	// execBlock runs ExecBlock with this side's build.
	execBlock(ctx context.Context, fixturePath, configPath string, height int64, dir string) (*ExecResult, error)
}

// Finding is a mismatch a node reported: a state hash that differs from
// the recorded one, or a config the node refuses for its data.
type Finding struct {
	Height  int64 // 0 when not tied to a block (or the genesis state)
	Config  bool  // an incompatible config, not a state hash
	Results bool  // the results or a transaction's writes differ, the state hash does not
	Genesis bool  // the genesis state differs
	Msg     string
}

func (f *Finding) Error() string { return f.Msg }

// inProcess is this build, through package node. Its nodes share one
// cache of transactions' stateless checks: they replay the same blocks.
type inProcess struct{ checks *chain.CheckCache }

func (inProcess) String() string { return "this build (in-process)" }

func (inProcess) initHome(_ context.Context, home string, c *Chain, configPath string) error {
	return node.Init(home, c.InitOptions(configPath))
}

func asFinding(err error) error {
	var me *node.MismatchError
	var ce *schedule.CompatError
	switch {
	case errors.As(err, &me) && !me.Stored:
		return &Finding{Height: me.Height, Msg: mismatchMsg(me.Height, fmt.Sprintf("%x", me.Expected), fmt.Sprintf("%x", me.Got))}
	case errors.As(err, &me):
		return &Finding{Height: me.Height, Msg: err.Error()}
	case errors.As(err, &ce):
		return &Finding{Config: true, Msg: err.Error()}
	}
	return err
}

// lineCounter calls fn once per line written (node.Import's progress lines).
type lineCounter struct{ fn func(int64) }

func (l lineCounter) Write(p []byte) (int, error) {
	if n := bytes.Count(p, []byte{'\n'}); n > 0 && l.fn != nil {
		l.fn(int64(n))
	}
	return len(p), nil
}

func (p inProcess) importFile(_ context.Context, home, file string, progress func(int64)) error {
	n, err := node.Open(home, node.Options{Log: io.Discard, Scratch: true, Checks: p.checks})
	if err != nil {
		return asFinding(err)
	}
	defer n.Close()
	_, err = n.Import(file, node.ImportOptions{Progress: lineCounter{progress}, ProgressEvery: 1})
	return asFinding(err)
}

// upgrade is one node session: open (the restart on the old data),
// import, produce, read back.
func (p inProcess) upgrade(ctx context.Context, home, file string, _, until int64, _ *chain.Genesis, progress func(int64), chk *outcomeCheck, st *state.Store) ([]*node.Block, error, error) {
	o := node.Options{Log: io.Discard, Scratch: true, Observer: chk, Checks: p.checks}
	if st != nil {
		o.OpenState = func(dir string, readOnly bool) (node.StateStore, error) {
			if s := st; s != nil && !readOnly {
				st = nil // once: a later open (a rewind) opens the store anew
				return s, nil
			}
			return state.Open(dir, state.Options{ReadOnly: readOnly, NoSync: true, MemTableSize: node.ScratchMemTable})
		}
		defer func() {
			if st != nil {
				st.Close() // the node never took it
			}
		}()
	}
	n, err := node.Open(home, o)
	if err != nil {
		return nil, asFinding(err), nil
	}
	defer n.Close()
	_, err = n.Import(file, node.ImportOptions{Progress: lineCounter{progress}, ProgressEvery: 1, Applied: chk.applied})
	if err == nil && until > n.Height() {
		err = n.Run(ctx, node.RunOptions{Until: until, OnBlock: func(node.BlockReport) {
			if progress != nil {
				progress(1)
			}
		}})
	}
	var blocks []*node.Block
	var readErr error
	for x := int64(1); x <= n.Blocks().Height() && x <= until; x++ {
		b, rerr := n.Blocks().Get(x)
		if rerr != nil {
			readErr = rerr
			break
		}
		blocks = append(blocks, b)
	}
	return blocks, asFinding(err), readErr
}

func (inProcess) execBlock(_ context.Context, fixturePath, configPath string, height int64, dir string) (*ExecResult, error) {
	f, err := ReadFixture(fixturePath)
	if err != nil {
		return nil, err
	}
	return ExecBlock(f, configPath, height, dir)
}

// binaryBuild is another build, driven through its CLI.
type binaryBuild struct{ path string }

func (b binaryBuild) String() string { return b.path }

// checkBinary checks that path is an executable file.
func checkBinary(path string) error {
	st, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("binary %s: %v", path, err)
	}
	if st.IsDir() || st.Mode()&0o111 == 0 {
		return fmt.Errorf("binary %s is not an executable file", path)
	}
	return nil
}

var (
	mismatchRE = regexp.MustCompile(`block (\d+): state hash mismatch`)
	hashesRE   = regexp.MustCompile(`records ([0-9a-f]{64}), this build computed ([0-9a-f]{64})`)
)

func mismatchMsg(h int64, expected, got string) string {
	return fmt.Sprintf("block %d: state hash mismatch: the fixture records %s, the new build computed %s", h, expected, got)
}

func (b binaryBuild) run(ctx context.Context, args ...string) error {
	cmd := exec.CommandContext(ctx, b.path, args...)
	var stderr, stdout bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if err == nil {
		return nil
	}
	msg := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(stderr.String()), "forkgate: "))
	var ee *exec.ExitError
	if errors.As(err, &ee) && ee.ExitCode() == 1 {
		if m := mismatchRE.FindStringSubmatch(msg); m != nil {
			h, _ := strconv.ParseInt(m[1], 10, 64)
			if hm := hashesRE.FindStringSubmatch(msg); hm != nil {
				msg = mismatchMsg(h, hm[1], hm[2])
			}
			return &Finding{Height: h, Msg: msg}
		}
		if strings.Contains(msg, "incompatible") {
			return &Finding{Config: true, Msg: msg}
		}
	}
	if msg == "" {
		msg = strings.TrimSpace(stdout.String())
	}
	return fmt.Errorf("%s %s: %v: %s", filepath.Base(b.path), strings.Join(args[:min(2, len(args))], " "), err, msg)
}

func (b binaryBuild) initHome(ctx context.Context, home string, c *Chain, configPath string) error {
	return b.run(ctx, c.InitArgs(home, configPath)...)
}

func (b binaryBuild) importFile(ctx context.Context, home, file string, _ func(int64)) error {
	return b.run(ctx, "node", "import", home, file, "--quiet")
}

// upgrade cannot observe outcomes through the node CLI: the results
// replay (verify-replay) compares them.
func (b binaryBuild) upgrade(ctx context.Context, home, file string, to, until int64, g *chain.Genesis, progress func(int64), _ *outcomeCheck, _ *state.Store) ([]*node.Block, error, error) {
	err := b.run(ctx, "node", "import", home, file, "--quiet")
	if err == nil && until > to {
		err = b.run(ctx, "node", "run", home, "--until", fmt.Sprint(until), "--http", "off", "--quiet")
	}
	_, blocks, readErr := blockHashes(home, g, 1, until)
	if progress != nil {
		progress(int64(len(blocks)))
	}
	return blocks, err, readErr
}

func (b binaryBuild) execBlock(ctx context.Context, fixturePath, configPath string, height int64, dir string) (*ExecResult, error) {
	out := dir + ".json"
	if err := b.run(ctx, "verify-exec", "--fixture", fixturePath, "--config", configPath, "--height", fmt.Sprint(height),
		"--dir", dir, "--out", out); err != nil {
		return nil, err
	}
	return readExecResult(out)
}

// replay has the binary execute the whole fixture (verify-replay) and
// report its genesis state and results. A build without the command (an
// older release) is reported as such.
func (b binaryBuild) replay(ctx context.Context, fixturePath, configPath, dir string) (*ReplayResult, error) {
	out := dir + ".json"
	if err := b.run(ctx, "verify-replay", "--fixture", fixturePath, "--config", configPath, "--dir", dir, "--out", out); err != nil {
		if strings.Contains(err.Error(), "unknown command") {
			return nil, fmt.Errorf("%s has no verify-replay command (an older release): only state hashes compared", filepath.Base(b.path))
		}
		return nil, err
	}
	var r ReplayResult
	if err := readResult(out, &r, &r.Format, ReplayFormat); err != nil {
		return nil, err
	}
	return &r, nil
}
