package openrc

import (
	"regexp"
	"testing"
)

// The hand-written checks accept exactly what the patterns they replace
// accepted (the regexps are kept here, in the tests only).
var (
	passPattern = regexp.MustCompile(`^[1-9][0-9]{0,9}-[0-9]{1,20}$`)
	namePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._@+-]*$`)
)

var nameSeeds = []string{"", "1-2", "0-2", "12345678901-1", "1234567890-1", "1-", "-1", "1-123456789012345678901",
	"1-12345678901234567890", "1-2-3", "a-1", "sshd", "getty@tty1", "net.eth0", "a+b", "-x", ".x", "x y", "x/y", "é", "A9_-@+."}

func TestIsPassAndIsOpenRCName(t *testing.T) {
	for _, s := range nameSeeds {
		if got, want := isPass(s), passPattern.MatchString(s); got != want {
			t.Errorf("isPass(%q) = %v, want %v", s, got, want)
		}
		if got, want := isOpenRCName(s), namePattern.MatchString(s); got != want {
			t.Errorf("isOpenRCName(%q) = %v, want %v", s, got, want)
		}
	}
}

func FuzzNames(f *testing.F) {
	for _, s := range nameSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := isPass(s), passPattern.MatchString(s); got != want {
			t.Errorf("isPass(%q) = %v, want %v", s, got, want)
		}
		if got, want := isOpenRCName(s), namePattern.MatchString(s); got != want {
			t.Errorf("isOpenRCName(%q) = %v, want %v", s, got, want)
		}
	})
}
