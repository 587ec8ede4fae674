package forkid_test

import (
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/forkgate/forkgate/forkid"
)

func Example() {
	genesis, _ := hex.DecodeString("d4e56740f876aef8c010b86a40d5f56745a118d0906a34e69aec8c0db1cb8fa3")
	// Ethereum mainnet up to Petersburg; shared heights may repeat.
	heights := []uint64{1150000, 1920000, 2463000, 2675000, 4370000, 7280000, 7280000}

	fmt.Println(forkid.NewID(genesis, heights, nil, 1150000, 0))

	// A node past Petersburg meets a peer stuck on Byzantium.
	filter := forkid.NewFilter(genesis, heights, nil, func() (uint64, uint64) { return 7987396, 0 })
	err := filter(forkid.ID{Hash: forkid.HashFromUint32(0xa00bc324), Next: 0})
	fmt.Println(errors.Is(err, forkid.ErrRemoteStale))
	// Output:
	// hash=97c2c34c next=1920000
	// true
}
