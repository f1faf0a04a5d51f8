//go:build invariants

package invariants

// Enabled is true: this build has -tags invariants.
const Enabled = true
