package signal

import (
	"fmt"
	"testing"

	"github.com/forkgate/forkgate/schedule"
)

func benchVersions(mode Mode) []schedule.VersionParams {
	if mode == ModeTron {
		return tronEnum()
	}
	var vs []schedule.VersionParams
	for n := uint32(1); n <= 16; n++ {
		vs = append(vs, schedule.VersionParams{Number: n, Rate: 80, Grace: 1})
	}
	return vs
}

func benchController(b *testing.B, mode Mode, n int) (*Controller, []string) {
	set := names(n)
	c, err := New(NewMemStore(), Config{Mode: mode, Versions: benchVersions(mode), MaintenanceInterval: 21600, Implemented: 40})
	if err != nil {
		b.Fatal(err)
	}
	if err := c.Maintenance(0, hardForkTime, set); err != nil {
		b.Fatal(err)
	}
	return c, set
}

// BenchmarkApplyBlock is the steady state: every producer keeps signalling
// the version it signalled before (the common case between upgrades).
func BenchmarkApplyBlock(b *testing.B) {
	for _, mode := range []Mode{ModeDefault, ModeTron} {
		for _, n := range []int{27, 1024} {
			b.Run(fmt.Sprintf("%v/producers=%d", mode, n), func(b *testing.B) {
				c, set := benchController(b, mode, n)
				v := uint32(8) // below the 80% versions: they stay pending (the costlier path)
				h := int64(0)
				for i := 0; i < 2*n; i++ { // warm up: every slot has signalled
					h++
					if err := c.ApplyBlock(h, hardForkTime+h*3, set[i%n], v); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					h++
					if err := c.ApplyBlock(h, hardForkTime+h*3, set[i%n], v); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkApplyBlockChanging alternates each producer's signal, so every
// block rewrites its slot (default) or a stats array (tron).
func BenchmarkApplyBlockChanging(b *testing.B) {
	for _, mode := range []Mode{ModeDefault, ModeTron} {
		for _, n := range []int{27, 1024} {
			b.Run(fmt.Sprintf("%v/producers=%d", mode, n), func(b *testing.B) {
				c, set := benchController(b, mode, n)
				h := int64(0)
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					h++
					v := uint32(5 + (i/n)%2) // flips 5 <-> 6 every round; neither reaches 100%
					if mode == ModeDefault {
						v = uint32(1 + (i/n)%2)
					}
					if err := c.ApplyBlock(h, hardForkTime+h*3, set[i%n], v); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkMaintenance is the cost of one maintenance: decide proposals,
// install the set, reset every pending tally.
func BenchmarkMaintenance(b *testing.B) {
	for _, mode := range []Mode{ModeDefault, ModeTron} {
		for _, n := range []int{27, 1024} {
			b.Run(fmt.Sprintf("%v/producers=%d", mode, n), func(b *testing.B) {
				c, set := benchController(b, mode, n)
				for i, p := range set {
					if err := c.ApplyBlock(int64(i+1), hardForkTime, p, 30); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					if err := c.Maintenance(int64(n+i), hardForkTime, set); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
