// Package forkid computes and validates fork identifiers with the EIP-2124
// algorithm (https://eips.ethereum.org/EIPS/eip-2124), extended to time-based
// forks as EIP-6122 and go-ethereum do.
//
// A fork ID is a compact, peer-visible summary of a chain's configuration:
//
//	Hash  CRC32 (IEEE) of the genesis hash, folded with every fork point the
//	      local chain has already passed, each as 8 big-endian bytes, in
//	      ascending order (heights first, then times)
//	Next  the first fork point not yet passed, or 0 if none is known
//
// Two nodes exchange IDs and cross-validate them (see [NewFilter]) so that a
// node running stale software, or following a different chain, is dropped
// exactly when a fork passes and not before.
//
// Fork points are gathered by [Gather]: sorted, de-duplicated, with forks at
// genesis dropped (a chain that starts with a ruleset does not fork into it).
// See docs/forkid.md for how forkgate maps a fork schedule onto fork points.
package forkid

import (
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
	"slices"
	"strconv"
	"strings"
)

// ID is a fork identifier as defined by EIP-2124.
type ID struct {
	Hash [4]byte // CRC32 of the genesis hash and the passed fork points
	Next uint64  // next fork point (height or time), or 0 if none is known
}

// HashHex returns the hash as 8 lower-case hex digits, without a 0x prefix.
func (id ID) HashHex() string { return hex.EncodeToString(id.Hash[:]) }

// HashUint32 returns the hash as the big-endian integer EIP-2124 writes
// (0xfc64ec04 for Ethereum mainnet's genesis).
func (id ID) HashUint32() uint32 { return binary.BigEndian.Uint32(id.Hash[:]) }

// String renders the ID as "hash=fc64ec04 next=1150000".
func (id ID) String() string {
	return "hash=" + id.HashHex() + " next=" + strconv.FormatUint(id.Next, 10)
}

// HashFromUint32 converts a checksum such as 0xfc64ec04 into its 4-byte form.
func HashFromUint32(sum uint32) [4]byte {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], sum)
	return b
}

// ParseHash parses a fork hash written as 8 hex digits, with or without a
// 0x prefix.
func ParseHash(s string) ([4]byte, error) {
	var h [4]byte
	t := strings.TrimPrefix(strings.TrimPrefix(s, "0x"), "0X")
	if len(t) != 8 {
		return h, fmt.Errorf("fork hash %q: want 8 hex digits, got %d", s, len(t))
	}
	if _, err := hex.Decode(h[:], []byte(t)); err != nil {
		return h, fmt.Errorf("fork hash %q: not hex", s)
	}
	return h, nil
}

// jsonID is the stable JSON form of an ID: {"hash":"fc64ec04","next":1150000}.
type jsonID struct {
	Hash string `json:"hash"`
	Next uint64 `json:"next"`
}

// MarshalJSON writes {"hash":"fc64ec04","next":1150000}.
func (id ID) MarshalJSON() ([]byte, error) {
	return json.Marshal(jsonID{Hash: id.HashHex(), Next: id.Next})
}

// UnmarshalJSON reads the form MarshalJSON writes.
func (id *ID) UnmarshalJSON(b []byte) error {
	var j jsonID
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	h, err := ParseHash(j.Hash)
	if err != nil {
		return err
	}
	*id = ID{Hash: h, Next: j.Next}
	return nil
}

// Normalize returns the fork points in ascending order with duplicates
// collapsed and every point <= floor dropped (floor 0 drops forks at genesis).
// The input is not modified. The result is nil when no point remains.
func Normalize(points []uint64, floor uint64) []uint64 {
	var out []uint64
	for _, p := range points {
		if p > floor {
			out = append(out, p)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// Gather normalises a chain's fork points the way go-ethereum does: height
// forks and time forks are sorted and de-duplicated separately, height forks
// at block 0 are dropped, and time forks at or before the genesis block's
// time are dropped (they are the genesis ruleset, not forks). The hash always
// folds all heights before any time.
func Gather(heights, times []uint64, genesisTime uint64) (byHeight, byTime []uint64) {
	return Normalize(heights, 0), Normalize(times, genesisTime)
}

// checksumUpdate folds one fork point into a running checksum; it equals
// CRC32(original-blob || uint64-big-endian(point)). It is the byte-wise
// table update crc32.Update performs, written out so that the 8-byte buffer
// stays on the stack (crc32.Update's buffer escapes, one allocation a fork).
func checksumUpdate(sum uint32, point uint64) uint32 {
	sum = ^sum
	for shift := 56; shift >= 0; shift -= 8 {
		sum = crc32.IEEETable[byte(sum)^byte(point>>shift)] ^ (sum >> 8)
	}
	return ^sum
}

// Chain holds a chain's gathered fork points and genesis checksum, so that IDs
// and filters can be computed repeatedly without re-gathering.
type Chain struct {
	genesis uint32   // CRC32 of the genesis hash
	heights []uint64 // normalised height forks
	times   []uint64 // normalised time forks
}

// NewChain gathers the fork points of a chain (see [Gather]). genesisTime is
// the genesis block's time; time forks at or before it are part of the
// genesis ruleset and are dropped. Pass 0 if the chain has no time forks or
// the genesis time is unknown.
func NewChain(genesis []byte, genesisTime uint64, heights, times []uint64) *Chain {
	h, t := Gather(heights, times, genesisTime)
	return &Chain{genesis: crc32.ChecksumIEEE(genesis), heights: h, times: t}
}

// Heights returns the gathered height fork points (a copy).
func (c *Chain) Heights() []uint64 { return slices.Clone(c.heights) }

// Times returns the gathered time fork points (a copy).
func (c *Chain) Times() []uint64 { return slices.Clone(c.times) }

// ID returns the fork ID of a node whose head block has the given height and
// time. A height fork is passed when its height <= head, a time fork when its
// time <= time. Height forks are walked first: while one is unpassed it is
// Next, whatever the time.
func (c *Chain) ID(head, time uint64) ID {
	sum := c.genesis
	for _, fork := range c.heights {
		if fork > head {
			return ID{Hash: HashFromUint32(sum), Next: fork}
		}
		sum = checksumUpdate(sum, fork)
	}
	for _, fork := range c.times {
		if fork > time {
			return ID{Hash: HashFromUint32(sum), Next: fork}
		}
		sum = checksumUpdate(sum, fork)
	}
	return ID{Hash: HashFromUint32(sum), Next: 0}
}

// NewID computes the fork ID of a chain with the given genesis hash and fork
// points, for a node whose head block has height head and time time. Heights
// are gathered first, then times; forks at 0 are dropped and duplicates
// collapsed (see [Gather]). Use [NewChain] when the genesis time matters or
// the ID is computed often.
func NewID(genesis []byte, heights, times []uint64, head, time uint64) ID {
	return NewChain(genesis, 0, heights, times).ID(head, time)
}

var (
	// ErrRemoteStale is returned when the remote's fork hash is one of our
	// past states but the fork it announces next is not the one we passed:
	// the remote runs software that does not know a fork we already applied.
	ErrRemoteStale = errors.New("remote needs update")

	// ErrLocalIncompatibleOrStale is returned when the remote's fork hash
	// matches no past, current or known future state of ours (the chains
	// diverged, possibly at genesis, or we lack a fork the remote applied),
	// or when it matches our current state but announces a next fork we have
	// already passed without applying it.
	ErrLocalIncompatibleOrStale = errors.New("local incompatible or needs update")
)

// RejectError explains why a filter rejected a remote ID. errors.Is matches it
// against ErrRemoteStale or ErrLocalIncompatibleOrStale.
type RejectError struct {
	Rule   string // the EIP-2124 rule that rejected: "1a", "2" or "4"
	Local  ID     // the local ID at the time of the check
	Remote ID     // the ID the remote announced
	Err    error  // ErrRemoteStale or ErrLocalIncompatibleOrStale
}

func (e *RejectError) Error() string {
	return fmt.Sprintf("fork ID %s rejected by local %s (EIP-2124 rule %s): %v", e.Remote, e.Local, e.Rule, e.Err)
}

func (e *RejectError) Unwrap() error { return e.Err }

// TimestampThreshold is Ethereum mainnet's genesis time (2015-07-30). As in
// go-ethereum, a remote Next above it is taken to be a time rather than a
// height when checking rule 1a: a chain with time forks must schedule them
// at Unix times above this value, and must never reach this height.
const TimestampThreshold uint64 = 1438269973

// Filter validates a remote fork ID against the local chain. It returns nil to
// accept, or a *RejectError to reject.
type Filter func(remote ID) error

// Filter returns a validator applying EIP-2124's rules against the local head,
// which headFn reports (height and time of the head block) on every call.
func (c *Chain) Filter(headFn func() (head, time uint64)) Filter {
	nHeights := len(c.heights)
	forks := make([]uint64, 0, len(c.heights)+len(c.times)+1)
	forks = append(append(forks, c.heights...), c.times...)
	sums := make([][4]byte, len(forks)+1) // sums[0] is the genesis state
	sum := c.genesis
	sums[0] = HashFromUint32(sum)
	for i, fork := range forks {
		sum = checksumUpdate(sum, fork)
		sums[i+1] = HashFromUint32(sum)
	}
	// A sentinel fork that is never passed ends every walk inside the loop.
	forks = append(forks, math.MaxUint64)
	if len(c.times) == 0 {
		nHeights++ // a purely height-based chain compares the sentinel with the height
	}
	return func(remote ID) error {
		block, time := headFn()
		for i, fork := range forks {
			head := block
			if i >= nHeights {
				head = time
			}
			if head >= fork {
				continue // passed locally
			}
			// forks[i] is our first unpassed fork, sums[i] our current state.
			next := fork
			if next == math.MaxUint64 {
				next = 0
			}
			local := ID{Hash: sums[i], Next: next}
			reject := func(rule string, err error) error {
				return &RejectError{Rule: rule, Local: local, Remote: remote, Err: err}
			}
			// Rule 1: same state. Reject only if the remote announces a next
			// fork that we have already passed without applying it (1a).
			if sums[i] == remote.Hash {
				if remote.Next > 0 && (head >= remote.Next ||
					(remote.Next > TimestampThreshold && time >= remote.Next)) {
					return reject("1a", ErrLocalIncompatibleOrStale)
				}
				return nil // 1b
			}
			// Rule 2: the remote is in one of our past states (it is
			// syncing); accept if it knows the fork that followed.
			for j := 0; j < i; j++ {
				if sums[j] == remote.Hash {
					if forks[j] != remote.Next {
						return reject("2", ErrRemoteStale)
					}
					return nil
				}
			}
			// Rule 3: the remote is in one of our future states (we are
			// syncing).
			for j := i + 1; j < len(sums); j++ {
				if sums[j] == remote.Hash {
					return nil
				}
			}
			// Rule 4: reject everything else.
			return reject("4", ErrLocalIncompatibleOrStale)
		}
		return nil // unreachable: the sentinel is never passed
	}
}

// NewFilter returns a validator applying EIP-2124's rules to a remote ID, for
// a chain with the given genesis hash and fork points (gathered as [NewID]
// does). headFn reports the local head block's height and time; it is called
// on every validation.
//
// The rules, checked against the local state at the current head:
//
//  1. Same fork hash: accept (1b), unless the remote's Next is a fork point we
//     have already passed (1a: reject with ErrLocalIncompatibleOrStale).
//  2. The remote hash is one of our past states: accept if the remote's Next
//     is the fork that followed that state, else reject with ErrRemoteStale.
//  3. The remote hash is one of our known future states: accept.
//  4. Otherwise reject with ErrLocalIncompatibleOrStale.
func NewFilter(genesis []byte, heights, times []uint64, headFn func() (head, time uint64)) Filter {
	return NewChain(genesis, 0, heights, times).Filter(headFn)
}
