package chain

import (
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"

	"github.com/forkgate/forkgate/codec"
	"github.com/forkgate/forkgate/signal"
)

// Upgrade verification shows a state key that differs between two builds as
// people read it (`acct/0xAb…: balance 1000 → 999`), and a transaction by
// its payload's fields. The code that owns a key knows its layout, so each
// executor, the App's own keys and the signal controller describe their own;
// DescribeState only dispatches. Values are read with the same decoders that
// execution uses, so a description cannot drift from the encoding.

// Field is one named part of a decoded state value.
type Field struct{ Name, Value string }

// StateDescription is one state key and its value, rendered for people.
type StateDescription struct {
	Key    string  // e.g. "acct/0xAb…", "game/g/7"
	Owner  string  // the executor, "chain" (the App's own keys) or "signal"
	Fields []Field // the decoded value; nil when absent or undecodable
	// Err says why a present value does not decode with this build's
	// reader (an encoding this build does not know, or corrupt bytes).
	Err error
}

// Describer is implemented by the code that owns state keys: every executor
// of DefaultExecutors, so a new executor is described once it implements it.
type Describer interface {
	// DescribeState renders key and decodes value (nil: the key is absent).
	// ok is false when the key is not this owner's.
	DescribeState(key, value []byte) (d StateDescription, ok bool)
	// DescribePayload renders a transaction payload's fields for one of
	// the executor's actions ("to 0x…, amount 5"); "" when it cannot.
	DescribePayload(action string, payload []byte) string
}

// DescribeState describes a state key of the reference chain with the
// executors' describers (nil: DefaultExecutors), the App's own keys and the
// signal controller's. An unknown key is quoted, hex for unprintable bytes.
func DescribeState(execs []Executor, key, value []byte) StateDescription {
	if execs == nil {
		execs = DefaultExecutors()
	}
	if d, ok := describeAppKey(key, value); ok {
		return d
	}
	if rest, ok := strings.CutPrefix(string(key), signalPrefix); ok {
		if sd, ok := signal.DescribeState([]byte(rest), value); ok {
			d := StateDescription{Key: signalPrefix + sd.Key, Owner: "signal", Err: sd.Err}
			for _, f := range sd.Fields {
				d.Fields = append(d.Fields, Field{Name: f.Name, Value: f.Value})
			}
			return d
		}
	}
	for _, e := range execs {
		if ds, ok := e.(Describer); ok {
			if d, ok := ds.DescribeState(key, value); ok {
				d.Owner = e.Name()
				return d
			}
		}
	}
	return StateDescription{Key: printableKey(key)}
}

// DescribeState is DescribeState with the App's executors.
func (a *App) DescribeState(key, value []byte) StateDescription {
	execs := make([]Executor, 0, len(a.execs))
	for _, n := range a.execNames() {
		execs = append(execs, a.execs[n])
	}
	return DescribeState(execs, key, value)
}

// DescribeTx summarises a user transaction's payload with its executor's
// describer (nil execs: DefaultExecutors); "" when none knows it.
func DescribeTx(execs []Executor, tx *Tx) string {
	if execs == nil {
		execs = DefaultExecutors()
	}
	for _, e := range execs {
		if ds, ok := e.(Describer); ok && e.Name() == tx.Exec {
			return ds.DescribePayload(tx.Action, tx.Payload)
		}
	}
	return ""
}

// signalPrefix is where the App keeps the signal controller's store.
const signalPrefix = "signal/"

// printableKey quotes a key, with hex for keys that are not printable.
func printableKey(b []byte) string {
	for _, c := range b {
		if c < 0x20 || c > 0x7e {
			return fmt.Sprintf("%q (hex %x)", b, b)
		}
	}
	return string(b)
}

// oneKV is a KV holding one value, so the executors' readers, which take a
// KV, decode a value on its own.
type oneKV struct{ key, value []byte }

func (o oneKV) Get(k []byte) ([]byte, error) {
	if string(k) == string(o.key) {
		return o.value, nil
	}
	return nil, nil
}
func (oneKV) Set([]byte, []byte) error { return fmt.Errorf("read-only") }
func (oneKV) Delete([]byte) error      { return fmt.Errorf("read-only") }

// addrKey reads "<prefix><20-byte address>".
func addrKey(key []byte, prefix string) (Address, bool) {
	var a Address
	if !strings.HasPrefix(string(key), prefix) || len(key) != len(prefix)+len(a) {
		return a, false
	}
	copy(a[:], key[len(prefix):])
	return a, true
}

// describe fills in a description: decode runs only for a present value.
func describe(key string, value []byte, decode func() ([]Field, error)) (StateDescription, bool) {
	d := StateDescription{Key: key}
	if value != nil {
		d.Fields, d.Err = decode()
		if d.Err != nil {
			d.Fields = nil
		}
	}
	return d, true
}

func u64s(v uint64) string { return strconv.FormatUint(v, 10) }
func i64s(v int64) string  { return strconv.FormatInt(v, 10) }

func addrList(as []Address) string {
	parts := make([]string, len(as))
	for i, a := range as {
		parts[i] = a.String()
	}
	return "[" + strings.Join(parts, " ") + "]"
}

// describeAppKey covers the keys the App writes itself: the producer set and
// the burned fees.
func describeAppKey(key, value []byte) (StateDescription, bool) {
	kv := oneKV{key, value}
	switch string(key) {
	case string(producerSetKey), string(prevProducerSetKey):
		d, ok := describe(string(key), value, func() ([]Field, error) {
			set, err := getAddrSet(kv, key)
			return []Field{{"set", addrList(set)}}, err
		})
		d.Owner = "chain"
		return d, ok
	case string(burnedKey):
		d, ok := describe(string(key), value, func() ([]Field, error) {
			r := codec.NewReader(value)
			v := r.U64()
			return []Field{{"burned", u64s(v)}}, r.Done("meta/burned")
		})
		d.Owner = "chain"
		return d, ok
	}
	return StateDescription{}, false
}

// DescribeState implements Describer: acct/<addr>.
func (Coins) DescribeState(key, value []byte) (StateDescription, bool) {
	a, ok := addrKey(key, "acct/")
	if !ok {
		return StateDescription{}, false
	}
	return describe("acct/"+a.String(), value, func() ([]Field, error) {
		acc, err := GetAccount(oneKV{key, value}, a)
		return []Field{{"balance", u64s(acc.Balance)}, {"nonce", u64s(acc.Nonce)}}, err
	})
}

// DescribePayload implements Describer.
func (Coins) DescribePayload(action string, payload []byte) string {
	if action != "transfer" {
		return ""
	}
	t, err := decodeTransfer(payload)
	if err != nil {
		return ""
	}
	return fmt.Sprintf("to %s, amount %d", t.To, t.Amount)
}

// DescribeState implements Describer: token/info/<SYM>, token/bal/<SYM>/<addr>.
func (Token) DescribeState(key, value []byte) (StateDescription, bool) {
	s := string(key)
	kv := oneKV{key, value}
	if sym, ok := strings.CutPrefix(s, "token/info/"); ok {
		return describe(s, value, func() ([]Field, error) {
			t, _, err := GetToken(kv, sym)
			return []Field{{"name", strconv.Quote(t.Name)}, {"owner", t.Owner.String()}, {"max supply", u64s(t.MaxSupply)},
				{"supply", u64s(t.Supply)}, {"created", i64s(t.Created)}}, err
		})
	}
	if rest, ok := strings.CutPrefix(s, "token/bal/"); ok && len(rest) > 21 && rest[len(rest)-21] == '/' {
		sym := rest[:len(rest)-21]
		var a Address
		copy(a[:], key[len(key)-20:])
		return describe("token/bal/"+sym+"/"+a.String(), value, func() ([]Field, error) {
			bal, err := TokenBalance(kv, sym, a)
			return []Field{{"balance", u64s(bal)}}, err
		})
	}
	return StateDescription{}, false
}

// DescribePayload implements Describer.
func (Token) DescribePayload(action string, payload []byte) string {
	switch action {
	case "create":
		if p, err := decodeTokenCreate(payload); err == nil {
			return fmt.Sprintf("symbol %q, name %q, max supply %d", p.Symbol, p.Name, p.MaxSupply)
		}
	case "issue":
		if p, err := decodeTokenIssue(payload); err == nil {
			return fmt.Sprintf("symbol %q, to %s, amount %d", p.Symbol, p.To, p.Amount)
		}
	case "transfer":
		if p, err := decodeTokenTransfer(payload); err == nil {
			return fmt.Sprintf("symbol %q, to %s, amount %d", p.Symbol, p.To, p.Amount)
		}
	case "burn":
		if p, err := decodeTokenBurn(payload); err == nil {
			return fmt.Sprintf("symbol %q, amount %d", p.Symbol, p.Amount)
		}
	}
	return ""
}

// DescribeState implements Describer: game/next, game/g/<u64>.
func (Game) DescribeState(key, value []byte) (StateDescription, bool) {
	kv := oneKV{key, value}
	if string(key) == string(gameNextKey) {
		return describe(string(key), value, func() ([]Field, error) {
			id, err := NextGameID(kv)
			return []Field{{"next id", u64s(id)}}, err
		})
	}
	const p = "game/g/"
	if !strings.HasPrefix(string(key), p) || len(key) != len(p)+8 {
		return StateDescription{}, false
	}
	id := binary.BigEndian.Uint64(key[len(p):])
	return describe(fmt.Sprintf("%s%d", p, id), value, func() ([]Field, error) {
		g, _, err := GetGame(kv, id)
		state := map[uint8]string{GameOpen: "open", GameJoined: "joined"}[g.State]
		if state == "" {
			state = strconv.Itoa(int(g.State))
		}
		return []Field{{"state", state}, {"opener", g.Players[0].String()}, {"joiner", g.Players[1].String()},
			{"stake", u64s(g.Stake)}, {"moves", fmt.Sprintf("%d/%d", g.Moves[0], g.Moves[1])},
			{"opened", i64s(g.Opened)}, {"joined", i64s(g.Joined)}, {"deadline", i64s(g.Deadline)}}, err
	})
}

// DescribePayload implements Describer.
func (Game) DescribePayload(action string, payload []byte) string {
	switch action {
	case "open":
		if p, err := decodeGameOpen(payload); err == nil {
			return fmt.Sprintf("stake %d", p.Stake)
		}
	case "join":
		if p, err := decodeGameJoin(payload); err == nil {
			return fmt.Sprintf("game %d, stake %d", p.ID, p.Stake)
		}
	case "reveal":
		if p, err := decodeGameReveal(payload); err == nil {
			return fmt.Sprintf("game %d, move %d", p.ID, p.Move)
		}
	case "claim", "cancel":
		if p, err := decodeGameID(payload, "game."+action); err == nil {
			return fmt.Sprintf("game %d", p.ID)
		}
	}
	return ""
}

// DescribeState implements Describer: prod/cands, prod/cand/, prod/votes/,
// prod/stake/ keys.
func (Producers) DescribeState(key, value []byte) (StateDescription, bool) {
	kv := oneKV{key, value}
	if string(key) == string(candListKey) {
		return describe(string(key), value, func() ([]Field, error) {
			cs, err := Candidates(kv)
			return []Field{{"candidates", addrList(cs)}}, err
		})
	}
	if a, ok := addrKey(key, "prod/cand/"); ok {
		return describe("prod/cand/"+a.String(), value, func() ([]Field, error) {
			c, _, err := GetCandidate(kv, a)
			return []Field{{"bond", u64s(c.Bond)}, {"registered", i64s(c.Registered)}}, err
		})
	}
	if a, ok := addrKey(key, "prod/votes/"); ok {
		return describe("prod/votes/"+a.String(), value, func() ([]Field, error) {
			v, err := Votes(kv, a)
			return []Field{{"votes", u64s(v)}}, err
		})
	}
	if a, ok := addrKey(key, "prod/stake/"); ok {
		return describe("prod/stake/"+a.String(), value, func() ([]Field, error) {
			st, err := GetStake(kv, a)
			target := "none"
			if !st.Target.IsZero() {
				target = st.Target.String()
			}
			return []Field{{"staked", u64s(st.Staked)}, {"vote for", target}, {"voted", u64s(st.Voted)}}, err
		})
	}
	return StateDescription{}, false
}

// DescribePayload implements Describer.
func (Producers) DescribePayload(action string, payload []byte) string {
	switch action {
	case "stake", "unstake":
		r := codec.NewReader(payload)
		if v := r.U64(); r.Done(action) == nil {
			return fmt.Sprintf("amount %d", v)
		}
	case "vote":
		r := codec.NewReader(payload)
		if c, v := r.String(), r.U64(); r.Done(action) == nil {
			return fmt.Sprintf("candidate %s, amount %d", c, v)
		}
	}
	return ""
}

// DescribeState implements Describer: gov/props.
func (Governance) DescribeState(key, value []byte) (StateDescription, bool) {
	if string(key) != string(govPropsKey) {
		return StateDescription{}, false
	}
	return describe(string(key), value, func() ([]Field, error) {
		ps, err := TrackedProposals(oneKV{key, value})
		parts := make([]string, len(ps))
		for i, p := range ps {
			parts[i] = fmt.Sprintf("#%d by %s deposit %d", p.ID, p.Proposer, p.Deposit)
		}
		return []Field{{"tracked", "[" + strings.Join(parts, "; ") + "]"}}, err
	})
}

// DescribePayload implements Describer.
func (Governance) DescribePayload(action string, payload []byte) string {
	switch action {
	case "propose":
		r := codec.NewReader(payload)
		if p, v := r.String(), r.I64(); r.Done(action) == nil {
			return fmt.Sprintf("param %s, value %d", p, v)
		}
	case "approve":
		r := codec.NewReader(payload)
		if id := r.U64(); r.Done(action) == nil {
			return fmt.Sprintf("proposal %d", id)
		}
	}
	return ""
}
