package main

import (
	"io"
	"os"
	"sync"

	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"
)

// bars shows one progress bar per chain on a terminal (verify.Progress).
type bars struct {
	p    *mpb.Progress
	mu   sync.Mutex
	bars map[string]*mpb.Bar
}

// newBars returns nil (no bars) with quiet or when w is not a terminal.
func newBars(w io.Writer, quiet bool) *bars {
	if quiet || !isTerminal(w) {
		return nil
	}
	return &bars{p: mpb.New(mpb.WithOutput(w), mpb.WithWidth(32)), bars: map[string]*mpb.Bar{}}
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

func (b *bars) Start(chain string, total int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.bars[chain] = b.p.AddBar(total,
		mpb.PrependDecorators(decor.Name(chain, decor.WC{W: 12, C: decor.DindentRight}), decor.CountersNoUnit("%d/%d blocks", decor.WC{W: 18})),
		mpb.AppendDecorators(decor.Percentage(decor.WC{W: 5}), decor.Name(" "), decor.Elapsed(decor.ET_STYLE_GO)))
}

func (b *bars) Add(chain string, n int64) {
	b.mu.Lock()
	bar := b.bars[chain]
	b.mu.Unlock()
	if bar != nil {
		bar.IncrInt64(n)
	}
}

func (b *bars) Finish(chain string, failed bool) {
	b.mu.Lock()
	bar := b.bars[chain]
	b.mu.Unlock()
	if bar == nil {
		return
	}
	if failed {
		bar.Abort(false)
		return
	}
	bar.SetTotal(-1, true)
}

// Wait stops the bars once every one is finished.
func (b *bars) Wait() {
	b.mu.Lock()
	for _, bar := range b.bars {
		if !bar.Completed() && !bar.Aborted() {
			bar.Abort(false)
		}
	}
	b.mu.Unlock()
	b.p.Wait()
}
