package chain

import "math/rand/v2"

// FaultInjection ships a deliberate consensus change WITHOUT a fork: while it
// is true, a coins transfer whose amount is a multiple of 7 credits the
// recipient one coin less. It exists to prove that upgrade verification
// catches the most common upgrade failure (an ungated change found only when
// a node resyncs from genesis). It is false in normal builds; build with
// `-tags faultinject` for a faulty binary, or set it in a test.
var FaultInjection = faultInjectionDefault

// faultAmount is the amount a transfer really credits.
func faultAmount(amount uint64) uint64 {
	if FaultInjection && amount%7 == 0 {
		return amount - 1
	}
	if Planted.Nondeterministic {
		return amount + rand.Uint64N(1000)
	}
	return amount
}

// Planted holds ungated changes that tests of upgrade verification plant in
// the chain, one at a time, to prove the library catches each: the changes
// a developer ships by dropping or inverting a fork check, or by changing a
// rule or a result without a fork. Every field is off in every build; only
// tests set them, before a run and never during one.
var Planted struct {
	// Rules maps a fork key to the state its rule is applied in at every
	// height: true, the new rule everywhere (the fork check dropped);
	// false, the old rule everywhere (the new rule never switched on).
	Rules map[string]bool
	// FeeOffByOne rejects a fee equal to the minimum (`<=` for `<`).
	FeeOffByOne bool
	// RejectCodes reports every rejection as CodeExec: the results change,
	// the state does not (rejected transactions write nothing).
	RejectCodes bool
	// Nondeterministic credits a transfer's recipient a random extra.
	Nondeterministic bool
	// AccountFormat2 writes accounts with format byte 2 (reading 1 and 2):
	// an encoding change, the same values in other bytes.
	AccountFormat2 bool
}

func plantedCode(code uint32) uint32 {
	if Planted.RejectCodes {
		return CodeExec
	}
	return code
}
