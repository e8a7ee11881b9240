package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
)

// errInterrupted is the cause of the context of a command stopped by SIGINT or
// SIGTERM; run turns an error wrapping it or context.Canceled into exit status 130
// (128 + SIGINT, as shells report it).
var errInterrupted = errors.New("interrupted")

// outputsMu is held while a command rewrites a set of outputs that belong together
// (each file is atomic on its own); a second interrupt waits for it before exiting, so
// that the set is never left half-updated.
var outputsMu sync.Mutex

// watchInterrupt returns a context that is cancelled (cause errInterrupted) by the
// first SIGINT or SIGTERM: the command then stops at its next safe point (after names
// it: "the current image"), writes what is finished and returns. A second signal waits
// for outputsMu (a set of outputs being written), calls cleanup (nil: none) and exits
// with status 130. release stops the watching.
func watchInterrupt(name, after string, cleanup func()) (ctx context.Context, release func()) {
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	ctx, cancel := context.WithCancelCause(context.Background())
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-ch:
				if ctx.Err() != nil {
					fmt.Fprintf(os.Stderr, "\nideal %s: interrupted again: exiting now (finished outputs are intact)\n", name)
					outputsMu.Lock()
					if cleanup != nil {
						cleanup()
					}
					os.Exit(130)
				}
				fmt.Fprintf(os.Stderr, "\nideal %s: interrupted: stopping after %s (interrupt again to exit at once)\n", name, after)
				cancel(errInterrupted)
			case <-done:
				return
			}
		}
	}()
	return ctx, func() { signal.Stop(ch); close(done); cancel(nil) }
}

// isInterrupt reports whether err ends a command stopped by a signal or a cancelled
// context.
func isInterrupt(err error) bool {
	return errors.Is(err, errInterrupted) || errors.Is(err, context.Canceled)
}

// removeTempFiles removes the temporary files of unfinished atomic writes
// (internal/atomicfile names them .NAME.tmpNNN) under the given folders.
func removeTempFiles(dirs ...string) {
	for _, d := range dirs {
		filepath.WalkDir(d, func(p string, e fs.DirEntry, err error) error {
			if err == nil && e.Type().IsRegular() && isTempName(e.Name()) {
				os.Remove(p)
			}
			return nil
		})
	}
}

// isTempName tells an atomicfile temporary file by its name.
func isTempName(name string) bool {
	return strings.HasPrefix(name, ".") && strings.Contains(name, ".tmp")
}
