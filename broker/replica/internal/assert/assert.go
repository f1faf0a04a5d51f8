// Package assert holds the replication packages' invariant checks. They run
// only in builds with the `invariants` tag (the simulation guest and the
// race of tests that want them); otherwise Enabled is false and every check
// compiles to nothing the caller pays for beyond the call.
//
// A failed check panics: an invariant of the replication rules that does
// not hold means the state machine itself is wrong, and continuing could
// acknowledge or serve data that is then lost.
package assert

import "fmt"

// That panics with the formatted message when Enabled and cond is false.
// Callers guard expensive conditions with `if assert.Enabled`. Its
// arguments are boxed before the call, whether cond holds or not: a
// check that runs on every fetch or append writes `if !cond {
// assert.Failf(...) }` instead, which boxes them only on failure.
func That(cond bool, format string, args ...any) {
	if Enabled && !cond {
		Failf(format, args...)
	}
}

// Failf panics with the formatted message when Enabled: the check that
// called it found an invariant broken.
func Failf(format string, args ...any) {
	if Enabled {
		panic(fmt.Sprintf("replication invariant violated: "+format, args...))
	}
}
