// Package cli holds the command-line helpers that both binaries, ideal and ideal-view,
// use: a repeatable string flag and flag parsing that lets flags follow positional
// arguments.
package cli

import (
	"flag"
	"strings"
)

// List collects a repeatable string flag (--normal a --normal b).
type List []string

func (l *List) String() string     { return strings.Join(*l, ",") }
func (l *List) Set(v string) error { *l = append(*l, v); return nil }

// Interspersed parses args into fs, allowing flags after positional arguments
// (ideal score --normal a q1 q2 --size 224), and returns the positional arguments in
// order. Everything after "--" is positional. The error is fs.Parse's.
func Interspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if len(args) > len(rest) && args[len(args)-len(rest)-1] == "--" {
			return append(pos, rest...), nil
		}
		pos, args = append(pos, rest[0]), rest[1:]
	}
}
