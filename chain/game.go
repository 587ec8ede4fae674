package chain

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"

	"github.com/forkgate/forkgate/codec"
)

// Game is rock-paper-scissors with commit–reveal and a pot.
//
//	open(stake, commitment)        the opener locks stake; game id = next counter value
//	join(id, stake, commitment)    a second player locks the same stake, up to
//	                               the open deadline
//	reveal(id, move, salt)         each player opens its commitment; the second
//	                               reveal settles the game
//	claim(id)                      after the reveal deadline: the only revealer
//	                               takes the pot (as a win); if nobody revealed,
//	                               either player refunds both stakes
//	cancel(id)                     the opener takes its stake back when nobody
//	                               joined before the deadline
//
// commitment = sha256(move || salt), move one byte (1 rock, 2 paper,
// 3 scissors), salt 16 to 64 bytes. Deadlines are heights fixed when a game
// opens (cancel possible after opened+revealTimeout) and when it is joined
// (reveals accepted up to joined+revealTimeout, claim after), with the
// game.revealTimeout parameter in force at that height.
//
// Payout of a pot of 2×stake: the winner gets 95% (98% from
// ForkGamePayoutV2), the rest is the house cut, paid to the block's
// producer. A draw: before ForkGameDrawRefund the house cut is taken and the
// rest split equally (an odd unit to the producer); from it both players get
// their stake back.
//
// State (format byte 1 first):
//
//	game/next           next game id u64 (ids start at 1)
//	game/g/<u64 id>     a live game (deleted once settled, claimed or cancelled)
type Game struct{}

func (Game) Name() string { return "game" }

// Moves.
const (
	MoveRock     uint8 = 1
	MovePaper    uint8 = 2
	MoveScissors uint8 = 3
)

// Salt length bounds for a commitment.
const (
	GameSaltMin = 16
	GameSaltMax = 64
)

// Game states.
const (
	GameOpen   uint8 = 1 // waiting for a second player
	GameJoined uint8 = 2 // both committed, reveals in progress
)

// Payout percentages.
const (
	GamePayoutPct   = 95
	GamePayoutPctV2 = 98
)

// GameCommitment is sha256(move || salt).
func GameCommitment(move uint8, salt []byte) [32]byte {
	return sha256.Sum256(append([]byte{move}, salt...))
}

// GameOpenPayload is the payload of game.open.
type GameOpenPayload struct {
	Stake      uint64
	Commitment [32]byte
}

func (p GameOpenPayload) Encode() []byte {
	var w codec.Writer
	w.U64(p.Stake)
	w.Fixed(p.Commitment[:])
	return w.Out()
}

// GameJoinPayload is the payload of game.join; Stake must equal the
// opener's.
type GameJoinPayload struct {
	ID         uint64
	Stake      uint64
	Commitment [32]byte
}

func (p GameJoinPayload) Encode() []byte {
	var w codec.Writer
	w.U64(p.ID)
	w.U64(p.Stake)
	w.Fixed(p.Commitment[:])
	return w.Out()
}

// GameRevealPayload is the payload of game.reveal.
type GameRevealPayload struct {
	ID   uint64
	Move uint8
	Salt []byte
}

func (p GameRevealPayload) Encode() []byte {
	var w codec.Writer
	w.U64(p.ID)
	w.U8(p.Move)
	w.Bytes(p.Salt)
	return w.Out()
}

// GameIDPayload is the payload of game.claim and game.cancel.
type GameIDPayload struct{ ID uint64 }

func (p GameIDPayload) Encode() []byte {
	var w codec.Writer
	w.U64(p.ID)
	return w.Out()
}

// GameInfo is a live game as stored. Player 0 opened it, player 1 joined.
type GameInfo struct {
	ID       uint64
	State    uint8
	Players  [2]Address
	Stake    uint64
	Commits  [2][32]byte
	Moves    [2]uint8 // 0: not revealed
	Opened   int64
	Joined   int64 // 0 while open
	Deadline int64 // open: cancel after it; joined: last height to reveal
}

const gameFormat = 1

var gameNextKey = []byte("game/next")

func gameKey(id uint64) []byte { return binary.BigEndian.AppendUint64([]byte("game/g/"), id) }

// NextGameID is the id the next game.open will get.
func NextGameID(kv KV) (uint64, error) {
	r, found, err := record(kv, gameNextKey, gameFormat, "game counter")
	if err != nil || !found {
		return 1, err
	}
	id := r.U64()
	return id, r.Done("game counter")
}

// GetGame reads a live game; found is false for an unknown or finished one.
func GetGame(kv KV, id uint64) (GameInfo, bool, error) {
	what := fmt.Sprintf("game %d", id)
	r, found, err := record(kv, gameKey(id), gameFormat, what)
	if err != nil || !found {
		return GameInfo{}, false, err
	}
	g := GameInfo{ID: id, State: r.U8()}
	r.Fixed(g.Players[0][:])
	r.Fixed(g.Players[1][:])
	g.Stake = r.U64()
	r.Fixed(g.Commits[0][:])
	r.Fixed(g.Commits[1][:])
	g.Moves[0], g.Moves[1] = r.U8(), r.U8()
	g.Opened, g.Joined, g.Deadline = r.I64(), r.I64(), r.I64()
	if err := r.Done(what); err != nil {
		return GameInfo{}, false, err
	}
	return g, true, nil
}

func putGame(kv KV, g GameInfo) error {
	var w codec.Writer
	w.U8(gameFormat)
	w.U8(g.State)
	w.Fixed(g.Players[0][:])
	w.Fixed(g.Players[1][:])
	w.U64(g.Stake)
	w.Fixed(g.Commits[0][:])
	w.Fixed(g.Commits[1][:])
	w.U8(g.Moves[0])
	w.U8(g.Moves[1])
	w.I64(g.Opened)
	w.I64(g.Joined)
	w.I64(g.Deadline)
	return kv.Set(gameKey(g.ID), w.Out())
}

func decodeGameOpen(b []byte) (GameOpenPayload, error) {
	r := codec.NewReader(b)
	p := GameOpenPayload{Stake: r.U64()}
	r.Fixed(p.Commitment[:])
	return p, r.Done("game.open")
}

func decodeGameJoin(b []byte) (GameJoinPayload, error) {
	r := codec.NewReader(b)
	p := GameJoinPayload{ID: r.U64(), Stake: r.U64()}
	r.Fixed(p.Commitment[:])
	return p, r.Done("game.join")
}

func decodeGameReveal(b []byte) (GameRevealPayload, error) {
	r := codec.NewReader(b)
	p := GameRevealPayload{ID: r.U64(), Move: r.U8(), Salt: r.Bytes()}
	return p, r.Done("game.reveal")
}

func decodeGameID(b []byte, what string) (GameIDPayload, error) {
	r := codec.NewReader(b)
	p := GameIDPayload{ID: r.U64()}
	return p, r.Done(what)
}

func (Game) Exec(ctx *Context, tx *Tx) error {
	switch tx.Action {
	case "open":
		p, err := decodeGameOpen(tx.Payload)
		if err != nil {
			return decodeErr(err)
		}
		return gameOpen(ctx, p)
	case "join":
		p, err := decodeGameJoin(tx.Payload)
		if err != nil {
			return decodeErr(err)
		}
		return gameJoin(ctx, p)
	case "reveal":
		p, err := decodeGameReveal(tx.Payload)
		if err != nil {
			return decodeErr(err)
		}
		return gameReveal(ctx, p)
	case "claim":
		p, err := decodeGameID(tx.Payload, "game.claim")
		if err != nil {
			return decodeErr(err)
		}
		return gameClaim(ctx, p.ID)
	case "cancel":
		p, err := decodeGameID(tx.Payload, "game.cancel")
		if err != nil {
			return decodeErr(err)
		}
		return gameCancel(ctx, p.ID)
	}
	return Reject("game has no action %q; use open, join, reveal, claim or cancel", tx.Action)
}

func checkStake(ctx *Context, action string, stake uint64) error {
	if stake == 0 {
		return Reject("game.%s: stake is zero", action)
	}
	if limit := govParam(ctx, ParamGameMaxStake); limit < 1 || stake > uint64(limit) {
		return Reject("game.%s: stake %d exceeds the limit %d (governance parameter %s)", action, stake, limit, ParamGameMaxStake)
	}
	return nil
}

// revealTimeout is the reveal window in blocks; a misconfigured value below
// 1 is treated as 1 so a game can always finish.
func revealTimeout(ctx *Context) int64 { return max(1, ctx.Param(ctx.Params.RevealTimeout)) }

func gameOpen(ctx *Context, p GameOpenPayload) error {
	if err := checkStake(ctx, "open", p.Stake); err != nil {
		return err
	}
	id, err := NextGameID(ctx.KV)
	if err != nil {
		return err
	}
	if err := Debit(ctx.KV, ctx.Sender, p.Stake); err != nil {
		return err
	}
	var w codec.Writer
	w.U8(gameFormat)
	w.U64(id + 1)
	if err := ctx.KV.Set(gameNextKey, w.Out()); err != nil {
		return err
	}
	g := GameInfo{ID: id, State: GameOpen, Stake: p.Stake, Opened: ctx.Height, Deadline: ctx.Height + revealTimeout(ctx)}
	g.Players[0], g.Commits[0] = ctx.Sender, p.Commitment
	return putGame(ctx.KV, g)
}

func liveGame(ctx *Context, action string, id uint64) (GameInfo, error) {
	g, ok, err := GetGame(ctx.KV, id)
	if err != nil {
		return g, err
	}
	if !ok {
		return g, Reject("game.%s: no live game %d (never opened, or already finished)", action, id)
	}
	return g, nil
}

// player returns the sender's seat in a joined game, or -1.
func (g *GameInfo) player(a Address) int {
	switch {
	case g.Players[0] == a:
		return 0
	case g.State == GameJoined && g.Players[1] == a:
		return 1
	}
	return -1
}

func gameJoin(ctx *Context, p GameJoinPayload) error {
	g, err := liveGame(ctx, "join", p.ID)
	if err != nil {
		return err
	}
	switch {
	case g.State != GameOpen:
		return Reject("game.join: game %d already has two players", p.ID)
	case g.Players[0] == ctx.Sender:
		return Reject("game.join: you opened game %d; another player must join it", p.ID)
	case ctx.Height > g.Deadline:
		return Reject("game.join: game %d stopped taking players at height %d; open a new game", p.ID, g.Deadline)
	case p.Stake != g.Stake:
		return Reject("game.join: stake %d, but game %d is played for %d", p.Stake, p.ID, g.Stake)
	}
	if err := Debit(ctx.KV, ctx.Sender, p.Stake); err != nil {
		return err
	}
	g.State, g.Players[1], g.Commits[1] = GameJoined, ctx.Sender, p.Commitment
	g.Joined, g.Deadline = ctx.Height, ctx.Height+revealTimeout(ctx)
	return putGame(ctx.KV, g)
}

func gameReveal(ctx *Context, p GameRevealPayload) error {
	g, err := liveGame(ctx, "reveal", p.ID)
	if err != nil {
		return err
	}
	if g.State != GameJoined {
		return Reject("game.reveal: game %d has no second player yet; reveal after someone joins", p.ID)
	}
	s := g.player(ctx.Sender)
	switch {
	case s < 0:
		return Reject("game.reveal: %s does not play game %d", ctx.Sender, p.ID)
	case g.Moves[s] != 0:
		return Reject("game.reveal: you already revealed in game %d", p.ID)
	case ctx.Height > g.Deadline:
		return Reject("game.reveal: the reveal window of game %d closed at height %d; a player who revealed may claim", p.ID, g.Deadline)
	case p.Move < MoveRock || p.Move > MoveScissors:
		return Reject("game.reveal: move %d; use 1 (rock), 2 (paper) or 3 (scissors)", p.Move)
	case len(p.Salt) < GameSaltMin || len(p.Salt) > GameSaltMax:
		return Reject("game.reveal: salt has %d bytes; commitments use %d to %d", len(p.Salt), GameSaltMin, GameSaltMax)
	case GameCommitment(p.Move, p.Salt) != g.Commits[s]:
		return Reject("game.reveal: move and salt do not match your commitment in game %d", p.ID)
	}
	g.Moves[s] = p.Move
	if g.Moves[1-s] == 0 {
		return putGame(ctx.KV, g)
	}
	return settleGame(ctx, g)
}

// beats reports whether move a beats move b.
func beats(a, b uint8) bool { return (int(a)-int(b)+3)%3 == 1 }

func payoutPct(ctx *Context) uint64 {
	if ctx.Active(ctx.Forks.GamePayoutV2) {
		return GamePayoutPctV2
	}
	return GamePayoutPct
}

// settleGame pays out a game whose players both revealed and deletes it.
func settleGame(ctx *Context, g GameInfo) error {
	pot, ok := addU64(g.Stake, g.Stake)
	if !ok {
		return Reject("game %d: pot overflows", g.ID)
	}
	m0, m1 := g.Moves[0], g.Moves[1]
	switch {
	case m0 == m1 && ctx.Active(ctx.Forks.GameDrawRefund):
		if err := Credit(ctx.KV, g.Players[0], g.Stake); err != nil {
			return err
		}
		if err := Credit(ctx.KV, g.Players[1], g.Stake); err != nil {
			return err
		}
	case m0 == m1:
		rest := percentOf(pot, payoutPct(ctx))
		each := rest / 2
		for _, p := range g.Players {
			if err := Credit(ctx.KV, p, each); err != nil {
				return err
			}
		}
		if err := Credit(ctx.KV, ctx.Producer, pot-2*each); err != nil {
			return err
		}
	case beats(m0, m1):
		if err := payWinner(ctx, g.Players[0], pot); err != nil {
			return err
		}
	default:
		if err := payWinner(ctx, g.Players[1], pot); err != nil {
			return err
		}
	}
	return ctx.KV.Delete(gameKey(g.ID))
}

// payWinner pays the winner's share of the pot and the house cut to the
// block's producer.
func payWinner(ctx *Context, winner Address, pot uint64) error {
	win := percentOf(pot, payoutPct(ctx))
	if err := Credit(ctx.KV, winner, win); err != nil {
		return err
	}
	return Credit(ctx.KV, ctx.Producer, pot-win)
}

func gameClaim(ctx *Context, id uint64) error {
	g, err := liveGame(ctx, "claim", id)
	if err != nil {
		return err
	}
	if g.State != GameJoined {
		return Reject("game.claim: game %d has no second player; the opener may cancel it after height %d", id, g.Deadline)
	}
	s := g.player(ctx.Sender)
	switch {
	case s < 0:
		return Reject("game.claim: %s does not play game %d", ctx.Sender, id)
	case ctx.Height <= g.Deadline:
		return Reject("game.claim: the reveal window of game %d is open until height %d; claim after it", id, g.Deadline)
	case g.Moves[s] == 0 && g.Moves[1-s] != 0:
		return Reject("game.claim: you did not reveal in game %d and your opponent did; only the revealer may claim", id)
	}
	if g.Moves[s] != 0 {
		pot, ok := addU64(g.Stake, g.Stake)
		if !ok {
			return Reject("game %d: pot overflows", id)
		}
		if err := payWinner(ctx, ctx.Sender, pot); err != nil {
			return err
		}
	} else {
		// Nobody revealed: both stakes go back.
		for _, p := range g.Players {
			if err := Credit(ctx.KV, p, g.Stake); err != nil {
				return err
			}
		}
	}
	return ctx.KV.Delete(gameKey(id))
}

func gameCancel(ctx *Context, id uint64) error {
	g, err := liveGame(ctx, "cancel", id)
	if err != nil {
		return err
	}
	switch {
	case g.Players[0] != ctx.Sender:
		return Reject("game.cancel: only the opener %s may cancel game %d", g.Players[0], id)
	case g.State != GameOpen:
		return Reject("game.cancel: game %d has two players; finish it with reveal or claim", id)
	case ctx.Height <= g.Deadline:
		return Reject("game.cancel: game %d may be joined until height %d; cancel after it", id, g.Deadline)
	}
	if err := Credit(ctx.KV, ctx.Sender, g.Stake); err != nil {
		return err
	}
	return ctx.KV.Delete(gameKey(id))
}
