package signal

import (
	"encoding/hex"
	"reflect"
	"strings"
	"testing"

	"github.com/forkgate/forkgate/schedule"
)

// The stored bytes are part of every chain's state hash: two releases that
// encode one value differently disagree about the state. These tests pin
// every value kind (meta, set, slot, version, proposal, param), every State
// and both Modes to the bytes docs/signal.md describes, so renumbering an
// enum or reordering a field fails here instead of forking a network.

// goldenKey renders a stored key: its text prefix, then the binary suffix
// (slot, version and proposal numbers) in hex.
func goldenKey(k []byte) string {
	for _, p := range []string{prefixSlot, prefixVersion, prefixProposal} {
		if strings.HasPrefix(string(k), p) {
			return p + hex.EncodeToString(k[len(p):])
		}
	}
	return string(k)
}

func checkGolden(t *testing.T, st *MemStore, want map[string]string) {
	t.Helper()
	got := map[string]string{}
	for _, e := range st.Entries() {
		got[goldenKey(e.Key)] = hex.EncodeToString(e.Value)
	}
	for k, w := range want {
		w = strings.ReplaceAll(w, " ", "")
		if got[k] != w {
			t.Errorf("%s:\n got %s\nwant %s", k, got[k], w)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("unexpected key %s = %s", k, got[k])
		}
	}
}

// reopen checks that the pinned bytes also decode to the same state.
func reopen(t *testing.T, st *MemStore, cfg Config, c *Controller) {
	t.Helper()
	again, err := New(st.Clone(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(again.Status(), c.Status()) {
		t.Fatalf("reopened status differs:\n%+v\n%+v", again.Status(), c.Status())
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestGoldenBytesDefaultMode(t *testing.T) {
	cfg := Config{
		Versions: []schedule.VersionParams{
			{Number: 1, Rate: 50},              // active
			{Number: 2, Rate: 50, Grace: 1},    // locked_in
			{Number: 3, Rate: 100},             // started
			{Number: 5, Rate: 100, Timeout: 5}, // failed
		},
		Params: []ParamDecl{{Name: "fee", Default: 10}},
	}
	st := NewMemStore()
	c, err := New(st, cfg)
	must(t, err)
	must(t, c.Maintenance(0, 0, []string{"A", "B"}))
	id, err := c.Propose(1, "A", "fee", 20)
	must(t, err)
	must(t, c.Approve("A", id))
	must(t, c.Approve("B", id))
	must(t, c.Maintenance(1, 1, []string{"A", "B"})) // fee = 20
	must(t, c.ApplyBlock(1, 10, "A", 2))             // 1 active, 2 locked in, 5 times out
	id, err = c.Propose(2, "B", "fee", 30)
	must(t, err)
	must(t, c.Approve("B", id))

	checkGolden(t, st, map[string]string{
		// format, mode default (0), latestVersion, periods 2, first open proposal 2, next id 3
		"signal/meta": "01 00 00000000 0000000000000002 0000000000000002 0000000000000003",
		// format, count 2, "A", "B"
		"signal/set": "01 00000002 00000001 41 00000001 42",
		// format, period signal, last signal
		"signal/slot/00000000": "01 00000002 00000002",
		"signal/slot/00000001": "01 00000000 00000000",
		// format, state, since, grace left, locked-in height, activation time, carried by, has bits, bits
		"signal/ver/00000001": "01 03 0000000000000002 00000000 0000000000000002 000000000000000a 00000000 01 00000002 0100", // active (3)
		"signal/ver/00000002": "01 02 0000000000000002 00000001 0000000000000002 0000000000000000 00000000 01 00000002 0100", // locked_in (2)
		"signal/ver/00000003": "01 01 0000000000000001 00000000 0000000000000000 0000000000000000 00000000 00",               // started (1)
		"signal/ver/00000005": "01 04 0000000000000002 00000000 0000000000000000 0000000000000000 00000000 00",               // failed (4)
		// format, proposer "B", param "fee", value 30, height 2, approvals (one byte per slot)
		"signal/prop/0000000000000002": "01 00000001 42 00000003 666565 000000000000001e 0000000000000002 00000002 0001",
		// format, value 20
		"signal/param/fee": "01 0000000000000014",
	})
	reopen(t, st, cfg, c)
}

func TestGoldenBytesTronMode(t *testing.T) {
	cfg := Config{Mode: ModeTron, MaintenanceInterval: 60, Versions: []schedule.VersionParams{
		{Number: 5, Rate: 100},           // passed by cascade
		{Number: 6, Rate: 50},            // passed on its own
		{Number: 7, Rate: 50, Time: 1e5}, // defined, with a stats array
	}}
	st := NewMemStore()
	c, err := New(st, cfg)
	must(t, err)
	must(t, c.Maintenance(0, 0, []string{"A", "B"}))
	must(t, c.ApplyBlock(1, 60, "A", 7)) // 7's array [1 0]; 5 and 6 start (gate 60)
	must(t, c.ApplyBlock(2, 63, "B", 6)) // 6's array [0 1]: passes
	must(t, c.ApplyBlock(3, 66, "B", 6)) // upgrade(): 5 filled with ones, latestVersion 6

	checkGolden(t, st, map[string]string{
		// format, mode tron (1), latestVersion 6, periods 1, first open proposal 1, next id 1
		"signal/meta":          "01 01 00000006 0000000000000001 0000000000000001 0000000000000001",
		"signal/set":           "01 00000002 00000001 41 00000001 42",
		"signal/slot/00000000": "01 00000000 00000007",
		"signal/slot/00000001": "01 00000000 00000006",
		"signal/ver/00000005":  "01 03 0000000000000004 00000000 0000000000000000 0000000000000042 00000000 01 00000002 0101", // active (3)
		"signal/ver/00000006":  "01 03 0000000000000003 00000000 0000000000000000 000000000000003f 00000000 01 00000002 0001",
		"signal/ver/00000007":  "01 00 0000000000000000 00000000 0000000000000000 0000000000000000 00000000 01 00000002 0100", // defined (0)
	})
	reopen(t, st, cfg, c)
}

// TestEnumNumbers: the numbers themselves, as stored.
func TestEnumNumbers(t *testing.T) {
	states := map[State]uint8{Defined: 0, Started: 1, LockedIn: 2, Active: 3, Failed: 4}
	for s, n := range states {
		if uint8(s) != n {
			t.Errorf("%v is %d, stored as %d: never renumber a stored enum", s, uint8(s), n)
		}
	}
	if ModeDefault != 0 || ModeTron != 1 {
		t.Errorf("modes are %d and %d, stored as 0 and 1", ModeDefault, ModeTron)
	}
}
