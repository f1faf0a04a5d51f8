package world

// MetadataConverged exposes the liveness phase's metadata check to the
// tests of package world_test.
func (w *World) MetadataConverged() error { return w.metadataConverged() }
