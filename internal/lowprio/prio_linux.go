package lowprio

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// lowerThreadPriority sets the calling thread's nice value to nice. On
// Linux a nice value belongs to a thread (PRIO_PROCESS with a thread id), so
// the rest of the process keeps its priority. Raising it needs no privilege;
// lowering it back would.
func lowerThreadPriority(nice int) error {
	if err := unix.Setpriority(unix.PRIO_PROCESS, unix.Gettid(), nice); err != nil {
		return fmt.Errorf("lowprio: setpriority(nice %d): %w", nice, err)
	}
	return nil
}

// threadNice reports the calling thread's nice value.
func threadNice() (int, error) {
	// The raw syscall returns 20 - nice, so that it is never negative.
	prio, err := unix.Getpriority(unix.PRIO_PROCESS, unix.Gettid())
	if err != nil {
		return 0, err
	}
	return 20 - prio, nil
}
