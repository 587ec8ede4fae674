package workload

import (
	"fmt"

	"github.com/forkgate/forkgate/chain"
)

// Probes (Generator.Probes, the "coverage" profile) make a recorded chain
// exercise both sides of every fork's rule and the chain's reject paths, so
// that an ungated change to any rule changes a recorded outcome. The mixed
// load alone succeeds almost always: every fee is the same, every symbol has
// the same shape, nobody votes for itself, so a change to those rules would
// pass upgrade verification unseen.
//
// Each block ends with up to half of its transactions as probes:
//
//   - rule probes, one per fork whose rule a transaction can take either
//     side of, each from its own sender (it succeeds on one side of the
//     fork and is rejected on the other): a transfer to a recipient whose
//     letter case fails the checksum (ForkAddrChecksum), a transfer paying
//     ProbeFee (ForkMinFeeV2), a token symbol with a digit
//     (ForkTokenSymbolDigits), an issue by an account that does not own the
//     token (ForkTokenOwnerIssue), a producer re-voting its own stake for
//     itself (ForkNoSelfVote, a no-op vote before the fork), and a second
//     proposal by a producer with one open (ForkGovOneOpenProposal);
//   - two reject probes per block, rotating through the chain's reject
//     paths (bad nonce, signature, chain ID, executor, fee below every
//     minimum, bad symbol, overdraft, a reveal with the wrong salt, a vote
//     for a non-candidate, an unstake above the stake, a proposal by a
//     non-producer, an approval of an unknown proposal): they fail on every
//     side and are recorded with their codes. They reuse the sender's next
//     nonce without consuming it.
//
// With Probes, one joined game in ghostEvery is revealed by nobody, so a
// claim refunds both players. Like the rest of the generator, probes are a
// pure function of the seed, the height and the committed state.

// ghostEvery: one joined game in ghostEvery is revealed by neither player.
const ghostEvery = 6

// probeRejects is how many reject probes a block carries.
const probeRejects = 2

// probes appends the block's probes, at most max transactions.
func (b *block) probes(max int) {
	if max <= 0 {
		return
	}
	used := map[chain.Address]bool{}
	sender := func(ok func(actor) bool) (actor, bool) {
		return b.pickAccount(0, func(a actor) bool { return !used[a.addr] && (ok == nil || ok(a)) })
	}
	room := func() bool { return max > 0 }
	take := func(a actor) { used[a.addr] = true; max-- }

	// Reject probes first: they fail on every side and consume no nonce.
	for i := 0; i < probeRejects && room(); i++ {
		kind := int((b.height*probeRejects + int64(i)) % int64(len(rejectProbes)))
		if from, ok := sender(nil); ok {
			if rejectProbes[kind](b, from) {
				max--
			}
		}
	}
	// Rule probes: each sender at most once, as a probe may fail.
	if from, ok := sender(nil); ok && room() {
		if to := badChecksum(b.g.accounts[b.r.intn(len(b.g.accounts))].addr); to != "" {
			b.send(from, "coins", "transfer", chain.Transfer{To: to, Amount: 1}.Encode(), 1)
			take(from)
		}
	}
	if b.g.ProbeFee < b.g.Fee {
		if from, ok := sender(nil); ok && room() {
			b.sendFee(from, "coins", "transfer", chain.Transfer{To: b.g.accounts[0].addr.String(), Amount: 1}.Encode(), 0, b.g.ProbeFee)
			take(from)
		}
	}
	if from, ok := sender(nil); ok && room() {
		sym := fmt.Sprintf("Q%03d", b.height%10_000_000)
		b.send(from, "token", "create", chain.TokenCreate{Symbol: sym, Name: "Probe " + sym, MaxSupply: 1000}.Encode(), 0)
		take(from)
	}
	if b.g.tokens > 0 && room() {
		sym := tokenSymbol(b.r.intn(b.g.tokens))
		t, ok, err := chain.GetToken(b.view, sym)
		if err == nil && ok && t.Supply+b.issued[sym]+1 <= t.MaxSupply {
			if from, ok := sender(func(a actor) bool { return a.addr != t.Owner }); ok {
				b.issued[sym]++
				b.send(from, "token", "issue", chain.TokenIssue{Symbol: sym, To: from.addr.String(), Amount: 1}.Encode(), 0)
				take(from)
			}
		}
	}
	b.selfVote(used, room, take)
	if !b.maintenance() {
		b.secondProposal(used, room, take)
	}
}

// badChecksum writes a with the letter case of its first letter flipped, so
// it parses before ForkAddrChecksum and fails the checksum after; "" when
// the address has no letter.
func badChecksum(a chain.Address) string {
	s := []byte(a.String())
	for i := 2; i < len(s); i++ {
		switch {
		case s[i] >= 'a' && s[i] <= 'f':
			s[i] -= 'a' - 'A'
			return string(s)
		case s[i] >= 'A' && s[i] <= 'F':
			s[i] += 'a' - 'A'
			return string(s)
		}
	}
	return ""
}

// selfVote: a producer re-votes its whole stake for itself (its genesis
// vote), which changes nothing but the fee and nonce before ForkNoSelfVote
// and is rejected from it.
func (b *block) selfVote(used map[chain.Address]bool, room func() bool, take func(actor)) {
	if !room() {
		return
	}
	for i := range b.g.producers {
		p := b.g.producers[(int(b.height)+i)%len(b.g.producers)]
		if used[p.addr] || !b.affords(p.addr, 0) {
			continue
		}
		if _, cand, err := chain.GetCandidate(b.view, p.addr); err != nil || !cand {
			continue
		}
		s := b.stakeOf(p.addr)
		if s.Target != p.addr || s.Voted == 0 {
			continue
		}
		b.send(p, "producers", "vote", chain.ProducerVote{Candidate: p.addr.String(), Amount: s.Voted}.Encode(), 0)
		take(p)
		return
	}
}

// secondProposal: a producer of the set with an open proposal proposes
// again, accepted before ForkGovOneOpenProposal and rejected from it.
func (b *block) secondProposal(used map[chain.Address]bool, room func() bool, take func(actor)) {
	if !room() {
		return
	}
	tracked, err := chain.TrackedProposals(b.view)
	if err != nil {
		return
	}
	set, err := chain.ProducerSet(b.view)
	if err != nil {
		return
	}
	for _, t := range tracked {
		open, err := chain.ProposalOpen(b.view, t.ID)
		if err != nil || !open || used[t.Proposer] {
			continue
		}
		p, ok := b.controlled(t.Proposer)
		inSet := false
		for _, s := range set {
			inSet = inSet || s == t.Proposer
		}
		if !ok || !inSet || !b.affords(p.addr, b.g.Deposit) {
			continue
		}
		value := int64(minProposalValue * (1 + b.r.intn(20)))
		b.send(p, "governance", "propose", chain.GovPropose{Param: chain.ParamGameMaxStake, Value: value}.Encode(), b.g.Deposit)
		take(p)
		return
	}
}

// nobody is an address no key of any chain controls.
var nobody = chain.Address{0xde, 0xad, 0xbe, 0xef}

// rejectProbes each send one transaction that every side of every fork
// rejects, with the sender's next nonce, which it does not consume; false
// when the state offers nothing to probe.
var rejectProbes = []func(b *block, from actor) bool{
	func(b *block, from actor) bool { // CodeNonce
		return b.reject(from, func(tx *chain.Tx) { tx.Nonce += 1000 }, false, "coins", "transfer", chain.Transfer{To: from.addr.String(), Amount: 1}.Encode())
	},
	func(b *block, from actor) bool { // CodeSignature: signed, then altered
		return b.reject(from, nil, true, "coins", "transfer", chain.Transfer{To: b.g.accounts[0].addr.String(), Amount: 2}.Encode())
	},
	func(b *block, from actor) bool { // CodeChainID
		return b.reject(from, func(tx *chain.Tx) { tx.ChainID += "-other" }, false, "coins", "transfer", chain.Transfer{To: from.addr.String(), Amount: 1}.Encode())
	},
	func(b *block, from actor) bool { // CodeUnknownExec
		return b.reject(from, nil, false, "nosuchexec", "run", nil)
	},
	func(b *block, from actor) bool { // CodeFee: below every minimum
		if b.g.ProbeFee == 0 {
			return false
		}
		return b.reject(from, func(tx *chain.Tx) { tx.Fee = b.g.ProbeFee - 1 }, false, "coins", "transfer", chain.Transfer{To: from.addr.String(), Amount: 1}.Encode())
	},
	func(b *block, from actor) bool { // token: a symbol that starts with a digit
		return b.reject(from, nil, false, "token", "create", chain.TokenCreate{Symbol: "9AB", Name: "bad", MaxSupply: 1}.Encode())
	},
	func(b *block, from actor) bool { // coins: more than the balance
		return b.reject(from, nil, false, "coins", "transfer", chain.Transfer{To: from.addr.String(), Amount: 1 << 62}.Encode())
	},
	func(b *block, from actor) bool { // game: a reveal that does not open the commitment
		for _, gi := range b.live {
			if gi.State == chain.GameJoined && b.height <= gi.Deadline {
				p, ok := b.controlled(gi.Players[0])
				if !ok || p.addr != from.addr {
					continue
				}
				return b.reject(p, nil, false, "game", "reveal", chain.GameRevealPayload{ID: gi.ID, Move: chain.MoveRock, Salt: make([]byte, chain.GameSaltMin)}.Encode())
			}
		}
		return b.reject(from, nil, false, "game", "claim", chain.GameIDPayload{ID: 1 << 40}.Encode())
	},
	func(b *block, from actor) bool { // producers: a vote for an address nobody registered
		return b.reject(from, nil, false, "producers", "vote", chain.ProducerVote{Candidate: nobody.String(), Amount: 1}.Encode())
	},
	func(b *block, from actor) bool { // producers: unstake above the stake
		return b.reject(from, nil, false, "producers", "unstake", chain.ProducerAmount{Amount: maxAccountStake + 1}.Encode())
	},
	func(b *block, from actor) bool { // governance: a proposal by a non-producer
		return b.reject(from, nil, false, "governance", "propose", chain.GovPropose{Param: chain.ParamGameMaxStake, Value: minProposalValue}.Encode())
	},
	func(b *block, from actor) bool { // governance: an approval of an unknown proposal
		return b.reject(from, nil, false, "governance", "approve", chain.GovApprove{ID: 1 << 40}.Encode())
	},
}

// reject signs a transaction that must fail, with the sender's next nonce
// (not consumed); alter, if set, changes it before signing; damage flips a
// bit of the signature after.
func (b *block) reject(from actor, alter func(*chain.Tx), damage bool, exec, action string, payload []byte) bool {
	if !b.affords(from.addr, 0) {
		return false
	}
	n, ok := b.nonce[from.addr]
	if !ok {
		n = b.account(from.addr).Nonce
	}
	tx := &chain.Tx{ChainID: b.g.chainID, Exec: exec, Action: action, Payload: payload, Nonce: n, Fee: b.g.Fee}
	if alter != nil {
		alter(tx)
	}
	tx.Sign(from.key)
	if damage {
		tx.Sig[0] ^= 1
	}
	b.out = append(b.out, tx.Encode())
	return true
}
