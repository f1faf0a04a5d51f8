//go:build !invariants

package assert

// Enabled: this build does not check the invariants.
const Enabled = false
