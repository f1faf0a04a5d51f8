//go:build invariants

package metadata

import "fmt"

// Invariants reports whether the invariants build tag is on.
const Invariants = true

// checkInvariants panics when an Apply broke a rule of CheckImage or
// CheckTransition: with the tag on (the simulation guest), a controller
// bug stops the run at the record that caused it.
func checkInvariants(old, next *Image) {
	if err := CheckTransition(old, next); err != nil {
		panic(fmt.Sprintf("metadata invariant at offset %+v: %v", next.offset, err))
	}
	if err := CheckImage(next); err != nil {
		panic(fmt.Sprintf("metadata invariant at offset %+v: %v", next.offset, err))
	}
}
