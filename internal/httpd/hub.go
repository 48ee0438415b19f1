package httpd

import (
	"context"
	"encoding/json"
	"log"
	"sync"
	"time"

	"github.com/supervision-suite/supervision/internal/events"
)

// hub follows sv-scan's event ring, once for every client: it keeps the
// events in memory, as many as the ring does, and wakes each stream when
// one comes. A stream that falls behind reads from the memory at its own
// pace; none holds up another, nor the hub.
type hub struct {
	dir     string
	onEvent func(service string) // told each event's service first (the model forgets it)

	mu      sync.Mutex
	evs     []held        // oldest first
	changed chan struct{} // closed, and made again, at each event
}

// held is an event and its JSON, encoded once for every stream.
type held struct {
	ev   events.Event
	json []byte
}

// keep bounds the events held: as many as the ring keeps at most.
const keep = 2 * events.PerFile

func newHub(scanDir string) *hub {
	return &hub{dir: events.Dir(scanDir), changed: make(chan struct{})}
}

// run follows the ring until ctx ends; a failure (the ring unreadable) is
// said and tried again a second later.
func (h *hub) run(ctx context.Context, lg *log.Logger) {
	var last uint64
	for ctx.Err() == nil {
		err := events.Follow(ctx, h.dir, last, func(ev events.Event) error {
			last = ev.Seq
			h.add(ev)
			return nil
		})
		if err != nil && ctx.Err() == nil {
			lg.Printf("events: %v", err)
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
		}
	}
}

func (h *hub) add(ev events.Event) {
	data, err := json.Marshal(ev)
	if err != nil {
		return
	}
	if h.onEvent != nil && ev.Service != "" {
		h.onEvent(ev.Service)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.evs) >= keep {
		h.evs = append(h.evs[:0], h.evs[len(h.evs)-keep/2:]...)
	}
	h.evs = append(h.evs, held{ev, data})
	close(h.changed)
	h.changed = make(chan struct{})
}

// since returns the events after seq held now, with a dropped record
// first when the hub no longer holds the ones right after seq, and the
// channel closed at the next event.
func (h *hub) since(seq uint64) ([]held, <-chan struct{}) {
	h.mu.Lock()
	defer h.mu.Unlock()
	i := len(h.evs)
	for i > 0 && h.evs[i-1].ev.Seq > seq {
		i--
	}
	out := append([]held(nil), h.evs[i:]...)
	// Not held: evicted from memory (or never read, the ring's own loss,
	// which Follow gave as a dropped record of its own).
	if i == 0 && len(out) > 0 && seq > 0 && out[0].ev.Seq > seq+1 {
		gap := events.Event{Seq: out[0].ev.Seq - 1, Time: out[0].ev.Time, Dropped: out[0].ev.Seq - seq - 1}
		data, _ := json.Marshal(gap)
		out = append([]held{{gap, data}}, out...)
	}
	return out, h.changed
}

// last is the number of the newest event held.
func (h *hub) last() uint64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.evs) == 0 {
		return 0
	}
	return h.evs[len(h.evs)-1].ev.Seq
}
