// Package signal activates protocol versions through block-producer
// signalling: every block carries its producer's version, each declared
// version keeps a tally over the period's frozen producer set, and a version
// that reaches its threshold locks in and, after an optional grace, becomes
// active.
//
// Two modes share one controller:
//
//   - ModeDefault: support is cumulative (signalling v supports every version
//     <= v), a lowered signal withdraws support from every unpassed higher
//     version, lock-in with grace, timeout, minimum activation height, and a
//     passed version never goes back. This is TIP-555 done right.
//   - ModeTron: java-tron >= 4.7.2 reproduced exactly (exact-version tallies,
//     80%-style pass rule with the time gate rounded up to the maintenance
//     interval, latestVersion guard, lazy cascade, reset after the new producer
//     list). Use it to adopt the package on a TRON-family chain without
//     changing outcomes.
//
// Everything that feeds committed state is deterministic: no map iteration,
// no floats, no wall clock, no goroutines. State lives behind Store, with a
// format byte in every value, so a chain can keep it in its state tree. What
// is committed never depends on which versions the running binary
// implements; only the halt decision does. See docs/signal.md.
package signal
