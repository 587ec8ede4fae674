package signal

import (
	"errors"
	"fmt"

	"github.com/forkgate/forkgate/codec"

	"github.com/forkgate/forkgate/schedule"
)

// slot is one producer's position in the period's set.
type slot struct {
	signal uint32 // latest signal this period (default mode); 0 = none yet
	last   uint32 // latest signal while in the set, kept across periods
}

// version is one declared version: its parameters, lifecycle and tally.
type version struct {
	p          schedule.VersionParams
	gate       int64 // effective earliest time (tron: rounded up to the interval)
	lc         lifecycle
	lockedAt   int64  // height from which it was locked in; 0 = never
	activeTime int64  // time of the block whose processing activated it
	carriedBy  uint32 // the higher version whose pass carried this one; 0 = its own tally
	// bits: default mode, the slots that supported it when it locked in
	// (frozen tally); tron mode, java-tron's stats array (nil = null).
	bits  []byte
	ones  int // 1s in bits
	live  int // default mode: slots whose period signal >= this version
	dirty bool
}

// Controller tracks signals and version lifecycles for one chain. It is not
// safe for concurrent use; the chain calls it from block processing.
//
// After the chain rolls its state back (a reorg), build a new Controller over
// the store: in-memory caches are not rolled back with the store.
type Controller struct {
	cfg   Config
	store Store
	vers  []version
	set   []string
	index map[string]int
	slots []slot

	latest    uint32 // tron: java-tron's latestVersion (VERSION_NUMBER)
	periods   uint64 // maintenances processed
	firstOpen uint64 // lowest id of an open proposal
	nextID    uint64 // id of the next proposal
	props     []*proposal
	params    []int64 // current values, in cfg.Params order

	halt   *HaltError // derived from state and Implemented; never stored
	broken error      // a store error: rebuild from the store

	// The last input's height and time, to refuse time going back. Kept in
	// memory only: storing them would change the committed state (and every
	// recorded state hash); the chain checks block times on import too.
	lastHeight, lastTime int64
	timeKnown            bool

	// unimplemented is the index in vers of the lowest version above
	// Implemented (len(vers) when there is none): only those can halt.
	unimplemented int

	kbuf, vbuf []byte
	w          codec.Writer
}

// ErrInput marks bad arguments (the caller's bug); state is unchanged.
var ErrInput = errors.New("invalid input")

// New opens the controller over store, resuming from whatever it holds.
func New(store Store, cfg Config) (*Controller, error) {
	cfg, err := cfg.normalized()
	if err != nil {
		return nil, fmt.Errorf("signal config: %w", err)
	}
	c := &Controller{cfg: cfg, store: store, index: map[string]int{}, nextID: 1, firstOpen: 1}
	c.vers = make([]version, len(cfg.Versions))
	for i, p := range cfg.Versions {
		c.vers[i].p = p
		c.vers[i].gate = p.Time
		if cfg.Mode == ModeTron {
			c.vers[i].gate = tronGate(p.Time, cfg.MaintenanceInterval)
		}
	}
	c.unimplemented = len(c.vers)
	for i := len(c.vers) - 1; i >= 0 && c.vers[i].p.Number > cfg.Implemented; i-- {
		c.unimplemented = i
	}
	c.params = make([]int64, len(cfg.Params))
	for i, p := range cfg.Params {
		c.params[i] = p.Default
	}
	if err := c.load(); err != nil {
		return nil, err
	}
	c.checkHalt()
	return c, nil
}

// Mode is the controller's mode.
func (c *Controller) Mode() Mode { return c.cfg.Mode }

// Halted returns the halt error once a version this binary does not
// implement is active, and nil before.
func (c *Controller) Halted() error {
	if c.halt == nil {
		return nil
	}
	return c.halt
}

// ActivationHeight implements schedule.VersionOracle: the height from which
// version v is active.
func (c *Controller) ActivationHeight(v uint32) (int64, bool) {
	if i := c.find(v); i >= 0 && c.vers[i].lc.State == Active {
		return c.vers[i].lc.Since, true
	}
	return 0, false
}

var _ schedule.VersionOracle = (*Controller)(nil)

// VersionState returns a declared version's state and the height since
// which it holds.
func (c *Controller) VersionState(v uint32) (State, int64, bool) {
	if i := c.find(v); i >= 0 {
		return c.vers[i].lc.State, c.vers[i].lc.Since, true
	}
	return 0, 0, false
}

// find returns the index of declared version v, or -1.
func (c *Controller) find(v uint32) int {
	lo, hi := 0, len(c.vers)
	for lo < hi {
		m := (lo + hi) / 2
		if c.vers[m].p.Number < v {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo < len(c.vers) && c.vers[lo].p.Number == v {
		return lo
	}
	return -1
}

// usable refuses input once the store failed, and input for a height this
// binary must not process: at or above a halt's height. Blocks below it are
// still valid under the versions this binary implements (the block whose
// maintenance locks a version in is one), and must be recorded exactly as a
// newer binary records them, or the two would commit different state.
func (c *Controller) usable(height int64) error {
	if c.broken != nil {
		return c.broken
	}
	if c.halt != nil && height >= c.halt.Height {
		return c.halt
	}
	return nil
}

func (c *Controller) fail(err error) error {
	c.broken = fmt.Errorf("signal: the store failed (%w); the controller is unusable: rebuild it from the committed store", err)
	return c.broken
}

// ApplyBlock records one applied block: its height, time (unix seconds,
// never before the previous input's), producer and signalled version. Call
// it after the block executed. A producer outside the period's set is
// ignored, but the block's time still moves time-based transitions. It
// returns a *HaltError when a version this binary does not implement has
// become active, and an ErrInput error, with the state unchanged, when the
// time goes back.
func (c *Controller) ApplyBlock(height, time int64, producer string, v uint32) error {
	if err := c.usable(height); err != nil {
		return err
	}
	if err := c.checkTime(height, time); err != nil {
		return err
	}
	s, ok := c.index[producer]
	var err error
	if c.cfg.Mode == ModeTron {
		err = c.tronBlock(height, time, s, ok, v)
	} else {
		err = c.defaultBlock(height, time, s, ok, v)
	}
	if err == nil {
		err = c.flushVersions()
	}
	if err != nil {
		return c.fail(err)
	}
	return c.checkHalt()
}

// Maintenance starts a new period with producers (slot order) as its frozen
// set. Call it once with the genesis set before the first block, then while
// processing each maintenance block, before that block's ApplyBlock: the
// maintenance block is counted against the new set, as in java-tron. Open
// proposals are decided against the outgoing set first.
func (c *Controller) Maintenance(height, time int64, producers []string) error {
	if err := c.usable(height); err != nil {
		return err
	}
	if err := ValidateSet(producers); err != nil {
		return fmt.Errorf("%w: maintenance at height %d: %w", ErrInput, height, err)
	}
	if err := c.checkTime(height, time); err != nil {
		return err
	}
	if err := c.maintenance(height, time, producers); err != nil {
		return c.fail(err)
	}
	return c.checkHalt()
}

// checkTime refuses an input whose time is before the previous input's
// (equal times are fine: a maintenance and its block share one), before
// anything changes. Time-based transitions (start, timeout, tron's gate)
// assume time only moves forward.
func (c *Controller) checkTime(height, time int64) error {
	if c.timeKnown && time < c.lastTime {
		return fmt.Errorf("%w: block %d has time %d, before %d, the time of block %d: block times must not decrease; refuse the block (or fix the clock of its producer)",
			ErrInput, height, time, c.lastTime, c.lastHeight)
	}
	c.lastHeight, c.lastTime, c.timeKnown = height, time, true
	return nil
}

// ValidateSet checks a producer set as Maintenance does: non-empty, within
// MaxProducers, no empty or repeated id. The error says what to fix.
func ValidateSet(producers []string) error {
	if len(producers) == 0 {
		return fmt.Errorf("the producer set is empty: pass at least one producer")
	}
	if len(producers) > MaxProducers {
		return fmt.Errorf("%d producers exceed the limit of %d: elect fewer", len(producers), MaxProducers)
	}
	seen := make(map[string]struct{}, len(producers))
	for i, p := range producers {
		if p == "" {
			return fmt.Errorf("producer %d of the set has an empty id: give every producer an id", i+1)
		}
		if _, dup := seen[p]; dup {
			return fmt.Errorf("producer %q appears twice in the set: each producer has one slot, list it once", p)
		}
		seen[p] = struct{}{}
	}
	return nil
}

func (c *Controller) maintenance(height, time int64, producers []string) error {
	if err := c.decideProposals(); err != nil {
		return err
	}
	// Install the new set; a producer that stays keeps its last signal.
	slots := make([]slot, len(producers))
	index := make(map[string]int, len(producers))
	for i, p := range producers {
		index[p] = i
		if j, ok := c.index[p]; ok {
			slots[i].last = c.slots[j].last
		}
	}
	oldN := len(c.slots)
	c.set = append([]string(nil), producers...)
	c.index, c.slots = index, slots
	if err := c.saveSet(); err != nil {
		return err
	}
	for i := range c.slots {
		if err := c.saveSlot(i); err != nil {
			return err
		}
	}
	for i := len(c.slots); i < oldN; i++ {
		c.kbuf = appendKey32(c.kbuf, prefixSlot, uint32(i))
		if err := c.store.Delete(c.kbuf); err != nil {
			return err
		}
	}
	if c.cfg.Mode == ModeTron {
		c.tronReset()
	} else {
		// Reset after the new set is in place: support for unpassed versions
		// starts from zero against the new set (TIP-555's ordering).
		for i := range c.vers {
			c.vers[i].live = 0
		}
		c.evaluate(event{Height: height, Time: time, Maintenance: true})
	}
	c.periods++
	if err := c.saveMeta(); err != nil {
		return err
	}
	return c.flushVersions()
}

func (c *Controller) flushVersions() error {
	for i := range c.vers {
		if c.vers[i].dirty {
			if err := c.saveVersion(i); err != nil {
				return err
			}
			c.vers[i].dirty = false
		}
	}
	return nil
}

// HaltError says this binary cannot process blocks past a version's
// activation: the chain must stop there and be upgraded. It never diverges
// silently.
type HaltError struct {
	Version     uint32 // lowest active version this binary does not implement
	Height      int64  // the height from which it is active: the first block this binary must not process
	Release     string // the release that implements it (from config)
	Implemented uint32 // the highest version this binary implements
}

func (e *HaltError) Error() string {
	rel := e.Release
	if rel == "" {
		rel = fmt.Sprintf("a release that implements version %d", e.Version)
	} else {
		rel = "release " + rel + " or later"
	}
	return fmt.Sprintf("protocol version %d is active from height %d, but this binary implements versions up to %d: stop before block %d and upgrade to %s",
		e.Version, e.Height, e.Implemented, e.Height, rel)
}

func (c *Controller) checkHalt() error {
	if c.halt != nil {
		return c.halt
	}
	for i := c.unimplemented; i < len(c.vers); i++ {
		v := &c.vers[i]
		if v.lc.State == Active {
			c.halt = &HaltError{Version: v.p.Number, Height: v.lc.Since, Release: v.p.Release, Implemented: c.cfg.Implemented}
			return c.halt
		}
	}
	return nil
}
