package gen

import (
	"fmt"
	"os"
	"path/filepath"
)

// ExecCommand is how the generated run scripts of this program's tree
// start sv-exec: the sv-exec installed beside this program (a link of the
// multi-call binary; also beside the lean sv-scan), or this program's
// `exec` subcommand when it is the multi-call binary run by its own name.
func ExecCommand() ([]string, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("cannot find this program's path: %w", err)
	}
	sibling := filepath.Join(filepath.Dir(exe), "sv-exec")
	if fi, err := os.Stat(sibling); err == nil && fi.Mode()&0o111 != 0 {
		return []string{sibling}, nil
	}
	if filepath.Base(exe) == "supervision" {
		return []string{exe, "exec"}, nil
	}
	return nil, fmt.Errorf("no sv-exec beside %s: install the suite with its tool links (make install)", exe)
}
