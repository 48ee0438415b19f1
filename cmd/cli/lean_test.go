package cli

import (
	"os/exec"
	"strings"
	"testing"
)

// TestLeanBinaries: the multi-call binary (PID 1) and sv-scan link no
// HTTP and no cryptography: sv-http and sv-webhook carry those, and
// linking them here made the binary half as large again.
func TestLeanBinaries(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command")
	}
	for _, cmd := range []string{"cmd/supervision", "cmd/sv-scan"} {
		out, err := exec.Command("go", "list", "-deps", "github.com/supervision-suite/supervision/"+cmd).Output()
		if err != nil {
			t.Fatalf("go list -deps %s: %v", cmd, err)
		}
		for _, pkg := range strings.Fields(string(out)) {
			if pkg == "net/http" || pkg == "crypto/tls" || pkg == "crypto/sha256" {
				t.Errorf("%s links %s", cmd, pkg)
			}
		}
	}
}
