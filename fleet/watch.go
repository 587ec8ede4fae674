package fleet

import (
	"context"
	"sync"
	"time"

	"github.com/forkgate/forkgate/upgradedoc"
)

// Watcher checks a fleet again and again, keeps the last report, updates
// the metrics and tells subscribers (the dashboard's live updates).
type Watcher struct {
	Targets  []Target
	Doc      *upgradedoc.Document // nil: the fleet's own checks only
	DocPath  string
	Phase    string
	Options  Options
	Interval time.Duration // 0: 2 s
	Metrics  *Metrics      // nil: none

	mu   sync.Mutex
	last *Report
	subs map[chan *Report]struct{}
}

// Once runs one check and publishes it.
func (w *Watcher) Once(ctx context.Context) (*Report, error) {
	snap := Collect(ctx, w.Targets, w.Options.Timeout)
	if w.Options.Hasher == nil {
		// One cache for the watcher's life: past hashes never change.
		w.Options.Hasher = &HTTPHasher{Timeout: w.Options.Timeout}
	}
	rep, err := Check(ctx, snap, w.Doc, w.DocPath, w.Phase, w.Options)
	if err != nil {
		return nil, err
	}
	if w.Metrics != nil {
		w.Metrics.Update(rep)
	}
	w.mu.Lock()
	w.last = rep
	for ch := range w.subs {
		select {
		case ch <- rep:
		default: // a slow subscriber misses an update, never blocks the watcher
		}
	}
	w.mu.Unlock()
	return rep, nil
}

// Run checks every Interval until ctx ends; each report goes to onReport
// when set.
func (w *Watcher) Run(ctx context.Context, onReport func(*Report, error)) {
	every := w.Interval
	if every <= 0 {
		every = 2 * time.Second
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		rep, err := w.Once(ctx)
		if onReport != nil && ctx.Err() == nil {
			onReport(rep, err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Last is the latest report (nil before the first).
func (w *Watcher) Last() *Report {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.last
}

// Subscribe returns a channel that receives each new report, and a
// function to stop.
func (w *Watcher) Subscribe() (<-chan *Report, func()) {
	ch := make(chan *Report, 1)
	w.mu.Lock()
	if w.subs == nil {
		w.subs = map[chan *Report]struct{}{}
	}
	w.subs[ch] = struct{}{}
	w.mu.Unlock()
	return ch, func() {
		w.mu.Lock()
		delete(w.subs, ch)
		w.mu.Unlock()
	}
}
