package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// signalError is the cause of a context cancelled by a signal.
type signalError struct{ sig os.Signal }

func (e signalError) Error() string { return "received " + e.sig.String() }

// signalContext returns a context cancelled, with a signalError cause, at the first SIGINT or
// SIGTERM. A second signal is not caught: it ends the process at once.
func signalContext() (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(context.Background())
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		select {
		case sig := <-ch:
			signal.Reset(os.Interrupt, syscall.SIGTERM)
			cancel(signalError{sig})
		case <-done:
		}
	}()
	return ctx, func() {
		signal.Stop(ch)
		close(done)
		cancel(nil)
	}
}

// interruptedError is a command's one-line account of an interruption: what was kept and how
// to go on. Commands return it (wrapping context.Canceled) instead of the cancelled operation's
// error.
type interruptedError struct{ next string }

func (e interruptedError) Error() string { return "interrupted; " + e.next }
func (e interruptedError) Unwrap() error { return context.Canceled }

// interrupted prints the one line for an interrupted command and returns its exit code (issue
// 13 item 5): ExitInterrupted for SIGINT (or a cancelled context), ExitTerminated for SIGTERM.
func interrupted(ctx context.Context, stderr io.Writer, err error) int {
	msg := "interrupted"
	var ie interruptedError
	if errors.As(err, &ie) {
		msg = ie.Error()
	}
	var se signalError
	code := ExitInterrupted
	if errors.As(context.Cause(ctx), &se) {
		msg += " (" + se.sig.String() + ")"
		if se.sig == syscall.SIGTERM {
			code = ExitTerminated
		}
	}
	fmt.Fprintln(stderr, "cumulus-etl:", msg)
	return code
}
