package svdir

import (
	"testing"
	"time"
)

func TestKnownValues(t *testing.T) {
	// libtai: the epoch is 2^62 + 10 = 0x400000000000000a.
	if got := TAI64NLabel(time.Unix(0, 0)); got != "@400000000000000a00000000" {
		t.Errorf("epoch label %s", got)
	}
	ts := time.Unix(1700000000, 123456789)
	if got := TAI64NLabel(ts); got != "@400000006553f10a075bcd15" {
		t.Errorf("label %s", got)
	}
	back, err := ParseTAI64NLabel(TAI64NLabel(ts))
	if err != nil || !back.Equal(ts) {
		t.Errorf("round trip %v %v", back, err)
	}
	for _, bad := range []string{"", "@", "4000000065537f0a075bcd15x", "@4000000065537f0a075bcd1g"} {
		if _, err := ParseTAI64NLabel(bad); err == nil {
			t.Errorf("ParseTAI64NLabel(%q) accepted", bad)
		}
	}
}

func FuzzParseLabel(f *testing.F) {
	f.Add("@400000006553f10a075bcd15")
	f.Add("@ffffffffffffffffffffffff")
	f.Fuzz(func(t *testing.T, s string) {
		ts, err := ParseTAI64NLabel(s)
		if err != nil {
			return
		}
		if again, err := ParseTAI64NLabel(TAI64NLabel(ts)); err != nil || !again.Equal(ts) {
			t.Fatalf("%q: %v does not round-trip (%v, %v)", s, ts, again, err)
		}
	})
}

// s6 stamps are TAI: 37 seconds ahead of UTC since 2017, 27 more than
// libtai's fixed 10.
func TestUnpackTAI(t *testing.T) {
	now := time.Unix(1700000000, 0)
	var b [12]byte
	PackTAI64N(b[:], now.Add(27*time.Second))
	if got := UnpackTAI64(b[:]); !got.Equal(now) {
		t.Errorf("2023: got %v, want %v", got, now)
	}
	before := time.Unix(100000000, 0) // 1973: TAI-UTC was 12 s
	PackTAI64N(b[:], before.Add(2*time.Second))
	if got := UnpackTAI64(b[:]); !got.Equal(before) {
		t.Errorf("1973: got %v, want %v", got, before)
	}
}
