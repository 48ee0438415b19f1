package supervise

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"path/filepath"
	"time"

	"github.com/supervision-suite/supervision/internal/safefile"
)

// appState is what of SVC_APP_ON_FAILURE's work outlives sv-scan (kill -9,
// an upgrade): a restart-app under way, and when each member and
// application was last restarted. The members' own states are in their
// state.json; this is the rest, in .sv-scan/apps.json.
type appState struct {
	// Restarting: each application whose restart-app is under way, and
	// whether its members were all down and sent up ("starting") or are
	// still being stopped ("stopping").
	Restarting map[string]string `json:"restarting,omitempty"`
	// RetriedMembers and RetriedApps: when each member and application
	// was last restarted (appActions.again).
	RetriedMembers map[string]time.Time `json:"retried_members,omitempty"`
	RetriedApps    map[string]time.Time `json:"retried_apps,omitempty"`
}

const (
	restartStopping = "stopping"
	restartStarting = "starting"
)

func appStateFile(scanDir string) string {
	return filepath.Join(scanDir, ".sv-scan", "apps.json")
}

// readAppState reads what a previous sv-scan left; none is an empty state.
func readAppState(path string) (appState, error) {
	var st appState
	data, err := safefile.ReadFile(path, safefile.StateLimit)
	if errors.Is(err, fs.ErrNotExist) {
		return st, nil
	}
	if err != nil {
		return st, err
	}
	if err := json.Unmarshal(data, &st); err != nil {
		return appState{}, fmt.Errorf("%s: %w", path, err)
	}
	return st, nil
}

// save writes the actions' state to a.file, when it has one; a.mu is held.
func (a *appActions) save() error {
	if a.file == "" {
		return nil
	}
	data, err := json.Marshal(appState{Restarting: a.restarting, RetriedMembers: a.retriedMember, RetriedApps: a.retriedApp})
	if err != nil {
		return err
	}
	return safefile.Write(a.file, append(data, '\n'), 0o644)
}

// load takes up what a previous sv-scan left in file, which is then kept
// up to date.
func (a *appActions) load(file string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.file = file
	st, err := readAppState(file)
	if err != nil {
		return err
	}
	maps.Copy(a.restarting, st.Restarting)
	maps.Copy(a.retriedMember, st.RetriedMembers)
	maps.Copy(a.retriedApp, st.RetriedApps)
	return nil
}
