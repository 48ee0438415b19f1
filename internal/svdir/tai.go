// TAI64N: the timestamps of the daemontools family, in supervise/status
// and as log line prefixes.
//
// Like libtai and skalibs, it treats TAI as UTC plus 10 seconds (the offset
// in 1972) and ignores later leap seconds, so stamps agree byte for byte
// with what runsv, svlogd and multilog write.
package svdir

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"time"
)

// base is 2^62 + 10: TAI64 label of the Unix epoch as libtai computes it.
const base = 1<<62 + 10

// Pack writes t as 12 bytes of TAI64N (8 bytes seconds, 4 nanoseconds,
// big-endian) into b.
func PackTAI64N(b []byte, t time.Time) {
	binary.BigEndian.PutUint64(b[0:8], uint64(base+t.Unix()))
	binary.BigEndian.PutUint32(b[8:12], uint32(t.Nanosecond()))
}

// Unpack reads 12 bytes of TAI64N.
func UnpackTAI64N(b []byte) time.Time {
	secs := int64(binary.BigEndian.Uint64(b[0:8]) - base)
	nanos := binary.BigEndian.Uint32(b[8:12])
	if nanos > 999999999 {
		nanos = 999999999
	}
	return time.Unix(secs, int64(nanos))
}

// Label is t as a log line prefix: "@" and 24 hex digits.
func TAI64NLabel(t time.Time) string {
	var b [12]byte
	PackTAI64N(b[:], t)
	return "@" + hex.EncodeToString(b[:])
}

// ParseLabel reads a label written by Label, svlogd or multilog.
func ParseTAI64NLabel(s string) (time.Time, error) {
	if len(s) != 25 || s[0] != '@' {
		return time.Time{}, errors.New("not a TAI64N label")
	}
	b, err := hex.DecodeString(s[1:])
	if err != nil {
		return time.Time{}, errors.New("not a TAI64N label")
	}
	return UnpackTAI64N(b), nil
}

// leapSeconds lists the UTC instants from which TAI-UTC grew by one second
// (IERS Bulletin C), beyond the 10 seconds of 1972.
var leapSeconds = []int64{
	78796800, 94694400, 126230400, 157766400, 189302400, 220924800, 252460800,
	283996800, 315532800, 362793600, 394329600, 425865600, 489024000, 567993600,
	631152000, 662688000, 709948800, 741484800, 773020800, 820454400, 867715200,
	915148800, 1136073600, 1230768000, 1341100800, 1435708800, 1483228800,
}

// UnpackTAI reads 12 bytes of TAI64N that are true TAI, leap seconds
// included, as skalibs (s6) writes them, unlike libtai's UTC+10.
func UnpackTAI64(b []byte) time.Time {
	t := UnpackTAI64N(b) // UTC + 10 s, by libtai's reckoning
	secs := t.Unix()
	leaps := int64(0)
	for _, at := range leapSeconds {
		if secs-leaps-1 >= at {
			leaps++
		}
	}
	return t.Add(-time.Duration(leaps) * time.Second)
}
