//go:build !invariants

package metadata

// Invariants reports whether the invariants build tag is on.
const Invariants = false

// checkInvariants is free without the invariants build tag.
func checkInvariants(old, next *Image) {}
