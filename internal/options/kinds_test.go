package options

import (
	"strings"
	"testing"
)

// The hand-written name checks accept exactly what their documented
// patterns say.
func TestNameChecks(t *testing.T) {
	cases := []struct {
		check func(string) error
		ok    []string
		bad   []string
	}{
		{CheckServiceName,
			[]string{"a", "getty@tty2", "x_1.2+b-c", "_x", "9", "n@a:b", strings.Repeat("a", 100), "a@" + strings.Repeat("b", 100)},
			[]string{"", ".hidden", "-x", "a/b", "a b", "a@", "@b", "a@b@c", "a:b", "é", strings.Repeat("a", 101), "a@" + strings.Repeat("b", 101)}},
		{checkAccountName,
			[]string{"nobody", "_x", "www-data", "a.b", "samba$", "0", "65534", strings.Repeat("a", 32)},
			[]string{"", "Root", "1a", "-x", "a$b", "$", "a b", strings.Repeat("a", 33), "12x"}},
		{checkEnvAssign,
			[]string{"A=1", "_x=", "a9=two words", "PATH=/bin:/usr/bin"},
			[]string{"A", "=1", "9A=1", "A-B=1", "Ä=1", " A=1"}},
	}
	for _, c := range cases {
		for _, s := range c.ok {
			if err := c.check(s); err != nil {
				t.Errorf("%q: %v; want accepted", s, err)
			}
		}
		for _, s := range c.bad {
			if c.check(s) == nil {
				t.Errorf("%q accepted; want refused", s)
			}
		}
	}
}
