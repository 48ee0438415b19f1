package svdir

import (
	"bytes"
	"testing"
	"time"
)

func TestStatusRoundTrip(t *testing.T) {
	since := time.Unix(1700000000, 5)
	s := Status{Since: since, Pid: 4242, WantUp: true, GotTerm: true, State: StateRun}
	b := s.Encode()
	// Byte for byte what runsv writes.
	want := []byte{0x40, 0, 0, 0, 0x65, 0x53, 0xf1, 0x0a, 0, 0, 0, 5, 0x92, 0x10, 0, 0, 0, 'u', 1, 1}
	if !bytes.Equal(b, want) {
		t.Fatalf("encoded % x\nwant    % x", b, want)
	}
	d, err := DecodeStatus(b)
	if err != nil || d.Pid != 4242 || !d.WantUp || !d.GotTerm || d.State != StateRun || !d.Since.Equal(since) || d.Family != FamilyRunit {
		t.Errorf("decoded %+v %v", d, err)
	}
	// daemontools reads the first 18 bytes.
	d, err = DecodeStatus(b[:18])
	if err != nil || d.Family != FamilyDaemontools || d.State != StateRun || d.Pid != 4242 {
		t.Errorf("daemontools %+v %v", d, err)
	}
	if _, err := DecodeStatus(b[:10]); err == nil {
		t.Error("10 bytes accepted")
	}
	bad := append([]byte(nil), b...)
	bad[19] = 7
	if _, err := DecodeStatus(bad); err == nil {
		t.Error("state 7 accepted")
	}
}

func TestDecodeS6(t *testing.T) {
	b := make([]byte, 35)
	// s6 writes true TAI: 37 s ahead of UTC in 2023.
	copy(b[0:12], Status{Since: time.Unix(1700000000+27, 0)}.Encode()[0:12])
	b[31] = 0x10  // pid 16, big-endian in 8 bytes
	b[34] = 4 | 8 // want up, ready
	d, err := DecodeStatus(b)
	if err != nil || d.Family != FamilyS6 || d.Pid != 16 || !d.WantUp || !d.Ready || d.State != StateRun || d.Since.Unix() != 1700000000 {
		t.Errorf("%+v %v", d, err)
	}
	b[34] = 2 // finishing, want down
	b[31] = 0
	if d, _ := DecodeStatus(b); d.State != StateFinish || d.WantUp {
		t.Errorf("finishing: %+v", d)
	}
}

func TestStatText(t *testing.T) {
	tests := []struct {
		s        Status
		wantExit bool
		want     string
	}{
		{Status{State: StateDown, WantUp: true}, false, "down\n"},
		{Status{State: StateRun, WantUp: true}, false, "run\n"},
		{Status{State: StateRun, WantUp: false, GotTerm: true}, false, "run, got TERM, want down\n"},
		{Status{State: StateRun, Paused: true, WantUp: true}, true, "run, paused, want exit\n"},
		{Status{State: StateFinish, WantUp: true}, false, "finish\n"},
	}
	for _, tt := range tests {
		if got := tt.s.StatText(tt.wantExit); got != tt.want {
			t.Errorf("%+v: %q, want %q", tt.s, got, tt.want)
		}
	}
}

func FuzzDecodeStatus(f *testing.F) {
	f.Add(Status{Since: time.Unix(1, 2), Pid: 7, WantUp: true, State: StateRun}.Encode())
	f.Add(make([]byte, 18))
	f.Add(make([]byte, 35))
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := DecodeStatus(b)
		if err != nil {
			return
		}
		if d.State < StateDown || d.State > StateFinish {
			t.Fatalf("state %d", d.State)
		}
		if len(b) == RunitSize {
			again := Status{Since: d.Since, Pid: d.Pid, Paused: d.Paused, WantUp: d.WantUp, GotTerm: d.GotTerm, State: d.State}.Encode()
			d2, _ := DecodeStatus(again)
			if d2.Pid != d.Pid || d2.State != d.State || d2.WantUp != d.WantUp || !d2.Since.Equal(d.Since) {
				t.Fatalf("re-encoding changed %+v into %+v", d, d2)
			}
		}
	})
}
