package signal

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/forkgate/forkgate/schedule"
)

// input is one random step: a block, or a maintenance when set != nil.
type input struct {
	producer string
	version  uint32
	dt       int64
	set      []string
}

func randomInputs(r *rand.Rand, n int) []input {
	pool := names(9)
	out := make([]input, n)
	for i := range out {
		if r.IntN(12) == 0 {
			size := 1 + r.IntN(len(pool))
			perm := r.Perm(len(pool))[:size] // grows, shrinks and reorders
			set := make([]string, size)
			for j, k := range perm {
				set[j] = pool[k]
			}
			out[i] = input{set: set, dt: 3}
			continue
		}
		p := pool[r.IntN(len(pool))]
		if r.IntN(20) == 0 {
			p = "OUTSIDER"
		}
		out[i] = input{producer: p, version: uint32(r.IntN(7)), dt: int64(r.IntN(40))}
	}
	return out
}

func propertyConfig(mode Mode, r *rand.Rand) Config {
	if mode == ModeTron {
		var vs []schedule.VersionParams
		for _, n := range []uint32{5, 6, 8, 9} {
			rate := uint32(50 + r.IntN(51))
			vs = append(vs, schedule.VersionParams{Number: n, Rate: rate, Time: int64(r.IntN(2000))})
		}
		return Config{Mode: ModeTron, MaintenanceInterval: 300, Versions: vs}
	}
	var vs []schedule.VersionParams
	for n := uint32(1); n <= 5; n++ {
		p := schedule.VersionParams{Number: n, Rate: uint32(40 + r.IntN(61)), Time: int64(r.IntN(1500)),
			Grace: uint32(r.IntN(3)), MinHeight: int64(r.IntN(200))}
		if r.IntN(3) == 0 {
			p.Timeout = p.Time + int64(r.IntN(3000))
		}
		vs = append(vs, p)
	}
	return Config{Versions: vs}
}

// apply feeds one input; tron versions are offset so that signals 0..6
// exercise the ignore-below-5 rule as well as real versions.
func apply(c *Controller, mode Mode, h, t int64, in input) error {
	if in.set != nil {
		return c.Maintenance(h, t, in.set)
	}
	v := in.version
	if mode == ModeTron {
		v += 3
	}
	return c.ApplyBlock(h, t, in.producer, v)
}

func TestProperties(t *testing.T) {
	for _, mode := range []Mode{ModeDefault, ModeTron} {
		for seed := uint64(1); seed <= 120; seed++ {
			t.Run(fmt.Sprintf("%v/seed=%d", mode, seed), func(t *testing.T) {
				r := rand.New(rand.NewPCG(seed, 7))
				cfg := propertyConfig(mode, r)
				ins := randomInputs(r, 250)
				restartAt := r.IntN(len(ins))

				a := NewMemStore()
				ca, err := New(a, cfg)
				if err != nil {
					t.Fatal(err)
				}
				if err := ca.Maintenance(0, 0, names(5)); err != nil {
					t.Fatal(err)
				}
				b := a.Clone() // restarted twin
				cb, err := New(b, cfg)
				if err != nil {
					t.Fatal(err)
				}
				prev := ca.Status()
				h, tm := int64(0), int64(0)
				for i, in := range ins {
					if in.set == nil {
						h++
					}
					tm += in.dt
					if err := apply(ca, mode, h, tm, in); err != nil {
						t.Fatalf("step %d: %v", i, err)
					}
					if err := apply(cb, mode, h, tm, in); err != nil {
						t.Fatalf("twin step %d: %v", i, err)
					}
					if i == restartAt {
						if cb, err = New(b, cfg); err != nil {
							t.Fatal(err)
						}
					}
					cur := ca.Status()
					checkMonotone(t, i, prev, cur)
					if mode == ModeDefault {
						checkCascade(t, i, cur)
					}
					prev = cur
				}
				// restart equals no restart
				if !sameStores(a, b) || !sameStatus(ca, cb) {
					t.Fatal("a controller restarted mid-run diverged from one that was not")
				}
				// identical inputs give identical state
				a2 := NewMemStore()
				c2, _ := New(a2, cfg)
				_ = c2.Maintenance(0, 0, names(5))
				h, tm = 0, 0
				for _, in := range ins {
					if in.set == nil {
						h++
					}
					tm += in.dt
					_ = apply(c2, mode, h, tm, in)
				}
				if !sameStores(a, a2) {
					t.Fatal("identical inputs produced different stores")
				}
			})
		}
	}
}

// checkMonotone: a passed version never un-passes; active is forever, with
// the same activation height.
func checkMonotone(t *testing.T, step int, prev, cur Status) {
	t.Helper()
	for i, p := range prev.Versions {
		c := cur.Versions[i]
		was, _ := ParseState(p.State)
		now, _ := ParseState(c.State)
		if was.passed() && !now.passed() {
			t.Fatalf("step %d: version %d went from %s to %s", step, p.Version, p.State, c.State)
		}
		if was == Active && (now != Active || c.SinceHeight != p.SinceHeight) {
			t.Fatalf("step %d: active version %d changed: %+v -> %+v", step, p.Version, p, c)
		}
	}
}

// checkCascade: passing v implies every lower version passed; active v
// implies every lower version active.
func checkCascade(t *testing.T, step int, st Status) {
	t.Helper()
	for j := range st.Versions {
		hi, _ := ParseState(st.Versions[j].State)
		for i := 0; i < j; i++ {
			lo, _ := ParseState(st.Versions[i].State)
			if hi.passed() && !lo.passed() || hi == Active && lo != Active {
				t.Fatalf("step %d: version %d is %v but lower version %d is %v", step,
					st.Versions[j].Version, hi, st.Versions[i].Version, lo)
			}
		}
	}
}
