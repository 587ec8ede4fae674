package rehearsal

import (
	"context"
	"strings"
	"testing"
)

func TestRehearsal(t *testing.T) {
	var out strings.Builder
	res, err := Run(context.Background(), Options{Dir: t.TempDir(), Out: &out})
	if err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if res.Activation < 0 || res.ForkHeight != res.Activation {
		t.Errorf("activation %d, fork %d", res.Activation, res.ForkHeight)
	}
	if res.HaltHeight != res.Activation {
		t.Errorf("the old release halted before %d, version 2 activated at %d", res.HaltHeight, res.Activation)
	}
	if !strings.Contains(res.HaltMessage, "version 2") || !res.FreshSyncEqual {
		t.Errorf("result %+v", res)
	}
	if !res.VerifyOK || !strings.HasPrefix(res.VerifySummary, "OK") {
		t.Errorf("verify: %v %q", res.VerifyOK, res.VerifySummary)
	}
	for _, want := range []string{"== 1.", "== 2.", "== 3.", "== 4.", "== 5."} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("narrative lacks %q:\n%s", want, out.String())
		}
	}
}
