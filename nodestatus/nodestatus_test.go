package nodestatus

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestServeAndFetch(t *testing.T) {
	want := &Status{Format: StatusFormat, ChainID: "c", Height: 42, StateHash: "ab"}
	srv, err := Serve("127.0.0.1:0", func() (*Status, error) { return want, nil }, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	for _, addr := range []string{srv.Addr(), "http://" + srv.Addr(), "http://" + srv.Addr() + "/status"} {
		got, err := Fetch(context.Background(), addr, time.Second)
		if err != nil || got.Height != 42 || got.ChainID != "c" {
			t.Fatalf("Fetch(%s) = %+v, %v", addr, got, err)
		}
	}
	failing, err := Serve("127.0.0.1:0", func() (*Status, error) { return nil, errors.New("the node is closed") }, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer failing.Close()
	if _, err := Fetch(context.Background(), failing.Addr(), time.Second); err == nil || !strings.Contains(err.Error(), "the node is closed") {
		t.Fatalf("a failing source: %v", err)
	}
}

// TestFetchRefusesWhatIsNotAStatus: an oversized body, a newer format and
// non-JSON are refused with a message, never decoded blindly.
func TestFetchRefusesWhatIsNotAStatus(t *testing.T) {
	tests := []struct {
		name string
		body func(w http.ResponseWriter)
		want string
	}{
		{"too large", func(w http.ResponseWriter) {
			w.Write([]byte(`{"format":1,"chain_id":"`))
			w.Write([]byte(strings.Repeat("x", MaxBody)))
			w.Write([]byte(`"}`))
		}, "exceeds"},
		{"newer format", func(w http.ResponseWriter) { fmt.Fprintf(w, `{"format":%d}`, StatusFormat+1) }, "use a newer forkgate"},
		{"not JSON", func(w http.ResponseWriter) { w.Write([]byte("<html>")) }, "not a forkgate status"},
	}
	for _, tc := range tests {
		ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { tc.body(w) }))
		_, err := Fetch(context.Background(), ts.URL, 5*time.Second)
		ts.Close()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error with %q", tc.name, err, tc.want)
		}
	}
}
