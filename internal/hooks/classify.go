package hooks

import (
	"github.com/supervision-suite/supervision/internal/events"
	"github.com/supervision-suite/supervision/internal/options"
)

// Transition is an event of a service with what the engine knows beside
// it, which the event alone does not say.
type Transition struct {
	Event events.Event
	// Restart: a start that starts it again after a run ended (a crash,
	// or a restart asked for), not a first start or an up.
	Restart bool
	// Stopped: it reached down after a run that was asked to stop, and
	// stays down.
	Stopped bool
}

// Classify is the kinds of event a change is, in the order hooks run
// for them: a crash is an exit first.
func Classify(t Transition) []options.HookEvent {
	ev := t.Event
	var kinds []options.HookEvent
	switch {
	case ev.To == "starting" && ev.Reason == "started" && t.Restart:
		kinds = append(kinds, options.HookRestart)
	case ev.To == "starting" && ev.Reason == "started":
		kinds = append(kinds, options.HookStart)
	case ev.From == "starting" && ev.To == "up":
		kinds = append(kinds, options.HookReady)
	}
	if ev.EndsRun() {
		kinds = append(kinds, options.HookExit)
		if !ev.Expected {
			kinds = append(kinds, options.HookCrash)
		}
	}
	if ev.To == "fatal" && ev.From != "fatal" {
		kinds = append(kinds, options.HookFatal)
	}
	if ev.Reason == "unhealthy" && ev.From == ev.To {
		kinds = append(kinds, options.HookUnhealthy)
	}
	if t.Stopped && ev.To == "down" {
		kinds = append(kinds, options.HookStop)
	}
	return kinds
}
