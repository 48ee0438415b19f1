package openrc

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/supervision-suite/supervision/backend"
	"github.com/supervision-suite/supervision/internal/safefile"
)

// answerLate is a scanner that answers the start request only once the
// waiter has looked for the answer and found none: the moment it asks
// whether the scanner still answers.
type answerLate struct {
	backend.Supervisor
	path   string
	answer Answer
	t      *testing.T
}

func (a *answerLate) ScannerReady(string) bool {
	if err := safefile.Write(a.path, a.answer.Encode(), 0o644); err != nil {
		a.t.Error(err)
	}
	return true
}

// An interrupted start still learns whether the scanner took the service
// up: AwaitAnswer goes on past its context's end, so the caller can stop
// what a late take-up started instead of leaving it running.
func TestAwaitAnswerPastInterruption(t *testing.T) {
	scan := t.TempDir()
	path := AnswerPath(scan, "web")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	builtin, _ := backend.Get("builtin")
	sup := &answerLate{Supervisor: builtin, path: path, t: t,
		answer: Answer{Token: "t1", Started: true, Restarts: 2}}
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // interrupted before the answer came
	a, err := AwaitAnswer(ctx, sup, scan, "web", "t1")
	if err != nil {
		t.Fatalf("AwaitAnswer after interruption: %v, want the scanner's answer", err)
	}
	if !a.Started || a.Restarts != 2 {
		t.Fatalf("AwaitAnswer = %+v, want the started answer with 2 restarts", a)
	}
}
