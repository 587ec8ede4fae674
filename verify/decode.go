package verify

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/forkgate/forkgate/codec"

	"github.com/forkgate/forkgate/chain"
)

// The reference chain's state layout (docs/chain-executors.md, docs/signal.md)
// decoded for people: a diagnosis names keys such as acct/0xAb… and shows
// values as fields (balance 1000, nonce 3) rather than bytes. Values are
// read with the chain's own decoders, so the decoder cannot drift from the
// encoding.

// field is one named part of a decoded value.
type field struct{ name, val string }

// DescribeKey renders a state key: known prefixes with their address,
// symbol or number, anything else quoted with hex for non-printable bytes.
func DescribeKey(k []byte) string {
	s := string(k)
	addr := func(prefix string) (string, bool) {
		if strings.HasPrefix(s, prefix) && len(k) == len(prefix)+20 {
			var a chain.Address
			copy(a[:], k[len(prefix):])
			return prefix + a.String(), true
		}
		return "", false
	}
	for _, p := range []string{"acct/", "prod/cand/", "prod/votes/", "prod/stake/"} {
		if d, ok := addr(p); ok {
			return d
		}
	}
	if rest, ok := strings.CutPrefix(s, "token/bal/"); ok && len(rest) > 21 && rest[len(rest)-21] == '/' {
		var a chain.Address
		copy(a[:], k[len(k)-20:])
		return "token/bal/" + rest[:len(rest)-21] + "/" + a.String()
	}
	if strings.HasPrefix(s, "game/g/") && len(k) == len("game/g/")+8 {
		return fmt.Sprintf("game/g/%d", binary.BigEndian.Uint64(k[len("game/g/"):]))
	}
	for _, p := range []string{"signal/signal/slot/", "signal/signal/ver/"} {
		if strings.HasPrefix(s, p) && len(k) == len(p)+4 {
			return fmt.Sprintf("%s%d", p, binary.BigEndian.Uint32(k[len(p):]))
		}
	}
	if p := "signal/signal/prop/"; strings.HasPrefix(s, p) && len(k) == len(p)+8 {
		return fmt.Sprintf("%s%d", p, binary.BigEndian.Uint64(k[len(p):]))
	}
	return printable(k)
}

func printable(b []byte) string {
	for _, c := range b {
		if c < 0x20 || c > 0x7e {
			return fmt.Sprintf("%q (hex %s)", b, hex.EncodeToString(b))
		}
	}
	return string(b)
}

// decodeFields decodes a value stored under key with the chain's readers.
// ok is false for a key the decoder does not know or a value that does not
// decode (the caller then shows hex).
func decodeFields(key, value []byte) (fs []field, ok bool) {
	kv := chain.NewMemStore()
	if err := kv.Set(key, value); err != nil {
		return nil, false
	}
	s := string(key)
	addrAt := func(off int) chain.Address {
		var a chain.Address
		copy(a[:], key[off:])
		return a
	}
	u := func(v uint64) string { return fmt.Sprint(v) }
	i := func(v int64) string { return fmt.Sprint(v) }
	switch {
	case strings.HasPrefix(s, "acct/") && len(key) == 25:
		acc, err := chain.GetAccount(kv, addrAt(5))
		if err != nil {
			return nil, false
		}
		return []field{{"balance", u(acc.Balance)}, {"nonce", u(acc.Nonce)}}, true
	case s == "meta/burned" && len(value) == 8:
		return []field{{"burned", u(binary.BigEndian.Uint64(value))}}, true
	case s == "meta/producers":
		set, err := chain.ProducerSet(kv)
		if err != nil {
			return nil, false
		}
		return []field{{"set", addrList(set)}}, true
	case strings.HasPrefix(s, "token/info/"):
		t, found, err := chain.GetToken(kv, strings.TrimPrefix(s, "token/info/"))
		if err != nil || !found {
			return nil, false
		}
		return []field{{"name", fmt.Sprintf("%q", t.Name)}, {"owner", t.Owner.String()}, {"max supply", u(t.MaxSupply)},
			{"supply", u(t.Supply)}, {"created", i(t.Created)}}, true
	case strings.HasPrefix(s, "token/bal/") && len(key) > len("token/bal/")+21:
		sym := s[len("token/bal/") : len(s)-21]
		bal, err := chain.TokenBalance(kv, sym, addrAt(len(key)-20))
		if err != nil {
			return nil, false
		}
		return []field{{"balance", u(bal)}}, true
	case s == "game/next":
		id, err := chain.NextGameID(kv)
		if err != nil {
			return nil, false
		}
		return []field{{"next id", u(id)}}, true
	case strings.HasPrefix(s, "game/g/") && len(key) == len("game/g/")+8:
		g, found, err := chain.GetGame(kv, binary.BigEndian.Uint64(key[len("game/g/"):]))
		if err != nil || !found {
			return nil, false
		}
		state := map[uint8]string{1: "open", 2: "joined"}[g.State]
		if state == "" {
			state = fmt.Sprint(g.State)
		}
		return []field{{"state", state}, {"opener", g.Players[0].String()}, {"joiner", g.Players[1].String()},
			{"stake", u(g.Stake)}, {"moves", fmt.Sprintf("%d/%d", g.Moves[0], g.Moves[1])},
			{"opened", i(g.Opened)}, {"joined", i(g.Joined)}, {"deadline", i(g.Deadline)}}, true
	case s == "prod/cands":
		cs, err := chain.Candidates(kv)
		if err != nil {
			return nil, false
		}
		return []field{{"candidates", addrList(cs)}}, true
	case strings.HasPrefix(s, "prod/cand/") && len(key) == len("prod/cand/")+20:
		c, found, err := chain.GetCandidate(kv, addrAt(len("prod/cand/")))
		if err != nil || !found {
			return nil, false
		}
		return []field{{"bond", u(c.Bond)}, {"registered", i(c.Registered)}}, true
	case strings.HasPrefix(s, "prod/votes/") && len(key) == len("prod/votes/")+20:
		v, err := chain.Votes(kv, addrAt(len("prod/votes/")))
		if err != nil {
			return nil, false
		}
		return []field{{"votes", u(v)}}, true
	case strings.HasPrefix(s, "prod/stake/") && len(key) == len("prod/stake/")+20:
		st, err := chain.GetStake(kv, addrAt(len("prod/stake/")))
		if err != nil {
			return nil, false
		}
		target := "none"
		if !st.Target.IsZero() {
			target = st.Target.String()
		}
		return []field{{"staked", u(st.Staked)}, {"vote for", target}, {"voted", u(st.Voted)}}, true
	case s == "gov/props":
		ps, err := chain.TrackedProposals(kv)
		if err != nil {
			return nil, false
		}
		parts := make([]string, len(ps))
		for j, p := range ps {
			parts[j] = fmt.Sprintf("#%d by %s deposit %d", p.ID, p.Proposer, p.Deposit)
		}
		return []field{{"tracked", "[" + strings.Join(parts, "; ") + "]"}}, true
	case strings.HasPrefix(s, "signal/signal/param/") && len(value) == 9 && value[0] == 1:
		return []field{{"value", i(int64(binary.BigEndian.Uint64(value[1:])))}}, true
	case strings.HasPrefix(s, "signal/signal/slot/") && len(value) == 9 && value[0] == 1:
		return []field{{"period signal", u(uint64(binary.BigEndian.Uint32(value[1:])))}, {"last signal", u(uint64(binary.BigEndian.Uint32(value[5:])))}}, true
	}
	return nil, false
}

func addrList(as []chain.Address) string {
	parts := make([]string, len(as))
	for i, a := range as {
		parts[i] = a.String()
	}
	return "[" + strings.Join(parts, " ") + "]"
}

// DescribeValue renders a value stored under key ("<absent>" for nil).
func DescribeValue(key, value []byte) string {
	if value == nil {
		return "<absent>"
	}
	fs, ok := decodeFields(key, value)
	if !ok {
		return "hex " + shortHex(value, 64)
	}
	parts := make([]string, len(fs))
	for i, f := range fs {
		parts[i] = f.name + " " + f.val
	}
	return strings.Join(parts, ", ")
}

// DescribeChange renders a key's change from old to new, e.g.
// "acct/0xAb…: balance 1000 → 999, nonce 3 → 3". Small records show every
// field; larger ones only the fields that changed.
func DescribeChange(key, old, new []byte) string {
	k := DescribeKey(key)
	if old == nil || new == nil {
		return fmt.Sprintf("%s: %s → %s", k, DescribeValue(key, old), DescribeValue(key, new))
	}
	fo, ok1 := decodeFields(key, old)
	fn, ok2 := decodeFields(key, new)
	if !ok1 || !ok2 || len(fo) != len(fn) {
		return fmt.Sprintf("%s: %s → %s", k, DescribeValue(key, old), DescribeValue(key, new))
	}
	var parts []string
	for i := range fo {
		if len(fo) > 3 && fo[i].val == fn[i].val {
			continue
		}
		parts = append(parts, fmt.Sprintf("%s %s → %s", fo[i].name, fo[i].val, fn[i].val))
	}
	if len(parts) == 0 {
		return fmt.Sprintf("%s: same fields, different bytes (%s → %s)", k, shortHex(old, 64), shortHex(new, 64))
	}
	return k + ": " + strings.Join(parts, ", ")
}

func shortHex(b []byte, max int) string {
	s := hex.EncodeToString(b)
	if len(s) > max {
		return s[:max] + "…"
	}
	return s
}

// DescribeTx summarises a user transaction: exec.action, sender, nonce and,
// for the payloads the decoder knows, their fields.
func DescribeTx(raw []byte) (exec, action, sender, detail string) {
	tx, err := chain.DecodeTx(raw)
	if err != nil {
		return "?", "?", "?", "undecodable: " + err.Error()
	}
	exec, action, sender = tx.Exec, tx.Action, tx.Sender().String()
	detail = fmt.Sprintf("nonce %d, fee %d", tx.Nonce, tx.Fee)
	if tx.Exec == "coins" && tx.Action == "transfer" {
		r := codec.NewReader(tx.Payload)
		to, amount := r.String(), r.U64()
		if r.Done("transfer") == nil {
			detail = fmt.Sprintf("to %s, amount %d, %s", to, amount, detail)
		}
	}
	return exec, action, sender, detail
}

// txHash is the transaction hash the chain reports (sha256 of the bytes).
func txHash(raw []byte) string {
	d := sha256.Sum256(raw)
	return hex.EncodeToString(d[:])
}
