package chain

import (
	"fmt"
	"math"

	"github.com/forkgate/forkgate/codec"
)

// Account is an address's coin balance and transaction count.
type Account struct {
	Balance uint64
	Nonce   uint64
}

const accountFormat = 1

func accountKey(a Address) []byte { return append([]byte("acct/"), a[:]...) }

// GetAccount reads an account; a missing one is empty.
func GetAccount(kv KV, a Address) (Account, error) {
	b, err := kv.Get(accountKey(a))
	if err != nil || b == nil {
		return Account{}, err
	}
	r := codec.NewReader(b)
	if f := r.U8(); r.Err() == nil && f != accountFormat {
		return Account{}, fmt.Errorf("account %s: stored format %d, this build reads %d", a, f, accountFormat)
	}
	acc := Account{Balance: r.U64(), Nonce: r.U64()}
	if err := r.Done("account " + a.String()); err != nil {
		return Account{}, err
	}
	return acc, nil
}

// PutAccount writes an account; an empty one is deleted so the state holds
// only live accounts.
func PutAccount(kv KV, a Address, acc Account) error {
	if acc == (Account{}) {
		return kv.Delete(accountKey(a))
	}
	var w codec.Writer
	w.U8(accountFormat)
	w.U64(acc.Balance)
	w.U64(acc.Nonce)
	return kv.Set(accountKey(a), w.Out())
}

// Credit adds coins to an address.
func Credit(kv KV, a Address, amount uint64) error {
	acc, err := GetAccount(kv, a)
	if err != nil {
		return err
	}
	if acc.Balance > math.MaxUint64-amount {
		return Reject("crediting %d to %s would overflow its balance", amount, a)
	}
	acc.Balance += amount
	return PutAccount(kv, a, acc)
}

// Debit takes coins from an address, refusing to overdraw.
func Debit(kv KV, a Address, amount uint64) error {
	acc, err := GetAccount(kv, a)
	if err != nil {
		return err
	}
	if acc.Balance < amount {
		return Reject("%s has %d coins, needs %d", a, acc.Balance, amount)
	}
	acc.Balance -= amount
	return PutAccount(kv, a, acc)
}

// Coins is the transfer executor. Fees are charged by the chain before any
// executor runs (see App.deliverTx); this executor moves coins.
type Coins struct{}

func (Coins) Name() string { return "coins" }

// Transfer is the payload of coins.transfer. To is the address as the user
// wrote it: its letter case is checked once ForkAddrChecksum is active.
type Transfer struct {
	To     string
	Amount uint64
}

func (t Transfer) Encode() []byte {
	var w codec.Writer
	w.String(t.To)
	w.U64(t.Amount)
	return w.Out()
}

func decodeTransfer(b []byte) (Transfer, error) {
	r := codec.NewReader(b)
	t := Transfer{To: r.String(), Amount: r.U64()}
	return t, r.Done("coins.transfer")
}

func (Coins) Exec(ctx *Context, tx *Tx) error {
	switch tx.Action {
	case "transfer":
		t, err := decodeTransfer(tx.Payload)
		if err != nil {
			return &TxError{Code: CodeDecode, Reason: err.Error()}
		}
		to, err := ParseAddress(t.To, ctx.Active(ctx.Forks.AddrChecksum))
		if err != nil {
			return Reject("coins.transfer: %v", err)
		}
		if t.Amount == 0 {
			return Reject("coins.transfer: amount is zero")
		}
		if err := Debit(ctx.KV, ctx.Sender, t.Amount); err != nil {
			return err
		}
		return Credit(ctx.KV, to, faultAmount(t.Amount))
	}
	return Reject("coins has no action %q; use transfer", tx.Action)
}
