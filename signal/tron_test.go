package signal

import (
	"testing"

	"github.com/forkgate/forkgate/schedule"
)

// hardForkTime of java-tron's 4.0.1 .. 4.8.0 entries, in seconds.
const hardForkTime = 1596780000

// tronEnum declares java-tron's ForkBlockVersionEnum: old versions (100%,
// no time gate; ENERGY_LIMIT's height rule is not modelled) and new ones at
// 80% from hardForkTime.
func tronEnum() []schedule.VersionParams {
	var vs []schedule.VersionParams
	for _, n := range []uint32{5, 6, 7, 8, 9, 10, 16} {
		vs = append(vs, schedule.VersionParams{Number: n, Rate: 100})
	}
	for _, n := range []uint32{17, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32} {
		vs = append(vs, schedule.VersionParams{Number: n, Rate: 80, Time: hardForkTime})
	}
	return vs
}

const (
	v3_5 = 7
	v3_6 = 8
	v4_3 = 22
	v4_4 = 23
	v4_5 = 24
)

func tronController(t *testing.T, n int) *harness {
	t.Helper()
	return newHarness(t, Config{Mode: ModeTron, MaintenanceInterval: 21600, Versions: tronEnum()}, names(n))
}

// seed writes a stats array directly, as ForkControllerTest does through
// DynamicPropertiesStore.statsByVersion.
func (h *harness) seed(v uint32, bits ...byte) {
	h.t.Helper()
	vr := &h.c.vers[h.c.find(v)]
	vr.bits = append([]byte(nil), bits...)
	vr.ones = 0
	for _, b := range bits {
		vr.ones += int(b)
	}
	vr.dirty = true
	if err := h.c.flushVersions(); err != nil {
		h.t.Fatal(err)
	}
}

func (h *harness) pass(v uint32, time int64) bool {
	return h.c.tronPass(h.c.find(v), time)
}

func (h *harness) sum(v uint32) int {
	return h.c.vers[h.c.find(v)].ones
}

func (h *harness) length(v uint32) int {
	return len(h.c.vers[h.c.find(v)].bits)
}

// at sets the head time and records what pass() answers there, as the head
// block's processing would.
func (h *harness) at(time int64) {
	h.time = time
	h.c.tronMaterialise(h.h, time)
	if err := h.c.flushVersions(); err != nil {
		h.t.Fatal(err)
	}
}

func TestTronForkControllerPass(t *testing.T) {
	h := tronController(t, 5)
	// testPass: old rule needs every slot.
	if h.pass(v3_5, hardForkTime) {
		t.Fatal("3_5 without stats must not pass")
	}
	for _, tc := range []struct {
		bits []byte
		want bool
	}{{[]byte{0, 0, 0}, false}, {[]byte{1, 1, 0}, false}, {[]byte{1, 1, 1}, true}} {
		h.seed(v3_5, tc.bits...)
		if got := h.pass(v3_5, hardForkTime); got != tc.want {
			t.Fatalf("3_5 %v: pass = %v, want %v", tc.bits, got, tc.want)
		}
	}
	// 4_4 at 80%, with the inclusive time gate.
	if h.pass(v4_4, hardForkTime) {
		t.Fatal("4_4 without stats must not pass")
	}
	h.seed(v4_4, 1, 1, 1, 0, 0)
	if h.pass(v4_4, hardForkTime) {
		t.Fatal("4_4 [1,1,1,0,0] must not pass")
	}
	h.seed(v4_4, 1, 1, 1, 1, 0)
	if h.pass(v4_4, hardForkTime-1) {
		t.Fatal("4_4 must not pass before hardForkTime")
	}
	if !h.pass(v4_4, hardForkTime) {
		t.Fatal("4_4 [1,1,1,1,0] must pass at hardForkTime (inclusive)")
	}
}

func TestTronTimeGateRoundsUp(t *testing.T) {
	cfg := Config{Mode: ModeTron, MaintenanceInterval: 21600, Versions: []schedule.VersionParams{{Number: 20, Rate: 80, Time: hardForkTime + 1}}}
	h := newHarness(t, cfg, names(5))
	h.seed(20, 1, 1, 1, 1, 1)
	gate := int64(hardForkTime + 21600) // rounded up to the next multiple of 6 h
	if h.pass(20, gate-1) || !h.pass(20, gate) {
		t.Fatalf("time gate must round up to %d", gate)
	}
	if got := h.c.Status().Versions[0].ActivationTime; got != gate {
		t.Fatalf("status activation_time %d, want the rounded gate %d", got, gate)
	}
}

func TestTronForkControllerReset(t *testing.T) {
	h := tronController(t, 5)
	h.seed(v3_5, 1, 1, 1, 1, 1)
	h.seed(v3_6, 1, 1, 1, 1, 0)
	h.seed(v4_4, 1, 1, 1, 1, 0)
	h.seed(v4_5, 1, 1, 1, 0, 0)
	h.at(hardForkTime)
	h.maintenance(names(5)...)
	for v, want := range map[uint32]int{v3_5: 5, v3_6: 0, v4_4: 4, v4_5: 0} {
		if got := h.sum(v); got != want {
			t.Errorf("after reset, version %d sums %d, want %d", v, got, want)
		}
	}
	// SR count 5 -> 6: the passed 4_4 keeps length 5 and still passes; the
	// unpassed 4_5 is recreated with 6 slots.
	h.maintenance(names(6)...)
	if h.length(v4_4) != 5 || !h.pass(v4_4, hardForkTime) {
		t.Errorf("4_4: length %d, pass %v; want 5, true", h.length(v4_4), h.pass(v4_4, hardForkTime))
	}
	if h.length(v4_5) != 6 || h.sum(v4_5) != 0 {
		t.Errorf("4_5: length %d sum %d; want 6, 0", h.length(v4_5), h.sum(v4_5))
	}
}

func TestTronForkControllerUpdate(t *testing.T) {
	h := tronController(t, 5)
	h.seed(v3_5, 1, 1, 1, 1, 1)
	h.seed(v3_6, 1, 1, 1, 1, 0)
	h.seed(v4_4, 1, 1, 1, 1, 0)
	h.seed(v4_5, 1, 1, 1, 0, 0)
	h.time = hardForkTime - 1000 // before the gate, so 4_4 has not passed
	blockAt := func(p string, v uint32, time int64) {
		t.Helper()
		h.h++
		h.time = time
		if err := h.c.ApplyBlock(h.h, time, p, v); err != nil {
			t.Fatal(err)
		}
	}
	// 1. SR1 produces 3_5: slot 0 cleared in the unpassed higher versions;
	// 3_5 passes, so 5 and 6 are filled and latestVersion = 7.
	blockAt("SR1", v3_5, hardForkTime-1000)
	for v, want := range map[uint32]int{v3_6: 3, v4_4: 3, v4_5: 2, 5: 5, 6: 5} {
		if got := h.sum(v); got != want {
			t.Fatalf("step 1: version %d sums %d, want %d", v, got, want)
		}
	}
	if h.c.latest != v3_5 {
		t.Fatalf("step 1: latestVersion %d, want 7", h.c.latest)
	}
	// 2. SR1 produces 4_5 before the gate: a vote for 24 is not one for 23.
	blockAt("SR1", v4_5, hardForkTime-900)
	if h.c.vers[h.c.find(v4_5)].bits[0] != 1 || h.c.vers[h.c.find(v4_4)].bits[0] != 0 {
		t.Fatal("step 2: exact-version voting violated")
	}
	// 3. SR4 produces 4_5.
	blockAt("SR4", v4_5, hardForkTime-800)
	if got := bitString(h.c.vers[h.c.find(v4_5)].bits); got != "11110" {
		t.Fatalf("step 3: 4_5 = %s, want 11110", got)
	}
	h.wantState(v4_5, Defined)
	// 4. At hardForkTime SR5 produces 4_5: historical upgrade, and the
	// passing block does not add its own bit.
	blockAt("SR5", v4_5, hardForkTime)
	for _, v := range []uint32{v3_6, v4_3, v4_4} {
		if got := h.sum(v); got != 5 {
			t.Fatalf("step 4: version %d sums %d, want 5", v, got)
		}
	}
	if h.sum(v4_5) != 4 || h.c.latest != v4_5 {
		t.Fatalf("step 4: 4_5 sums %d latest %d; want 4, 24", h.sum(v4_5), h.c.latest)
	}
	h.wantState(v4_5, Active)
	// 5. Downgrade after pass: SR1 produces 4_3; the latestVersion guard
	// returns early and nothing changes.
	blockAt("SR1", v4_3, hardForkTime+3)
	if h.sum(v4_4) != 5 || h.sum(v4_5) != 4 {
		t.Fatalf("step 5: 4_4 %d, 4_5 %d; want 5, 4", h.sum(v4_4), h.sum(v4_5))
	}
	h.wantState(v4_5, Active)
}

func TestTronIgnoresLowAndOutsideSignals(t *testing.T) {
	h := tronController(t, 3)
	h.time = hardForkTime
	h.mustBlock("SR1", 4)      // below ENERGY_LIMIT: ignored entirely
	h.mustBlock("STRANGER", 7) // not in the active list: ignored
	for _, v := range []uint32{5, 6, 7} {
		if h.c.vers[h.c.find(v)].bits != nil {
			t.Fatalf("version %d got a stats array from an ignored block", v)
		}
	}
	h.mustBlock("SR2", 11) // a gap in the enum: downgrades higher ones, keeps no array of its own
	if st := h.c.Status(); st.Producers[1].LastVersion != 11 {
		t.Fatalf("last signal not recorded: %+v", st.Producers[1])
	}
}
