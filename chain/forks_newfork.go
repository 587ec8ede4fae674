//go:build forkgate_newfork

package chain

import "github.com/forkgate/forkgate/schedule"

// ForkMinFeeV3 exists only in builds with -tags forkgate_newfork: the
// "newer release" of the tests that drive two builds against each other
// (cmd/forkgate TestVerifyTwoBuildsWithNewFork). It is a correctly gated
// change: the minimum fee [mver.coins.ForkMinFeeV3] applies from its height
// on, which configs schedule beyond every recorded chain.
var ForkMinFeeV3 = declare(schedule.Fork{Scope: "coins", Name: "ForkMinFeeV3", Release: "v0.3.0",
	Note: "Take the minimum fee from [mver.coins.ForkMinFeeV3] minFee from this height on."})
