package chain

import (
	"fmt"

	"github.com/forkgate/forkgate/schedule"
	"github.com/forkgate/forkgate/signal"
)

// Executor runs the actions of one module ("coins", "token", …). Exec either
// succeeds, or returns an error (a *TxError, or any error, which becomes
// CodeExec) and the chain drops every write the transaction made.
type Executor interface {
	Name() string
	Exec(ctx *Context, tx *Tx) error
}

// Context is what an executor sees of the chain while it runs one
// transaction. Everything in it is a function of the blocks applied so far.
type Context struct {
	Height   int64
	Time     int64
	Producer Address // the block's producer
	Sender   Address // the transaction's signer
	KV       KV      // the transaction's overlay of the state
	Rules    *schedule.Rules
	Forks    *Forks
	Params   *Params
	Signal   *signal.Controller
	ChainID  string
}

// Active reports whether a fork is active for this block.
func (c *Context) Active(h schedule.Handle) bool { return c.Rules.Active(h) }

// Param is an integer parameter's value for this block.
func (c *Context) Param(p param) int64 { return p.in(c.Rules) }

// Result codes of a transaction. Code 0 is success. The numbers are part of
// every block's results (CometBFT hashes them into the next header's
// LastResultsHash) and of recorded fixtures: they are written out, never
// renumbered, and new codes take new numbers (TestResultCodesArePinned).
const (
	CodeOK          uint32 = 0
	CodeDecode      uint32 = 1
	CodeSignature   uint32 = 2
	CodeChainID     uint32 = 3
	CodeNonce       uint32 = 4
	CodeFee         uint32 = 5
	CodeUnknownExec uint32 = 6
	CodeExec        uint32 = 7
	CodeBadBlock    uint32 = 8
)

// TxError rejects a transaction with a reason a user can act on.
type TxError struct {
	Code   uint32
	Reason string
}

func (e *TxError) Error() string { return e.Reason }

// Reject builds an executor failure.
func Reject(format string, args ...any) error {
	return &TxError{Code: CodeExec, Reason: fmt.Sprintf(format, args...)}
}

func codeOf(err error) uint32 {
	if te, ok := err.(*TxError); ok {
		return te.Code
	}
	return CodeExec
}
