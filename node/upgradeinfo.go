package node

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/forkgate/forkgate/atomicfile"
	"github.com/forkgate/forkgate/buildinfo"
	"github.com/forkgate/forkgate/nodestatus"
	"github.com/forkgate/forkgate/signal"
)

// UpgradeInfo is HOME/data/upgrade-info.json (nodestatus.UpgradeInfo).
type UpgradeInfo = nodestatus.UpgradeInfo

// UpgradeInfoPath is where a node records that it needs a new binary.
func UpgradeInfoPath(home string) string {
	return filepath.Join(Home(home).Data(), "upgrade-info.json")
}

// UpgradeNeededError is a halt whose upgrade-info.json was written: the
// CLI exits with code 3 on it.
type UpgradeNeededError struct {
	Info *UpgradeInfo
	Path string
	Err  *signal.HaltError
}

func (e *UpgradeNeededError) Error() string {
	return fmt.Sprintf("%v (upgrade needed: %s written)", e.Err, e.Path)
}

func (e *UpgradeNeededError) Unwrap() error { return e.Err }

// AsHalt returns the signal halt in err, if any.
func AsHalt(err error) (*signal.HaltError, bool) {
	var he *signal.HaltError
	ok := errors.As(err, &he)
	return he, ok
}

// RecordHalt writes HOME/data/upgrade-info.json for the halt in err (atomic
// write and fsync, then the directory fsync) and returns an
// *UpgradeNeededError wrapping it. An err that is not a halt comes back
// unchanged; a failed write is returned with the halt.
func (n *Node) RecordHalt(err error) error { return n.recordHalt(err, "solo") }

func (n *Node) recordHalt(err error, how string) error {
	he, ok := AsHalt(err)
	if !ok {
		return err
	}
	var ue *UpgradeNeededError
	if errors.As(err, &ue) {
		return err
	}
	sh := n.l.cfg.Schedule.Snapshot().Hash()
	info := &UpgradeInfo{Format: nodestatus.UpgradeInfoFormat, Version: he.Version, Height: he.Height, Release: he.Release,
		Implemented: he.Implemented, Binary: buildinfo.Version, ScheduleHash: hex.EncodeToString(sh[:]),
		Time: time.Now().UTC().Format(time.RFC3339), Reason: he.Error(), Path: how}
	if n.state != nil {
		info.StateHeight = n.state.Height()
	}
	path := UpgradeInfoPath(string(n.l.home))
	b, jerr := json.MarshalIndent(info, "", "  ")
	if jerr == nil {
		jerr = atomicfile.Write(path, append(b, '\n'), 0o644)
	}
	if jerr != nil {
		return errors.Join(err, fmt.Errorf("write %s: %v", path, jerr))
	}
	return &UpgradeNeededError{Info: info, Path: path, Err: he}
}

// ReadUpgradeInfo reads HOME/data/upgrade-info.json; nil, nil when there is
// none.
func ReadUpgradeInfo(home string) (*UpgradeInfo, error) {
	path := UpgradeInfoPath(home)
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var info UpgradeInfo
	if err := json.Unmarshal(b, &info); err != nil {
		return nil, fmt.Errorf("%s: %v (a supervisor writes nothing here; remove the file if it is damaged)", path, err)
	}
	if info.Format != nodestatus.UpgradeInfoFormat {
		return nil, fmt.Errorf("%s: format %d, this build reads format %d", path, info.Format, nodestatus.UpgradeInfoFormat)
	}
	return &info, nil
}
