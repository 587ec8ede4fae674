package visor

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/cockroachdb/pebble"
	"github.com/forkgate/forkgate/atomicfile"
)

// A checkpoint is a home of its own under backups/<H>-<from>-<to>/home:
// config.toml, genesis.json, keys/ and data/ as they were when the old
// binary stopped. Pebble stores are checkpointed by Pebble (sstables
// hard-linked, MANIFEST and WAL copied), so the cost does not grow with
// the data; any other file is copied, except immutable table files
// (*.sst, *.ldb), which are hard-linked. A file that is appended to later
// (a WAL, a MANIFEST, a .log) is never linked: the live store would write
// into the backup.

// checkpointName is a switch's directory under backups/.
func checkpointName(height int64, from, to string) string {
	return fmt.Sprintf("%d-%s-%s", height, from, to)
}

func (l Layout) checkpointHome(name string) string {
	return filepath.Join(l.Backups(), name, "home")
}

// homeFiles are what a checkpoint home holds besides data/.
var homeFiles = []string{"config.toml", "genesis.json", "keys"}

// dataDirs are the directories of a home a checkpoint holds, relative to
// the home: forkgate's data, and CometBFT's when the node runs on it.
var dataDirs = []string{"data", filepath.Join("cometbft", "data")}

// keepNewest are files a restore never takes back: CometBFT's last signed
// height, round and step (an older one would let the validator sign twice).
var keepNewest = []string{"priv_validator_state.json"}

// takeCheckpoint writes the checkpoint of the stopped node's home. A
// directory left by an interrupted attempt is removed first.
func (l Layout) takeCheckpoint(name string) error {
	dir := filepath.Join(l.Backups(), name)
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	home := l.checkpointHome(name)
	if err := os.MkdirAll(home, 0o700); err != nil {
		return err
	}
	for _, f := range homeFiles {
		src := filepath.Join(l.Home, f)
		if _, err := os.Stat(src); err != nil {
			continue
		}
		if err := linkCopy(src, filepath.Join(home, f), false); err != nil {
			return err
		}
	}
	for _, rel := range dataDirs {
		if err := checkpointDir(filepath.Join(l.Home, rel), filepath.Join(home, rel)); err != nil {
			return err
		}
	}
	return syncTree(dir)
}

// checkpointDir checkpoints one data directory (absent: nothing to do).
func checkpointDir(from, to string) error {
	ents, err := os.ReadDir(from)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := os.MkdirAll(to, 0o700); err != nil {
		return err
	}
	for _, e := range ents {
		src, dst := filepath.Join(from, e.Name()), filepath.Join(to, e.Name())
		switch {
		case e.Name() == "http.addr": // the address of a process that is gone
		case e.IsDir() && isPebble(src):
			if err := pebbleCheckpoint(src, dst); err != nil {
				return fmt.Errorf("checkpoint of %s: %v", src, err)
			}
		default:
			if err := linkCopy(src, dst, true); err != nil {
				return fmt.Errorf("checkpoint of %s: %v", src, err)
			}
		}
	}
	return nil
}

// isPebble says whether dir holds a Pebble (or LevelDB-layout) store.
func isPebble(dir string) bool {
	m, _ := filepath.Glob(filepath.Join(dir, "OPTIONS-*"))
	return len(m) > 0 && fileExists(filepath.Join(dir, "CURRENT"))
}

// pebbleCheckpoint opens a stopped store and checkpoints it. The open is
// read-write because a read-only Pebble has no OPTIONS file of its own to
// link; it replays the WAL as the node's next open would, into a memtable
// as large as the state store's (64 MiB), so the replay writes no tables
// and the checkpoint copies the WAL: the cost is bounded by the memtable,
// not the data.
func pebbleCheckpoint(src, dst string) error {
	db, err := pebble.Open(src, &pebble.Options{Logger: quietLogger{}, MemTableSize: 64 << 20})
	if err != nil {
		return err
	}
	err = db.Checkpoint(dst)
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	return err
}

type quietLogger struct{}

func (quietLogger) Infof(string, ...any) {}
func (quietLogger) Fatalf(format string, args ...any) {
	panic(fmt.Sprintf("pebble: "+format, args...))
}

// restoreData puts the checkpoint's data directories back, keeping the
// ones it replaces under backups/<name>/failed/: nothing is deleted. Each
// step is idempotent, for a crash in the middle.
func (l Layout) restoreData(name string) error {
	for _, rel := range dataDirs {
		saved := filepath.Join(l.checkpointHome(name), rel)
		if _, err := os.Stat(saved); err != nil {
			continue
		}
		live := filepath.Join(l.Home, rel)
		failed := filepath.Join(l.Backups(), name, "failed", rel)
		if _, err := os.Stat(failed); os.IsNotExist(err) {
			if _, err := os.Stat(live); err == nil {
				if err := os.MkdirAll(filepath.Dir(failed), 0o700); err != nil {
					return err
				}
				if err := atomicfile.Rename(live, failed); err != nil {
					return err
				}
			}
		}
		if _, err := os.Stat(live); err == nil {
			continue // restored before a crash
		}
		tmp := live + ".restore"
		if err := os.RemoveAll(tmp); err != nil {
			return err
		}
		if err := linkCopy(saved, tmp, true); err != nil {
			return err
		}
		for _, f := range keepNewest {
			if b, err := os.ReadFile(filepath.Join(failed, f)); err == nil {
				if err := os.WriteFile(filepath.Join(tmp, f), b, 0o600); err != nil {
					return err
				}
			}
		}
		if err := syncTree(tmp); err != nil {
			return err
		}
		if err := atomicfile.Rename(tmp, live); err != nil {
			return err
		}
	}
	return nil
}

// linkCopy copies src (a file or a tree) to dst, hard-linking immutable
// table files when link is set.
func linkCopy(src, dst string, link bool) error {
	return filepath.Walk(src, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		to := filepath.Join(dst, rel)
		switch {
		case info.IsDir():
			return os.MkdirAll(to, 0o700)
		case info.Name() == "LOCK":
			return nil // a lock belongs to the process that holds it
		case link && (strings.HasSuffix(p, ".sst") || strings.HasSuffix(p, ".ldb")):
			if err := os.Link(p, to); err == nil {
				return nil
			}
		}
		if !info.Mode().IsRegular() {
			return nil
		}
		return copyFile(p, to, info.Mode().Perm())
	})
}

func copyFile(src, dst string, perm os.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, perm)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// copiedBytes estimates what a checkpoint writes: everything but the
// table files it links.
func copiedBytes(dir string) int64 {
	var n int64
	filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err == nil && info.Mode().IsRegular() && !strings.HasSuffix(p, ".sst") && !strings.HasSuffix(p, ".ldb") {
			n += info.Size()
		}
		return nil
	})
	return n
}

// freeBytes is the space available to this user on dir's file system.
func freeBytes(dir string) (int64, error) {
	var s syscall.Statfs_t
	if err := syscall.Statfs(dir, &s); err != nil {
		return 0, err
	}
	return int64(s.Bavail) * int64(s.Bsize), nil
}
