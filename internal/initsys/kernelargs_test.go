package initsys

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseKernelArgs(t *testing.T) {
	cases := []struct {
		words   []string
		boot    Boot
		ignored []string
	}{
		{nil, BootNormal, nil},
		{[]string{"single"}, BootSingle, nil},
		{[]string{"S"}, BootSingle, nil},
		{[]string{"1"}, BootSingle, nil},
		{[]string{"-s"}, BootSingle, nil},
		{[]string{"emergency"}, BootEmergency, nil},
		{[]string{"-b"}, BootEmergency, nil},
		{[]string{"single", "emergency"}, BootEmergency, nil},
		{[]string{"emergency", "single"}, BootEmergency, nil},
		{[]string{"3", "auto"}, BootNormal, nil},
		{[]string{"splash", "single", "nosuchword"}, BootSingle, []string{"splash", "nosuchword"}},
		{[]string{"--", "splash"}, BootNormal, []string{"splash"}},
		{[]string{"0"}, BootNormal, []string{"0"}}, // halt is no way to boot
		{[]string{"--verbose"}, BootNormal, []string{"--verbose"}},
	}
	for _, c := range cases {
		boot, ignored := ParseKernelArgs(c.words)
		if boot != c.boot || !reflect.DeepEqual(ignored, c.ignored) {
			t.Errorf("ParseKernelArgs(%q) = %v %q; want %v %q", c.words, boot, ignored, c.boot, c.ignored)
		}
	}
	if q := QuoteWords([]string{"splash", "a\nb"}); q != `"splash" "a\nb"` {
		t.Errorf("QuoteWords: %s", q)
	}
}

// Whatever the kernel passes, parsing never fails and every word is
// either understood or handed back to be noted.
func FuzzParseKernelArgs(f *testing.F) {
	f.Add("single splash")
	f.Add("-b 3 auto --")
	f.Fuzz(func(t *testing.T, line string) {
		words := strings.Fields(line)
		_, ignored := ParseKernelArgs(words)
		if len(ignored) > len(words) {
			t.Fatalf("%d ignored of %d words", len(ignored), len(words))
		}
		for _, w := range ignored {
			if _, known := kernelWords[w]; known {
				t.Fatalf("known word %q ignored", w)
			}
		}
	})
}
