package openrc

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"

	"github.com/supervision-suite/supervision/backend"
	"github.com/supervision-suite/supervision/internal/inotify"
	"github.com/supervision-suite/supervision/internal/safefile"
)

// AwaitAnswer waits for the scanner's answer to the start request token
// for name, as long as the scanner answers on scanDir and at most
// backend.TakeUpWait. The answer is usually there before this process
// has started; what it waits for is a scanner busy with other starts.
//
// It goes on past ctx's end: a start interrupted after its request must
// still learn whether the scanner took the service up, or a take-up after
// it gave up would leave the service running.
func AwaitAnswer(ctx context.Context, sup backend.Supervisor, scanDir, name, token string) (Answer, error) {
	ctx = context.WithoutCancel(ctx)
	path := AnswerPath(scanDir, name)
	if a, ok := readAnswer(path, token); ok {
		return a, nil
	}
	w, err := inotify.New()
	if err != nil {
		return Answer{}, err
	}
	defer w.Close()
	// The answer is renamed into place: a watch on its directory sees it.
	if err := w.Add(filepath.Dir(path), unix.IN_MOVED_TO|unix.IN_CLOSE_WRITE); err != nil {
		return Answer{}, fmt.Errorf("%s: no start answers in %s: %w", name, filepath.Dir(path), err)
	}
	deadline := time.Now().Add(backend.TakeUpWait)
	for {
		if a, ok := readAnswer(path, token); ok {
			return a, nil
		}
		if !sup.ScannerReady(scanDir) {
			return Answer{}, &backend.Failure{Service: name, Reason: fmt.Sprintf("the %s scanner on %s stopped answering before it answered the start request", sup.Name(), scanDir)}
		}
		if time.Now().After(deadline) {
			return Answer{}, &backend.Failure{Service: name, Reason: fmt.Sprintf("the %s scanner on %s did not answer the start request within %s", sup.Name(), scanDir, backend.TakeUpWait)}
		}
		if _, err := w.Next(ctx, backend.Recheck); err != nil {
			return Answer{}, err
		}
	}
}

// readAnswer is the answer in path, if it is the one to token. Anything
// but a small regular file there is no answer.
func readAnswer(path, token string) (Answer, bool) {
	data, err := safefile.ReadFile(path, safefile.StateLimit)
	if err != nil {
		return Answer{}, false
	}
	a, err := ParseAnswer(data)
	return a, err == nil && a.Token == token
}
