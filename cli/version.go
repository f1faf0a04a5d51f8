package cli

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
)

// Version is `weir version`: the module version (devel for a build from a
// work tree), the Go toolchain and platform, and the franz-go client in use.
func Version(_ context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
	c := newCommand("version", "version", "Print the version of weir and of the franz-go client it uses.", stdout, stderr)
	return c.exit(func() error {
		pos, err := c.parse(args)
		if err != nil {
			return err
		}
		if len(pos) > 0 {
			return usagef("unexpected argument %q", pos[0])
		}
		fmt.Fprintln(stdout, VersionString())
		return nil
	}())
}

// VersionString is one line: "weir devel go1.26.8 linux/amd64 franz-go/v1.22.2".
func VersionString() string {
	v, franz := "devel", "unknown"
	if bi, ok := debug.ReadBuildInfo(); ok {
		if mv := bi.Main.Version; mv != "" && mv != "(devel)" {
			v = mv
		}
		for _, d := range bi.Deps {
			if d.Path == "github.com/twmb/franz-go" {
				franz = d.Version
			}
		}
	}
	return fmt.Sprintf("weir %s %s %s/%s franz-go/%s", v, runtime.Version(), runtime.GOOS, runtime.GOARCH, franz)
}
