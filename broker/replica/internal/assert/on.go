//go:build invariants

package assert

// Enabled: this build checks the invariants.
const Enabled = true
