//go:build !linux

package env

import "os"

// dropOSCache does nothing where posix_fadvise is not available (wasip1 and
// the other systems Weir builds on but is not measured on).
func dropOSCache(*os.File, int64, int64) error { return nil }
