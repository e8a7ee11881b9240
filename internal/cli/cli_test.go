package cli

import (
	"flag"
	"io"
	"reflect"
	"testing"
)

func TestInterspersed(t *testing.T) {
	for _, c := range []struct {
		args      []string
		pos, list []string
		size      int
	}{
		{[]string{"q1", "--normal", "a", "q2", "--size", "224", "--normal", "b"}, []string{"q1", "q2"}, []string{"a", "b"}, 224},
		{[]string{"--size=98", "q1", "--", "--normal", "-x"}, []string{"q1", "--normal", "-x"}, nil, 98},
		{nil, nil, nil, 448},
	} {
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		var l List
		fs.Var(&l, "normal", "")
		size := fs.Int("size", 448, "")
		pos, err := Interspersed(fs, c.args)
		if err != nil || !reflect.DeepEqual(pos, c.pos) || !reflect.DeepEqual([]string(l), c.list) || *size != c.size {
			t.Errorf("%q: pos %q list %q size %d err %v; want %q %q %d", c.args, pos, l, *size, err, c.pos, c.list, c.size)
		}
	}
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Int("size", 448, "")
	if _, err := Interspersed(fs, []string{"q", "--size", "abc"}); err == nil {
		t.Error("an unreadable value after a positional argument was accepted")
	}
}
