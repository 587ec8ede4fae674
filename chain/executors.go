package chain

import "github.com/forkgate/forkgate/signal"

// DefaultExecutors lists every executor of the reference chain.
func DefaultExecutors() []Executor {
	return []Executor{Coins{}}
}

// GovernanceParams are the parameters producers may change by proposal, and
// the protocol version that must be active first.
func GovernanceParams() []signal.ParamDecl {
	return nil
}
