package forkid

import (
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"hash/crc32"
	"math"
	"slices"
	"testing"
)

// Sources of the published vectors below. Every expected hash and next value
// is copied from one of these; none is computed by this package.
//
//	[EIP]     EIP-2124 "Test Cases" section, ethereum/EIPs EIPS/eip-2124.md.
//	          Creation vectors: identical in the stored draft (ethereum/EIPs
//	          @b4306af44be8) and in the revision that added rule 1a (mirrored
//	          in iGuru-T/EIPs @5dcc31936b46). Validation vectors: the rule-1a
//	          revision (15 cases); the draft had 13, one of which (Hash
//	          0x668db0af, Next 7280000 at head 7987396) the revision corrected
//	          to Hash 0xa00bc324 to match its comment.
//	[GETH-AG] go-ethereum core/forkid/forkid_test.go @035cc17023e3
//	          (ethereum/go-ethereum): mainnet TestCreation through Arrow
//	          Glacier, and TestValidation against that schedule.
//	[GETH-T]  go-ethereum core/forkid/forkid_test.go, later revision with
//	          time forks (TestCreation mainnet rows and TestValidation
//	          "Block to timestamp transition" / "Timestamp based" rows). The
//	          stored ethereum/go-ethereum copy predates it, so it was read from
//	          verbatim downstream copies of that file in the stored index (a
//	          geth fork's forkid_test.go carrying the same mainnet table, and
//	          etclabscore core-geth's TestValidation); the fork hashes agree
//	          with [SPECS].
//	[SPECS]   ethereum/execution-specs fork docstrings, "Upgrade Schedule"
//	          tables, Mainnet row: Gray Glacier block 15,050,000 fork hash
//	          0xf0afd0e3; Paris 0xf0afd0e3 (TTD, no new point); Shanghai
//	          1681338455 0xdce96c2d; Cancun 1710338135 0x9f3d2254; Prague
//	          1746612311 0xc376cf8b; Osaka 1764798551 0x5167e2a6.

// mainnetGenesis is Ethereum mainnet's genesis hash.
var mainnetGenesis = mustHex("d4e56740f876aef8c010b86a40d5f56745a118d0906a34e69aec8c0db1cb8fa3")

func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

// Mainnet height forks as go-ethereum's ChainConfig lists them, one entry per
// config field, so that shared heights appear more than once.
var (
	// petersburgHeights is the schedule [EIP] was written against (the
	// "Petersburg fork cap").
	petersburgHeights = []uint64{
		1150000, // Homestead
		1920000, // DAO fork
		2463000, // Tangerine Whistle (EIP-150)
		2675000, // Spurious Dragon (EIP-155)
		2675000, // Spurious Dragon (EIP-158)
		4370000, // Byzantium
		7280000, // Constantinople
		7280000, // Petersburg
	}
	// arrowGlacierHeights is mainnet as configured in [GETH-AG].
	arrowGlacierHeights = append(slices.Clone(petersburgHeights),
		9069000,  // Istanbul
		9200000,  // Muir Glacier
		12244000, // Berlin
		12965000, // London
		13773000, // Arrow Glacier
	)
	// grayGlacierHeights adds Gray Glacier; the Merge is TTD-based and adds
	// no fork point on mainnet.
	grayGlacierHeights = append(slices.Clone(arrowGlacierHeights),
		15050000, // Gray Glacier
	)
	// mainnetTimes are the time forks of mainnet as configured in [GETH-T].
	mainnetTimes = []uint64{
		1681338455, // Shanghai
		1710338135, // Cancun
		1746612311, // Prague
		1764798551, // Osaka
		1765290071, // BPO1
		1767747671, // BPO2
	}
)

type creationCase struct {
	head, time uint64
	hash       uint32
	next       uint64
}

func checkCreation(t *testing.T, heights, times []uint64, cases []creationCase) {
	t.Helper()
	for _, c := range cases {
		want := ID{Hash: HashFromUint32(c.hash), Next: c.next}
		if got := NewID(mainnetGenesis, heights, times, c.head, c.time); got != want {
			t.Errorf("NewID(head=%d, time=%d) = %v, want %v", c.head, c.time, got, want)
		}
	}
}

// TestCreationEIP2124 reproduces the mainnet fork IDs published in [EIP].
func TestCreationEIP2124(t *testing.T) {
	checkCreation(t, petersburgHeights, nil, []creationCase{
		{0, 0, 0xfc64ec04, 1150000},       // Unsynced
		{1149999, 0, 0xfc64ec04, 1150000}, // Last Frontier block
		{1150000, 0, 0x97c2c34c, 1920000}, // First Homestead block
		{1919999, 0, 0x97c2c34c, 1920000}, // Last Homestead block
		{1920000, 0, 0x91d1f948, 2463000}, // First DAO block
		{2462999, 0, 0x91d1f948, 2463000}, // Last DAO block
		{2463000, 0, 0x7a64da13, 2675000}, // First Tangerine block
		{2674999, 0, 0x7a64da13, 2675000}, // Last Tangerine block
		{2675000, 0, 0x3edd5b10, 4370000}, // First Spurious block
		{4369999, 0, 0x3edd5b10, 4370000}, // Last Spurious block
		{4370000, 0, 0xa00bc324, 7280000}, // First Byzantium block
		{7279999, 0, 0xa00bc324, 7280000}, // Last Byzantium block
		{7280000, 0, 0x668db0af, 0},       // First and last Constantinople, first Petersburg block
		{7987396, 0, 0x668db0af, 0},       // Today Petersburg block
	})
}

// TestCreationGethArrowGlacier reproduces [GETH-AG]'s mainnet vectors.
func TestCreationGethArrowGlacier(t *testing.T) {
	checkCreation(t, arrowGlacierHeights, nil, []creationCase{
		{0, 0, 0xfc64ec04, 1150000},         // Unsynced
		{1149999, 0, 0xfc64ec04, 1150000},   // Last Frontier block
		{1150000, 0, 0x97c2c34c, 1920000},   // First Homestead block
		{1919999, 0, 0x97c2c34c, 1920000},   // Last Homestead block
		{1920000, 0, 0x91d1f948, 2463000},   // First DAO block
		{2462999, 0, 0x91d1f948, 2463000},   // Last DAO block
		{2463000, 0, 0x7a64da13, 2675000},   // First Tangerine block
		{2674999, 0, 0x7a64da13, 2675000},   // Last Tangerine block
		{2675000, 0, 0x3edd5b10, 4370000},   // First Spurious block
		{4369999, 0, 0x3edd5b10, 4370000},   // Last Spurious block
		{4370000, 0, 0xa00bc324, 7280000},   // First Byzantium block
		{7279999, 0, 0xa00bc324, 7280000},   // Last Byzantium block
		{7280000, 0, 0x668db0af, 9069000},   // First and last Constantinople, first Petersburg block
		{9068999, 0, 0x668db0af, 9069000},   // Last Petersburg block
		{9069000, 0, 0x879d6e30, 9200000},   // First Istanbul and first Muir Glacier block
		{9199999, 0, 0x879d6e30, 9200000},   // Last Istanbul and first Muir Glacier block
		{9200000, 0, 0xe029e991, 12244000},  // First Muir Glacier block
		{12243999, 0, 0xe029e991, 12244000}, // Last Muir Glacier block
		{12244000, 0, 0x0eb440f6, 12965000}, // First Berlin block
		{12964999, 0, 0x0eb440f6, 12965000}, // Last Berlin block
		{12965000, 0, 0xb715077d, 13773000}, // First London block
		{13772999, 0, 0xb715077d, 13773000}, // Last London block
		{13773000, 0, 0x20c327fc, 0},        // First Arrow Glacier block
		{20000000, 0, 0x20c327fc, 0},        // Future Arrow Glacier block
	})
}

// TestCreationMainnetTimeForks reproduces [GETH-T]'s mainnet vectors with
// Gray Glacier and the time forks; the hash at each fork also appears in
// [SPECS] (BPO1 and BPO2 only in [GETH-T]).
func TestCreationMainnetTimeForks(t *testing.T) {
	checkCreation(t, grayGlacierHeights, mainnetTimes, []creationCase{
		{0, 0, 0xfc64ec04, 1150000},                    // Unsynced
		{7280000, 0, 0x668db0af, 9069000},              // First Petersburg block
		{13773000, 0, 0x20c327fc, 15050000},            // First Arrow Glacier block
		{15049999, 0, 0x20c327fc, 15050000},            // Last Arrow Glacier block
		{15050000, 0, 0xf0afd0e3, 1681338455},          // First Gray Glacier block
		{20000000, 1681338454, 0xf0afd0e3, 1681338455}, // Last Gray Glacier block
		{20000000, 1681338455, 0xdce96c2d, 1710338135}, // First Shanghai block
		{30000000, 1710338134, 0xdce96c2d, 1710338135}, // Last Shanghai block
		{30000000, 1710338135, 0x9f3d2254, 1746612311}, // First Cancun block
		{30000000, 1746022486, 0x9f3d2254, 1746612311}, // Last Cancun block
		{30000000, 1746612311, 0xc376cf8b, 1764798551}, // First Prague block
		{30000000, 1764798550, 0xc376cf8b, 1764798551}, // Last Prague block
		{30000000, 1764798551, 0x5167e2a6, 1765290071}, // First Osaka block
		{30000000, 1765290070, 0x5167e2a6, 1765290071}, // Last Osaka block
		{30000000, 1765290071, 0xcba2a1c0, 1767747671}, // First BPO1 block
		{30000000, 1767747670, 0xcba2a1c0, 1767747671}, // Last BPO1 block
		{30000000, 1767747671, 0x07c9462e, 0},          // First BPO2 block
		{50000000, 2000000000, 0x07c9462e, 0},          // Future BPO2 block
	})
}

// TestCreationHeightsBeforeTimes checks go-ethereum's ordering rule: while a
// height fork is unpassed it is Next, even if time forks are due.
func TestCreationHeightsBeforeTimes(t *testing.T) {
	got := NewID(mainnetGenesis, grayGlacierHeights, mainnetTimes, 15049999, 2000000000)
	want := ID{Hash: HashFromUint32(0x20c327fc), Next: 15050000} // [GETH-T] last Arrow Glacier
	if got != want {
		t.Fatalf("got %v, want %v", got, want)
	}
}

// TestGenesisOnlyChain: with no forks the hash is CRC32 of the genesis hash.
func TestGenesisOnlyChain(t *testing.T) {
	for _, heights := range [][]uint64{nil, {0}, {0, 0}} {
		got := NewID(mainnetGenesis, heights, []uint64{0}, 123, 456)
		want := ID{Hash: HashFromUint32(0xfc64ec04)} // [EIP] forkhash₀
		if got != want {
			t.Errorf("heights %v: got %v, want %v", heights, got, want)
		}
	}
}

// TestTimeForkAtGenesisDropped follows go-ethereum's TestTimeBasedForkInGenesis:
// a time fork at or before the genesis time is part of the genesis ruleset.
func TestTimeForkAtGenesisDropped(t *testing.T) {
	const genesisTime = 1690475657
	base := ID{Hash: HashFromUint32(0xfc64ec04)}
	for _, c := range []struct{ shanghai, cancun, next uint64 }{
		{genesisTime - 1, genesisTime + 1, genesisTime + 1},
		{genesisTime, genesisTime + 1, genesisTime + 1},
		{genesisTime + 1, genesisTime + 2, genesisTime + 1},
	} {
		chain := NewChain(mainnetGenesis, genesisTime, nil, []uint64{c.shanghai, c.cancun})
		want := base
		want.Next = c.next
		if got := chain.ID(0, genesisTime); got != want {
			t.Errorf("shanghai=%d cancun=%d: got %v, want %v", c.shanghai, c.cancun, got, want)
		}
	}
}

func TestNormalize(t *testing.T) {
	cases := []struct {
		name  string
		in    []uint64
		floor uint64
		want  []uint64
	}{
		{"nil", nil, 0, nil},
		{"only genesis", []uint64{0, 0}, 0, nil},
		{"sorted", []uint64{1, 2, 3}, 0, []uint64{1, 2, 3}},
		{"unsorted with duplicates and zero", []uint64{7280000, 0, 1150000, 7280000, 2675000, 2675000}, 0, []uint64{1150000, 2675000, 7280000}},
		{"floor drops at and below", []uint64{5, 10, 11, 9}, 10, []uint64{11}},
		{"max uint64 kept", []uint64{math.MaxUint64, 1}, 0, []uint64{1, math.MaxUint64}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := slices.Clone(c.in)
			got := Normalize(c.in, c.floor)
			if !slices.Equal(got, c.want) {
				t.Errorf("Normalize(%v, %d) = %v, want %v", c.in, c.floor, got, c.want)
			}
			if !slices.Equal(in, c.in) {
				t.Errorf("Normalize modified its input: %v -> %v", in, c.in)
			}
		})
	}
}

func TestGather(t *testing.T) {
	h, tm := Gather(petersburgHeights, []uint64{1710338135, 0, 1681338455, 1681338455, 100}, 100)
	if want := []uint64{1150000, 1920000, 2463000, 2675000, 4370000, 7280000}; !slices.Equal(h, want) {
		t.Errorf("heights = %v, want %v", h, want)
	}
	if want := []uint64{1681338455, 1710338135}; !slices.Equal(tm, want) {
		t.Errorf("times = %v, want %v", tm, want)
	}
	c := NewChain(mainnetGenesis, 100, petersburgHeights, nil)
	if !slices.Equal(c.Heights(), h) || c.Times() != nil {
		t.Errorf("Chain heights/times = %v/%v", c.Heights(), c.Times())
	}
}

type validationCase struct {
	head, time uint64
	hash       uint32
	next       uint64
	err        error
}

func checkValidation(t *testing.T, heights, times []uint64, cases []validationCase) {
	t.Helper()
	for i, c := range cases {
		head, time := c.head, c.time
		filter := NewFilter(mainnetGenesis, heights, times, func() (uint64, uint64) { return head, time })
		remote := ID{Hash: HashFromUint32(c.hash), Next: c.next}
		err := filter(remote)
		switch {
		case c.err == nil && err != nil:
			t.Errorf("case %d: local head=%d time=%d, remote %v: rejected (%v), want accepted", i, c.head, c.time, remote, err)
		case c.err != nil && !errors.Is(err, c.err):
			t.Errorf("case %d: local head=%d time=%d, remote %v: got %v, want %v", i, c.head, c.time, remote, err, c.err)
		}
		if err != nil {
			var re *RejectError
			if !errors.As(err, &re) || re.Remote != remote {
				t.Errorf("case %d: error %v is not a *RejectError carrying the remote ID", i, err)
			}
		}
	}
}

// TestValidationEIP2124 runs the validation cases published in [EIP]
// (revision with rule 1a), against the Petersburg-capped mainnet schedule.
func TestValidationEIP2124(t *testing.T) {
	checkValidation(t, petersburgHeights, nil, []validationCase{
		// Local is mainnet Petersburg, remote announces the same. No future fork is announced.
		{7987396, 0, 0x668db0af, 0, nil},
		// Local is mainnet Petersburg, remote announces the same. Remote also announces a next fork
		// at block 0xffffffff, but that is uncertain.
		{7987396, 0, 0x668db0af, math.MaxUint64, nil},
		// Local is mainnet currently in Byzantium only (so it's aware of Petersburg), remote announces
		// also Byzantium, but it's not yet aware of Petersburg (e.g. non updated node before the fork).
		{7279999, 0, 0xa00bc324, 0, nil},
		// Local is mainnet currently in Byzantium only (so it's aware of Petersburg), remote announces
		// also Byzantium, and it's also aware of Petersburg (e.g. updated node before the fork).
		{7279999, 0, 0xa00bc324, 7280000, nil},
		// Local is mainnet currently in Byzantium only, remote announces also Byzantium, and it's also
		// aware of some random fork (e.g. misconfigured Petersburg).
		{7279999, 0, 0xa00bc324, math.MaxUint64, nil},
		// Local is mainnet Petersburg, remote announces Byzantium + knowledge about Petersburg. Remote
		// is simply out of sync, accept.
		{7987396, 0, 0xa00bc324, 7280000, nil},
		// Local is mainnet Petersburg, remote announces Spurious + knowledge about Byzantium. Remote
		// is definitely out of sync. It may or may not need the Petersburg update, we don't know yet.
		{7987396, 0, 0x3edd5b10, 4370000, nil},
		// Local is mainnet Byzantium, remote announces Petersburg. Local is out of sync, accept.
		{7279999, 0, 0x668db0af, 0, nil},
		// Local is mainnet Spurious, remote announces Byzantium, but is not aware of Petersburg. Local
		// out of sync. Local also knows about a future fork, but that is uncertain yet.
		{4369999, 0, 0xa00bc324, 0, nil},
		// Local is mainnet Petersburg. remote announces Byzantium but is not aware of further forks.
		// Remote needs software update.
		{7987396, 0, 0xa00bc324, 0, ErrRemoteStale},
		// Local is mainnet Petersburg, and isn't aware of more forks. Remote announces Petersburg +
		// 0xffffffff. Local needs software update, reject.
		{7987396, 0, 0x5cddc0e1, 0, ErrLocalIncompatibleOrStale},
		// Local is mainnet Byzantium, and is aware of Petersburg. Remote announces Petersburg +
		// 0xffffffff. Local needs software update, reject.
		{7279999, 0, 0x5cddc0e1, 0, ErrLocalIncompatibleOrStale},
		// Local is mainnet Petersburg, remote is Rinkeby Petersburg.
		{7987396, 0, 0xafec6b27, 0, ErrLocalIncompatibleOrStale},
		// Local is mainnet Petersburg, far in the future. Remote announces Gopherium (non existing fork)
		// at some future block 88888888, for itself, but past block for local. Local is incompatible.
		{88888888, 0, 0x668db0af, 88888888, ErrLocalIncompatibleOrStale},
		// Local is mainnet Byzantium. Remote is also in Byzantium, but announces Gopherium (non existing
		// fork) at block 7279999, before Petersburg. Local is incompatible.
		{7279999, 0, 0xa00bc324, 7279999, ErrLocalIncompatibleOrStale},
	})
}

// TestValidationGethArrowGlacier runs [GETH-AG]'s TestValidation, whose local
// node is mainnet configured through Arrow Glacier.
func TestValidationGethArrowGlacier(t *testing.T) {
	checkValidation(t, arrowGlacierHeights, nil, []validationCase{
		{7987396, 0, 0x668db0af, 0, nil},
		{7987396, 0, 0x668db0af, math.MaxUint64, nil},
		{7279999, 0, 0xa00bc324, 0, nil},
		{7279999, 0, 0xa00bc324, 7280000, nil},
		{7279999, 0, 0xa00bc324, math.MaxUint64, nil},
		{7280000, 0, 0xa00bc324, 7280000, nil}, // local exactly on Petersburg
		{7987396, 0, 0xa00bc324, 7280000, nil},
		{7987396, 0, 0x3edd5b10, 4370000, nil},
		{7279999, 0, 0x668db0af, 0, nil},
		{4369999, 0, 0xa00bc324, 0, nil},
		{7987396, 0, 0xa00bc324, 0, ErrRemoteStale},
		{7987396, 0, 0x5cddc0e1, 0, ErrLocalIncompatibleOrStale},
		{7279999, 0, 0x5cddc0e1, 0, ErrLocalIncompatibleOrStale},
		{7987396, 0, 0xafec6b27, 0, ErrLocalIncompatibleOrStale},
		{88888888, 0, 0x20c327fc, 88888888, ErrLocalIncompatibleOrStale}, // Gopherium after Arrow Glacier
		{7279999, 0, 0xa00bc324, 7279999, ErrLocalIncompatibleOrStale},
	})
}

// TestValidationGethTimeForks runs [GETH-T]'s TestValidation rows: block-only
// rows against mainnet without time forks ("legacyConfig"), transition and
// timestamp rows against the full schedule.
func TestValidationGethTimeForks(t *testing.T) {
	t.Run("block based", func(t *testing.T) {
		checkValidation(t, grayGlacierHeights, nil, []validationCase{
			{15050000, 0, 0xf0afd0e3, 0, nil},
			{15050000, 0, 0xf0afd0e3, math.MaxUint64, nil},
			{7279999, 0, 0xa00bc324, 0, nil},
			{7279999, 0, 0xa00bc324, 7280000, nil},
			{7279999, 0, 0xa00bc324, math.MaxUint64, nil},
			{7280000, 0, 0xa00bc324, 7280000, nil},
			{7987396, 0, 0xa00bc324, 7280000, nil},
			{7987396, 0, 0x3edd5b10, 4370000, nil},
			{7279999, 0, 0x668db0af, 0, nil},
			{4369999, 0, 0xa00bc324, 0, nil},
			{7987396, 0, 0xa00bc324, 0, ErrRemoteStale},
			{7987396, 0, 0x5cddc0e1, 0, ErrLocalIncompatibleOrStale},
			{7279999, 0, 0x5cddc0e1, 0, ErrLocalIncompatibleOrStale},
			{7987396, 0, 0xafec6b27, 0, ErrLocalIncompatibleOrStale},
			{88888888, 0, 0xf0afd0e3, 88888888, ErrLocalIncompatibleOrStale},
			{7279999, 0, 0xa00bc324, 7279999, ErrLocalIncompatibleOrStale},
		})
	})
	t.Run("block to timestamp transition", func(t *testing.T) {
		checkValidation(t, grayGlacierHeights, mainnetTimes, []validationCase{
			{15050000, 0, 0xf0afd0e3, 0, nil},
			{15050000, 0, 0xf0afd0e3, 1681338455, nil},
			{15050000, 0, 0xf0afd0e3, math.MaxUint64, nil},
			{20000000, 1681338455, 0xf0afd0e3, 1681338455, nil},
			{20123456, 1681338456, 0xf0afd0e3, 1681338455, nil},
			{20000000, 1681338455, 0x20c327fc, 15050000, nil},
			{15050000, 0, 0xdce96c2d, 0, nil},
			{13773000, 0, 0xf0afd0e3, 0, nil},
			{20000000, 1681338455, 0xf0afd0e3, 0, ErrRemoteStale},
			{15050000, 0, checksumUpdate(0xf0afd0e3, math.MaxUint64), 0, ErrLocalIncompatibleOrStale},
			{15050000, 0, checksumUpdate(0xdce96c2d, math.MaxUint64), 0, ErrLocalIncompatibleOrStale},
			{888888888, 1660000000, 0xf0afd0e3, 1660000000, ErrLocalIncompatibleOrStale},
			{19999999, 1667999999, 0xf0afd0e3, 1667999999, ErrLocalIncompatibleOrStale},
		})
	})
	t.Run("timestamp based", func(t *testing.T) {
		checkValidation(t, grayGlacierHeights, mainnetTimes, []validationCase{
			{20000000, 1681338455, 0xdce96c2d, 0, nil},
			{20000000, 1681338455, 0xdce96c2d, math.MaxUint64, nil},
			{20000000, 1668000000, 0xdce96c2d, 0, nil},
			{20000000, 1668000000, 0xdce96c2d, 1710338135, nil},
			{20000000, 1668000000, 0xdce96c2d, math.MaxUint64, nil},
			{21000000, 1710338135, 0xdce96c2d, 1710338135, nil},
			{21123456, 1710338136, 0xdce96c2d, 1710338135, nil},
			{0, 0, 0x3edd5b10, 1710338135, nil},
			{21000000, 1700000000, 0x9f3d2254, 0, nil},
			{21000000, 1678000000, 0xc376cf8b, 0, nil},
			{21000000, 1710338135, 0xdce96c2d, 0, ErrRemoteStale},
			{20000000, 1681338455, checksumUpdate(0xdce96c2d, math.MaxUint64), 0, ErrLocalIncompatibleOrStale},
			{20000000, 1668000000, checksumUpdate(0x9f3d2254, math.MaxUint64), 0, ErrLocalIncompatibleOrStale},
			{20000000, 1681338455, 0x12345678, 0, ErrLocalIncompatibleOrStale},
			{88888888, 8888888888, 0x07c9462e, 8888888888, ErrLocalIncompatibleOrStale},
			{20999999, 1699999999, 0x71147644, 1700000000, ErrLocalIncompatibleOrStale},
		})
	})
}

// TestFilterFollowsHead checks that the filter reads the head on every call:
// the same remote is accepted before a fork and rejected after it.
func TestFilterFollowsHead(t *testing.T) {
	var head uint64 = 7279999
	filter := NewFilter(mainnetGenesis, petersburgHeights, nil, func() (uint64, uint64) { return head, 0 })
	stale := ID{Hash: HashFromUint32(0xa00bc324)} // Byzantium, unaware of Petersburg
	if err := filter(stale); err != nil {
		t.Fatalf("before the fork: %v", err)
	}
	head = 7280000
	err := filter(stale)
	if !errors.Is(err, ErrRemoteStale) {
		t.Fatalf("after the fork: got %v, want ErrRemoteStale", err)
	}
	var re *RejectError
	if !errors.As(err, &re) || re.Rule != "2" || re.Local != (ID{Hash: HashFromUint32(0x668db0af)}) {
		t.Fatalf("reject detail = %+v", re)
	}
	if got, want := err.Error(), "fork ID hash=a00bc324 next=0 rejected by local hash=668db0af next=0 (EIP-2124 rule 2): remote needs update"; got != want {
		t.Errorf("message:\n got %s\nwant %s", got, want)
	}
}

func TestIDFormatting(t *testing.T) {
	id := ID{Hash: HashFromUint32(0xfc64ec04), Next: 1150000}
	if got := id.HashHex(); got != "fc64ec04" {
		t.Errorf("HashHex = %q", got)
	}
	if got := id.HashUint32(); got != 0xfc64ec04 {
		t.Errorf("HashUint32 = %#x", got)
	}
	if got := id.String(); got != "hash=fc64ec04 next=1150000" {
		t.Errorf("String = %q", got)
	}
	b, err := json.Marshal(id)
	if err != nil || string(b) != `{"hash":"fc64ec04","next":1150000}` {
		t.Fatalf("MarshalJSON = %s, %v", b, err)
	}
	var back ID
	if err := json.Unmarshal(b, &back); err != nil || back != id {
		t.Fatalf("UnmarshalJSON = %v, %v", back, err)
	}
	if err := json.Unmarshal([]byte(`{"hash":"fc64ec0","next":1}`), &back); err == nil {
		t.Error("UnmarshalJSON accepted a 7-digit hash")
	}
}

func TestParseHash(t *testing.T) {
	for _, c := range []struct {
		in   string
		want uint32
		ok   bool
	}{
		{"fc64ec04", 0xfc64ec04, true},
		{"0xFC64EC04", 0xfc64ec04, true},
		{"00000000", 0, true},
		{"fc64ec0", 0, false},
		{"fc64ec044", 0, false},
		{"fc64ecgg", 0, false},
		{"", 0, false},
	} {
		got, err := ParseHash(c.in)
		if (err == nil) != c.ok || (c.ok && got != HashFromUint32(c.want)) {
			t.Errorf("ParseHash(%q) = %x, %v", c.in, got, err)
		}
	}
}

func BenchmarkNewID(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		NewID(mainnetGenesis, grayGlacierHeights, mainnetTimes, 30000000, 1746612311)
	}
}

func BenchmarkChainID(b *testing.B) {
	c := NewChain(mainnetGenesis, 0, grayGlacierHeights, mainnetTimes)
	b.ReportAllocs()
	for b.Loop() {
		c.ID(30000000, 1746612311)
	}
}

func BenchmarkFilter(b *testing.B) {
	filter := NewFilter(mainnetGenesis, grayGlacierHeights, mainnetTimes, func() (uint64, uint64) { return 30000000, 1746612311 })
	accept := ID{Hash: HashFromUint32(0xc376cf8b), Next: 1764798551} // same state
	stale := ID{Hash: HashFromUint32(0xf0afd0e3)}                    // past state, unaware of Shanghai
	b.Run("accept", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if filter(accept) != nil {
				b.Fatal("rejected")
			}
		}
	})
	b.Run("reject", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if filter(stale) == nil {
				b.Fatal("accepted")
			}
		}
	})
}

// TestChecksumUpdate checks the hand-written update against crc32.Update.
func TestChecksumUpdate(t *testing.T) {
	for _, p := range []uint64{0, 1, 1150000, 1681338455, math.MaxUint64} {
		var b [8]byte
		binary.BigEndian.PutUint64(b[:], p)
		for _, sum := range []uint32{0, 0xfc64ec04, math.MaxUint32} {
			if got, want := checksumUpdate(sum, p), crc32.Update(sum, crc32.IEEETable, b[:]); got != want {
				t.Errorf("checksumUpdate(%#x, %d) = %#x, want %#x", sum, p, got, want)
			}
		}
	}
}
