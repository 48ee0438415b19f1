package tai

import (
	"testing"
	"time"
)

func TestKnownValues(t *testing.T) {
	// libtai: the epoch is 2^62 + 10 = 0x400000000000000a.
	if got := Label(time.Unix(0, 0)); got != "@400000000000000a00000000" {
		t.Errorf("epoch label %s", got)
	}
	ts := time.Unix(1700000000, 123456789)
	if got := Label(ts); got != "@400000006553f10a075bcd15" {
		t.Errorf("label %s", got)
	}
	back, err := ParseLabel(Label(ts))
	if err != nil || !back.Equal(ts) {
		t.Errorf("round trip %v %v", back, err)
	}
	for _, bad := range []string{"", "@", "4000000065537f0a075bcd15x", "@4000000065537f0a075bcd1g"} {
		if _, err := ParseLabel(bad); err == nil {
			t.Errorf("ParseLabel(%q) accepted", bad)
		}
	}
}

func FuzzParseLabel(f *testing.F) {
	f.Add("@400000006553f10a075bcd15")
	f.Add("@ffffffffffffffffffffffff")
	f.Fuzz(func(t *testing.T, s string) {
		ts, err := ParseLabel(s)
		if err != nil {
			return
		}
		if again, err := ParseLabel(Label(ts)); err != nil || !again.Equal(ts) {
			t.Fatalf("%q: %v does not round-trip (%v, %v)", s, ts, again, err)
		}
	})
}

// s6 stamps are TAI: 37 seconds ahead of UTC since 2017, 27 more than
// libtai's fixed 10.
func TestUnpackTAI(t *testing.T) {
	now := time.Unix(1700000000, 0)
	var b [12]byte
	Pack(b[:], now.Add(27*time.Second))
	if got := UnpackTAI(b[:]); !got.Equal(now) {
		t.Errorf("2023: got %v, want %v", got, now)
	}
	before := time.Unix(100000000, 0) // 1973: TAI-UTC was 12 s
	Pack(b[:], before.Add(2*time.Second))
	if got := UnpackTAI(b[:]); !got.Equal(before) {
		t.Errorf("1973: got %v, want %v", got, before)
	}
}
