package svdir

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"
)

// States of runit's status byte 19.
const (
	StateDown   = 0
	StateRun    = 1
	StateFinish = 2
)

// Status is what runsv keeps in supervise/status: 20 bytes that runit's sv,
// daemontools' svstat (which reads the first 18) and sv-ctl all read.
//
//	0-11  TAI64N of the last change (start of the run, or of being down)
//	12-15 pid, little-endian (0 when down)
//	16    paused (1 after 'p')
//	17    want: 'u' or 'd'
//	18    got TERM (1 after a stop signal, until the daemon exits)
//	19    state: 0 down, 1 run, 2 finish
type Status struct {
	Since   time.Time
	Pid     int
	Paused  bool
	WantUp  bool
	GotTerm bool
	State   int
}

// RunitSize is the size of runsv's status file; daemontools' is DaemontoolsSize.
const (
	RunitSize       = 20
	DaemontoolsSize = 18
	S6Size          = 35
)

// Encode returns the 20-byte form.
func (s Status) Encode() []byte {
	b := make([]byte, RunitSize)
	PackTAI64N(b[0:12], s.Since)
	binary.LittleEndian.PutUint32(b[12:16], uint32(s.Pid))
	if s.Paused {
		b[16] = 1
	}
	b[17] = 'd'
	if s.WantUp {
		b[17] = 'u'
	}
	if s.GotTerm {
		b[18] = 1
	}
	b[19] = byte(s.State)
	return b
}

// Family is the supervisor that wrote a status file.
type Family string

const (
	FamilyRunit       Family = "runit"       // runsv or sv-scan: 20 bytes
	FamilyDaemontools Family = "daemontools" // supervise: 18 bytes
	FamilyS6          Family = "s6"          // s6-supervise: 35 bytes
)

// Decoded is a status in a supervisor-neutral form.
type Decoded struct {
	Family  Family
	Since   time.Time
	Pid     int
	Paused  bool
	WantUp  bool
	GotTerm bool
	State   int // StateDown, StateRun or StateFinish
	// s6 only: readiness and the last exit.
	Ready      bool
	ReadySince time.Time
	WaitStatus int
}

// DecodeStatus reads a status file of any family, told apart by size.
func DecodeStatus(b []byte) (Decoded, error) {
	switch len(b) {
	case RunitSize, DaemontoolsSize:
		d := Decoded{Family: FamilyRunit, Since: UnpackTAI64N(b[0:12])}
		if len(b) == DaemontoolsSize {
			d.Family = FamilyDaemontools
		}
		d.Pid = int(binary.LittleEndian.Uint32(b[12:16]))
		d.Paused = b[16] != 0
		d.WantUp = b[17] == 'u'
		if len(b) == RunitSize {
			d.GotTerm = b[18] != 0
			d.State = int(b[19])
			if d.State > StateFinish {
				return Decoded{}, fmt.Errorf("bad state byte %d", d.State)
			}
		} else if d.Pid != 0 {
			d.State = StateRun
		}
		return d, nil
	case S6Size:
		return decodeS6(b), nil
	}
	return Decoded{}, fmt.Errorf("%d bytes is not a status file of runit (20), daemontools (18) or s6 (35)", len(b))
}

// decodeS6 reads s6-supervise's format: TAI64N stamp, TAI64N ready stamp,
// pid (8 bytes), wait status (2 bytes), flags (paused, finishing, want up,
// ready), all big-endian.
func decodeS6(b []byte) Decoded {
	d := Decoded{Family: FamilyS6, Since: UnpackTAI64(b[0:12]), ReadySince: UnpackTAI64(b[12:24])}
	d.Pid = int(binary.BigEndian.Uint64(b[24:32]))
	d.WaitStatus = int(binary.BigEndian.Uint16(b[32:34]))
	flags := b[34]
	d.Paused = flags&1 != 0
	d.WantUp = flags&4 != 0
	d.Ready = flags&8 != 0
	switch {
	case flags&2 != 0:
		d.State = StateFinish
	case d.Pid != 0:
		d.State = StateRun
	}
	return d
}

// StatText is runsv's supervise/stat: "run", "down" or "finish", with
// ", paused", ", got TERM", ", want down", ", want exit" as they apply.
func (s Status) StatText(wantExit bool) string {
	var b strings.Builder
	b.WriteString([]string{"down", "run", "finish"}[s.State])
	if s.Paused {
		b.WriteString(", paused")
	}
	if s.GotTerm {
		b.WriteString(", got TERM")
	}
	if s.State != StateDown {
		switch {
		case wantExit:
			b.WriteString(", want exit")
		case !s.WantUp:
			b.WriteString(", want down")
		}
	}
	b.WriteString("\n")
	return b.String()
}

// ErrBadStatus is returned for a status file that cannot be read.
var ErrBadStatus = errors.New("bad status file")
