//go:build !linux

package lowprio

import (
	"errors"
	"fmt"
)

var errNoThreadPriority = fmt.Errorf("lowprio: threads have no priority of their own here: %w", errors.ErrUnsupported)

func lowerThreadPriority(int) error { return errNoThreadPriority }

func threadNice() (int, error) { return 0, errNoThreadPriority }
