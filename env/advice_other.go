//go:build !linux

package env

import (
	"errors"
	"os"
)

// dropOSCache does nothing and preallocateOS reports ErrUnsupported where
// posix_fadvise and fallocate are not available (wasip1, and the other
// systems Weir builds on but is not measured on).
func dropOSCache(*os.File, int64, int64) error { return nil }

func preallocateOS(*os.File, int64, int64) error { return errors.ErrUnsupported }
