package main

import (
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// stderrIsTerminal reports whether progress bars can be drawn: a log file or CI gets
// one line per class or epoch instead of thousands of carriage-return frames.
func stderrIsTerminal() bool { return term.IsTerminal(int(os.Stderr.Fd())) }

// newBar returns a progress bar of total steps on stderr, or nil when stderr is not a
// terminal (every method of a nil bar is then a no-op through the helpers below).
func newBar(total int, desc string) *progressbar.ProgressBar {
	if !stderrIsTerminal() {
		return nil
	}
	return progressbar.NewOptions(total, progressbar.OptionSetWriter(os.Stderr),
		progressbar.OptionSetDescription(desc), progressbar.OptionShowCount(),
		progressbar.OptionSetPredictTime(true), progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionClearOnFinish())
}
