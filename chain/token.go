package chain

import (
	"fmt"

	"github.com/forkgate/forkgate/codec"
)

// Token is the fungible-token executor: create, issue, transfer, burn.
//
// State (every value starts with its format byte, 1):
//
//	token/info/<SYMBOL>             name, owner (20 bytes), max supply u64, supply u64, created height i64
//	token/bal/<SYMBOL>/<addr 20B>   balance u64 (deleted at 0)
//
// Symbols use only A-Z and 0-9, so "/" cannot occur inside one and the keys
// are unambiguous.
type Token struct{}

func (Token) Name() string { return "token" }

// Token limits.
const (
	TokenSymbolMin = 3
	TokenSymbolMax = 8
	TokenNameMax   = 64
)

// TokenCreate is the payload of token.create: the sender becomes the owner.
type TokenCreate struct {
	Symbol    string
	Name      string
	MaxSupply uint64
}

func (p TokenCreate) Encode() []byte {
	var w codec.Writer
	w.String(p.Symbol)
	w.String(p.Name)
	w.U64(p.MaxSupply)
	return w.Out()
}

func decodeTokenCreate(b []byte) (TokenCreate, error) {
	r := codec.NewReader(b)
	p := TokenCreate{Symbol: r.String(), Name: r.String(), MaxSupply: r.U64()}
	return p, r.Done("token.create")
}

// TokenIssue is the payload of token.issue: mint Amount to To.
type TokenIssue struct {
	Symbol string
	To     string
	Amount uint64
}

func (p TokenIssue) Encode() []byte {
	var w codec.Writer
	w.String(p.Symbol)
	w.String(p.To)
	w.U64(p.Amount)
	return w.Out()
}

func decodeTokenIssue(b []byte) (TokenIssue, error) {
	r := codec.NewReader(b)
	p := TokenIssue{Symbol: r.String(), To: r.String(), Amount: r.U64()}
	return p, r.Done("token.issue")
}

// TokenTransfer is the payload of token.transfer.
type TokenTransfer struct {
	Symbol string
	To     string
	Amount uint64
}

func (p TokenTransfer) Encode() []byte {
	var w codec.Writer
	w.String(p.Symbol)
	w.String(p.To)
	w.U64(p.Amount)
	return w.Out()
}

func decodeTokenTransfer(b []byte) (TokenTransfer, error) {
	r := codec.NewReader(b)
	p := TokenTransfer{Symbol: r.String(), To: r.String(), Amount: r.U64()}
	return p, r.Done("token.transfer")
}

// TokenBurn is the payload of token.burn: destroy Amount of the sender's
// tokens, lowering the supply.
type TokenBurn struct {
	Symbol string
	Amount uint64
}

func (p TokenBurn) Encode() []byte {
	var w codec.Writer
	w.String(p.Symbol)
	w.U64(p.Amount)
	return w.Out()
}

func decodeTokenBurn(b []byte) (TokenBurn, error) {
	r := codec.NewReader(b)
	p := TokenBurn{Symbol: r.String(), Amount: r.U64()}
	return p, r.Done("token.burn")
}

// TokenInfo is a token's stored description.
type TokenInfo struct {
	Symbol    string
	Name      string
	Owner     Address
	MaxSupply uint64
	Supply    uint64
	Created   int64
}

const tokenFormat = 1

func tokenInfoKey(sym string) []byte { return []byte("token/info/" + sym) }

func tokenBalKey(sym string, a Address) []byte {
	return append([]byte("token/bal/"+sym+"/"), a[:]...)
}

// GetToken reads a token; found is false when the symbol is not created.
func GetToken(kv KV, sym string) (TokenInfo, bool, error) {
	what := "token " + sym
	r, found, err := record(kv, tokenInfoKey(sym), tokenFormat, what)
	if err != nil || !found {
		return TokenInfo{}, false, err
	}
	t := TokenInfo{Symbol: sym, Name: r.String()}
	r.Fixed(t.Owner[:])
	t.MaxSupply, t.Supply, t.Created = r.U64(), r.U64(), r.I64()
	if err := r.Done(what); err != nil {
		return TokenInfo{}, false, err
	}
	return t, true, nil
}

func putToken(kv KV, t TokenInfo) error {
	var w codec.Writer
	w.U8(tokenFormat)
	w.String(t.Name)
	w.Fixed(t.Owner[:])
	w.U64(t.MaxSupply)
	w.U64(t.Supply)
	w.I64(t.Created)
	return kv.Set(tokenInfoKey(t.Symbol), w.Out())
}

// TokenBalance is an address's balance of a token.
func TokenBalance(kv KV, sym string, a Address) (uint64, error) {
	what := "token balance " + sym + " of " + a.String()
	r, found, err := record(kv, tokenBalKey(sym, a), tokenFormat, what)
	if err != nil || !found {
		return 0, err
	}
	v := r.U64()
	return v, r.Done(what)
}

func putTokenBalance(kv KV, sym string, a Address, v uint64) error {
	if v == 0 {
		return kv.Delete(tokenBalKey(sym, a))
	}
	var w codec.Writer
	w.U8(tokenFormat)
	w.U64(v)
	return kv.Set(tokenBalKey(sym, a), w.Out())
}

func creditToken(kv KV, sym string, a Address, amount uint64) error {
	bal, err := TokenBalance(kv, sym, a)
	if err != nil {
		return err
	}
	sum, ok := addU64(bal, amount)
	if !ok {
		return Reject("crediting %d %s to %s would overflow its balance", amount, sym, a)
	}
	return putTokenBalance(kv, sym, a, sum)
}

func debitToken(kv KV, sym string, a Address, amount uint64) error {
	bal, err := TokenBalance(kv, sym, a)
	if err != nil {
		return err
	}
	if bal < amount {
		return Reject("%s has %d %s, needs %d", a, bal, sym, amount)
	}
	return putTokenBalance(kv, sym, a, bal-amount)
}

// CheckTokenSymbol applies the symbol rules: 3 to 8 characters, A-Z; with
// digits (ForkTokenSymbolDigits) also 0-9 after a leading letter.
func CheckTokenSymbol(s string, digits bool) error {
	if len(s) < TokenSymbolMin || len(s) > TokenSymbolMax {
		return fmt.Errorf("symbol %q has %d characters; use %d to %d", s, len(s), TokenSymbolMin, TokenSymbolMax)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'A' && c <= 'Z':
		case c >= '0' && c <= '9' && i == 0:
			return fmt.Errorf("symbol %q starts with a digit; start it with a letter A-Z", s)
		case c >= '0' && c <= '9' && !digits:
			return fmt.Errorf("symbol %q has a digit; digits are allowed only from ForkTokenSymbolDigits on, use A-Z", s)
		case c >= '0' && c <= '9':
		default:
			return fmt.Errorf("symbol %q has %q; use upper-case letters A-Z (and digits 0-9 after the first letter once ForkTokenSymbolDigits is active)", s, c)
		}
	}
	return nil
}

func checkTokenName(n string) error {
	if len(n) == 0 || len(n) > TokenNameMax {
		return fmt.Errorf("name has %d bytes; use 1 to %d", len(n), TokenNameMax)
	}
	for i := 0; i < len(n); i++ {
		if n[i] < 0x20 || n[i] > 0x7e {
			return fmt.Errorf("name %q has a byte outside printable ASCII at offset %d", n, i)
		}
	}
	return nil
}

func (Token) Exec(ctx *Context, tx *Tx) error {
	switch tx.Action {
	case "create":
		p, err := decodeTokenCreate(tx.Payload)
		if err != nil {
			return decodeErr(err)
		}
		return tokenCreate(ctx, p)
	case "issue":
		p, err := decodeTokenIssue(tx.Payload)
		if err != nil {
			return decodeErr(err)
		}
		return tokenIssue(ctx, p)
	case "transfer":
		p, err := decodeTokenTransfer(tx.Payload)
		if err != nil {
			return decodeErr(err)
		}
		return tokenTransfer(ctx, p)
	case "burn":
		p, err := decodeTokenBurn(tx.Payload)
		if err != nil {
			return decodeErr(err)
		}
		return tokenBurn(ctx, p)
	}
	return Reject("token has no action %q; use create, issue, transfer or burn", tx.Action)
}

func tokenCreate(ctx *Context, p TokenCreate) error {
	if err := CheckTokenSymbol(p.Symbol, ctx.Active(ctx.Forks.TokenSymbolDigits)); err != nil {
		return Reject("token.create: %v", err)
	}
	if err := checkTokenName(p.Name); err != nil {
		return Reject("token.create %s: %v", p.Symbol, err)
	}
	if p.MaxSupply == 0 {
		return Reject("token.create %s: max supply is zero; give a positive max supply", p.Symbol)
	}
	if limit := uint64(govParam(ctx, ParamTokenMaxSupply)); p.MaxSupply > limit {
		return Reject("token.create %s: max supply %d exceeds the chain's limit %d (governance parameter %s)", p.Symbol, p.MaxSupply, limit, ParamTokenMaxSupply)
	}
	_, exists, err := GetToken(ctx.KV, p.Symbol)
	if err != nil {
		return err
	}
	if exists {
		return Reject("token.create: symbol %s is already taken; choose another", p.Symbol)
	}
	return putToken(ctx.KV, TokenInfo{Symbol: p.Symbol, Name: p.Name, Owner: ctx.Sender, MaxSupply: p.MaxSupply, Created: ctx.Height})
}

// existingToken loads a token named in a payload.
func existingToken(ctx *Context, action, sym string) (TokenInfo, error) {
	t, ok, err := GetToken(ctx.KV, sym)
	if err != nil {
		return t, err
	}
	if !ok {
		return t, Reject("token.%s: no token %q; create it first (symbols are case-sensitive, upper-case)", action, sym)
	}
	return t, nil
}

func tokenIssue(ctx *Context, p TokenIssue) error {
	if p.Amount == 0 {
		return Reject("token.issue %s: amount is zero", p.Symbol)
	}
	to, err := recipient(ctx, p.To)
	if err != nil {
		return Reject("token.issue %s: %v", p.Symbol, err)
	}
	t, err := existingToken(ctx, "issue", p.Symbol)
	if err != nil {
		return err
	}
	// Before ForkTokenOwnerIssue anyone could issue: the bug is kept so
	// old blocks replay to the same state.
	if ctx.Active(ctx.Forks.TokenOwnerIssue) && ctx.Sender != t.Owner {
		return Reject("token.issue %s: only the owner %s may issue", p.Symbol, t.Owner)
	}
	if p.Amount > t.MaxSupply-t.Supply {
		return Reject("token.issue %s: issuing %d would exceed the max supply %d (supply %d, %d left)", p.Symbol, p.Amount, t.MaxSupply, t.Supply, t.MaxSupply-t.Supply)
	}
	t.Supply += p.Amount
	if err := putToken(ctx.KV, t); err != nil {
		return err
	}
	return creditToken(ctx.KV, p.Symbol, to, p.Amount)
}

func tokenTransfer(ctx *Context, p TokenTransfer) error {
	if p.Amount == 0 {
		return Reject("token.transfer %s: amount is zero", p.Symbol)
	}
	to, err := recipient(ctx, p.To)
	if err != nil {
		return Reject("token.transfer %s: %v", p.Symbol, err)
	}
	if _, err := existingToken(ctx, "transfer", p.Symbol); err != nil {
		return err
	}
	if err := debitToken(ctx.KV, p.Symbol, ctx.Sender, p.Amount); err != nil {
		return err
	}
	return creditToken(ctx.KV, p.Symbol, to, p.Amount)
}

func tokenBurn(ctx *Context, p TokenBurn) error {
	if p.Amount == 0 {
		return Reject("token.burn %s: amount is zero", p.Symbol)
	}
	t, err := existingToken(ctx, "burn", p.Symbol)
	if err != nil {
		return err
	}
	if err := debitToken(ctx.KV, p.Symbol, ctx.Sender, p.Amount); err != nil {
		return err
	}
	if t.Supply < p.Amount {
		return errCorrupt("token " + p.Symbol + " supply")
	}
	t.Supply -= p.Amount
	return putToken(ctx.KV, t)
}
