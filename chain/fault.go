package chain

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
	return amount
}
