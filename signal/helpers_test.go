package signal

import (
	"bytes"
	"fmt"
	"reflect"
	"testing"

	"github.com/forkgate/forkgate/schedule"
)

func names(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("SR%d", i+1)
	}
	return out
}

// harness drives a controller with an auto-incrementing height.
type harness struct {
	t     testing.TB
	c     *Controller
	store *MemStore
	cfg   Config
	h     int64
	time  int64
}

func newHarness(t testing.TB, cfg Config, producers []string) *harness {
	t.Helper()
	st := NewMemStore()
	c, err := New(st, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Maintenance(0, 0, producers); err != nil {
		t.Fatal(err)
	}
	return &harness{t: t, c: c, store: st, cfg: cfg}
}

func (h *harness) block(producer string, v uint32) error {
	h.h++
	h.time += 3
	return h.c.ApplyBlock(h.h, h.time, producer, v)
}

func (h *harness) mustBlock(producer string, v uint32) {
	h.t.Helper()
	if err := h.block(producer, v); err != nil {
		h.t.Fatal(err)
	}
}

func (h *harness) maintenance(producers ...string) {
	h.t.Helper()
	if err := h.c.Maintenance(h.h+1, h.time+3, producers); err != nil {
		h.t.Fatal(err)
	}
}

func (h *harness) state(v uint32) State {
	h.t.Helper()
	s, _, ok := h.c.VersionState(v)
	if !ok {
		h.t.Fatalf("version %d not declared", v)
	}
	return s
}

func (h *harness) wantState(v uint32, want State) {
	h.t.Helper()
	if got := h.state(v); got != want {
		h.t.Fatalf("height %d: version %d is %v, want %v", h.h, v, got, want)
	}
}

func (h *harness) tally(v uint32) Tally {
	h.t.Helper()
	for _, vs := range h.c.Status().Versions {
		if vs.Version == v {
			return vs.Tally
		}
	}
	h.t.Fatalf("version %d not in status", v)
	return Tally{}
}

func vp(n uint32, rate uint32) schedule.VersionParams {
	return schedule.VersionParams{Number: n, Rate: rate}
}

func sameStores(a, b *MemStore) bool {
	ea, eb := a.Entries(), b.Entries()
	if len(ea) != len(eb) {
		return false
	}
	for i := range ea {
		if !bytes.Equal(ea[i].Key, eb[i].Key) || !bytes.Equal(ea[i].Value, eb[i].Value) {
			return false
		}
	}
	return true
}

func sameStatus(a, b *Controller) bool {
	return reflect.DeepEqual(a.Status(), b.Status())
}
