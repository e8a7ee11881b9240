// Command ideal is the IDEAL few-shot anomaly detection toolkit's command line.
// Each subcommand lives in its own file (cmd_<name>.go) and registers itself in init.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/ideal-fsad/ideal"
	"github.com/ideal-fsad/ideal/imaging"
)

// command is one subcommand: run gets the arguments after its name.
type command struct {
	summary string
	run     func(args []string) error
}

var commands = map[string]command{}

func register(name, summary string, run func(args []string) error) {
	if _, dup := commands[name]; dup {
		panic("ideal: command registered twice: " + name)
	}
	commands[name] = command{summary, run}
}

// errUsage marks an error caused by how the command was called (exit status 2).
var errUsage = errors.New("usage")

// usageErrorf returns an error that wraps errUsage.
func usageErrorf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errUsage, fmt.Sprintf(format, args...))
}

// newFlagSet returns a flag set for a subcommand that reports errors instead of
// exiting, and prints usage on -h.
func newFlagSet(name, usage string) *flag.FlagSet {
	fs := flag.NewFlagSet("ideal "+name, flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: ideal %s %s\n", name, usage)
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses args into fs; errors as flagError says.
func parseFlags(fs *flag.FlagSet, args []string) error { return flagError(fs.Parse(args)) }

// flagError makes a flag-parsing error (an unknown flag, an unreadable value) a usage
// error (exit status 2) naming the flag; -h's flag.ErrHelp and nil pass through.
func flagError(err error) error {
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		return usageErrorf("%v", err)
	}
	return err
}

// splitList splits a comma-separated flag value (such as --classes a,b), dropping
// blanks; an empty value gives nil (meaning "all").
func splitList(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

func printHelp(w io.Writer) {
	fmt.Fprintln(w, "ideal: discriminative few-shot anomaly detection (IDEAL) with a DINOv2 backbone")
	fmt.Fprintln(w, "\nusage: ideal COMMAND [flags] [args]\n\ncommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-12s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w, "\nRun 'ideal COMMAND -h' for a command's flags.")
	fmt.Fprintln(w, "\nEnvironment: IDEAL_MAX_PIXELS=N refuses images and masks of more than N pixels\n(width × height) before decoding them; default 100000000.")
}

func main() {
	os.Exit(run(os.Args[1:]))
}

// run executes one command line and returns the process exit status.
func run(args []string) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		printHelp(os.Stdout)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	if err := imaging.MaxPixelsFromEnv(); err != nil {
		fmt.Fprintf(os.Stderr, "ideal: %v\n", err)
		return 2
	}
	c, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(os.Stderr, "ideal: unknown command %q\n\n", args[0])
		printHelp(os.Stderr)
		return 2
	}
	if err := c.run(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintf(os.Stderr, "ideal %s: %v\n", args[0], err)
		if errors.Is(err, errUsage) || errors.Is(err, ideal.ErrBadOption) {
			return 2
		}
		if isInterrupt(err) {
			return 130
		}
		return 1
	}
	return 0
}
