package ideal

import (
	"errors"
	"fmt"

	"github.com/ideal-fsad/ideal/kernels"
)

// Errors a caller can test with errors.Is. Every error the package returns for a bad
// input wraps ErrBadInput (and is an *InputError naming the input); an operation the
// backend cannot run wraps ErrUnsupported; an option that cannot work wraps
// ErrBadOption; a cancelled context gives an error that
// wraps ctx.Err() (context.Canceled or context.DeadlineExceeded).
var (
	ErrBadInput    = errors.New("bad input")
	ErrBadOption   = errors.New("bad option") // an Options value that cannot work (e.g. a size the backbone cannot take)
	ErrUnsupported = kernels.ErrUnsupported
)

// InputError is a problem with one input: an image, a features file, a mask or a
// weight file that cannot be used. It wraps ErrBadInput and the underlying error.
type InputError struct {
	Path string // the input ("" when it has no name)
	Err  error
}

func (e *InputError) Error() string {
	if e.Path == "" {
		return e.Err.Error()
	}
	return e.Path + ": " + e.Err.Error()
}

// Unwrap returns ErrBadInput and the underlying error.
func (e *InputError) Unwrap() []error { return []error{ErrBadInput, e.Err} }

// badInput wraps err as an *InputError of path.
func badInput(path string, err error) error {
	var ie *InputError
	if errors.As(err, &ie) && ie.Path == path {
		return err
	}
	return &InputError{Path: path, Err: err}
}

func badInputf(path, format string, args ...any) error {
	return &InputError{Path: path, Err: fmt.Errorf(format, args...)}
}
