package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Exit codes shared by all commands.
const (
	ExitOK    = 0 // the command did what was asked
	ExitError = 1 // the command failed; the reason is one line on stderr
	ExitUsage = 2 // the command line is wrong
)

// DefaultBootstrap is the --bootstrap-server default, as in Kafka's tools.
const DefaultBootstrap = "127.0.0.1:9092"

// Func is the shape of every subcommand: args excludes the subcommand name.
// It must return when ctx is done (SIGINT/SIGTERM in the weir binary).
type Func func(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int

// usageError is a wrong command line. withUsage asks for the full usage text
// after the one-line message (unknown or malformed flags).
type usageError struct {
	msg       string
	withUsage bool
}

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// command carries what every subcommand needs to report: its name, its flag
// set (for usage) and its streams.
type command struct {
	name     string // "topics"
	synopsis string // first usage line after "usage: weir "
	about    string // paragraph printed after the synopsis
	fs       *flag.FlagSet
	stdout   io.Writer
	stderr   io.Writer
}

func newCommand(name, synopsis, about string, stdout, stderr io.Writer) *command {
	fs := flag.NewFlagSet("weir "+name, flag.ContinueOnError)
	fs.SetOutput(io.Discard) // we print errors and usage ourselves
	fs.Usage = func() {}
	return &command{name: name, synopsis: synopsis, about: about, fs: fs, stdout: stdout, stderr: stderr}
}

// parse parses args, allowing positional arguments between flags
// (`weir topics --bootstrap-server x list`). Everything after "--" is
// positional. It returns the positional arguments. On --help it prints the
// usage to stdout and returns errHelp.
func (c *command) parse(args []string) ([]string, error) {
	var pos []string
	for {
		err := c.fs.Parse(args)
		if errors.Is(err, flag.ErrHelp) {
			c.printUsage(c.stdout)
			return nil, errHelp
		}
		if err != nil {
			return nil, &usageError{msg: flagErrorMessage(err), withUsage: true}
		}
		rest := c.fs.Args()
		consumed := len(args) - len(rest)
		if consumed > 0 && args[consumed-1] == "--" {
			return append(pos, rest...), nil
		}
		if len(rest) == 0 {
			return pos, nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

var errHelp = errors.New("help requested")

// flagErrorMessage rewrites the flag package's messages with the "--"
// spelling used everywhere else ("unknown flag --bogus").
func flagErrorMessage(err error) string {
	msg := err.Error()
	if name, ok := strings.CutPrefix(msg, "flag provided but not defined: -"); ok {
		return "unknown flag --" + name
	}
	msg = strings.Replace(msg, "flag needs an argument: -", "flag needs an argument: --", 1)
	return strings.Replace(msg, " for flag -", " for --", 1)
}

// exit turns an error into an exit code and prints it: nil is success,
// errHelp was already handled, a usageError is a wrong command line and
// anything else a failure. Messages are kept to one line.
func (c *command) exit(err error) int {
	if err == nil {
		return ExitOK
	}
	if errors.Is(err, errHelp) {
		return ExitOK
	}
	fmt.Fprintf(c.stderr, "weir %s: %s\n", c.name, oneLine(err.Error()))
	var ue *usageError
	if errors.As(err, &ue) {
		if ue.withUsage {
			c.printUsage(c.stderr)
		}
		return ExitUsage
	}
	return ExitError
}

func oneLine(s string) string {
	s = strings.TrimSpace(s)
	return strings.Join(strings.Fields(strings.ReplaceAll(s, "\n", "; ")), " ")
}

// printUsage prints the synopsis and the flags with Kafka-style "--" names.
func (c *command) printUsage(w io.Writer) {
	fmt.Fprintf(w, "usage: weir %s\n\n", c.synopsis)
	if c.about != "" {
		fmt.Fprintf(w, "%s\n\n", strings.TrimSpace(c.about))
	}
	fmt.Fprintln(w, "flags:")
	c.fs.VisitAll(func(f *flag.Flag) {
		typ, usage := flag.UnquoteUsage(f)
		head := "  --" + f.Name
		if typ != "" {
			head += " " + typ
		}
		line := head
		if len(head) < 30 {
			line += strings.Repeat(" ", 30-len(head))
		} else {
			line += "\n" + strings.Repeat(" ", 30)
		}
		line += usage
		if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "0" && f.DefValue != "[]" {
			line += fmt.Sprintf(" (default %s)", f.DefValue)
		}
		fmt.Fprintln(w, line)
	})
}

// isSet reports whether the flag was given on the command line.
func (c *command) isSet(name string) bool {
	set := false
	c.fs.Visit(func(f *flag.Flag) {
		if f.Name == name {
			set = true
		}
	})
	return set
}

// listFlag is a repeatable string flag (--config, --property, --delete-config).
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

// keyValues splits "k=v" items; the value may contain '='.
func keyValues(flagName string, items []string) ([][2]string, error) {
	out := make([][2]string, 0, len(items))
	for _, it := range items {
		k, v, ok := strings.Cut(it, "=")
		if !ok || k == "" {
			return nil, usagef("--%s %q: want key=value", flagName, it)
		}
		out = append(out, [2]string{k, v})
	}
	return out, nil
}

// properties parses repeated --property k=v against the keys a command
// knows. Unknown keys (often serializer settings copied from Kafka guides)
// are ignored with a warning rather than refused, as Kafka's tools do.
func properties(c *command, items []string, known map[string]string) (map[string]string, error) {
	kvs, err := keyValues("property", items)
	if err != nil {
		return nil, err
	}
	props := make(map[string]string, len(known))
	for k, v := range known {
		props[k] = v
	}
	for _, kv := range kvs {
		if _, ok := known[kv[0]]; !ok {
			fmt.Fprintf(c.stderr, "weir %s: ignoring unsupported property %q\n", c.name, kv[0])
			continue
		}
		props[kv[0]] = kv[1]
	}
	return props, nil
}

// propTrue reads a boolean property the way Kafka does (trim, "true" in any case).
func propTrue(v string) bool { return strings.EqualFold(strings.TrimSpace(v), "true") }

func seeds(bootstrap string) ([]string, error) {
	var out []string
	for _, s := range strings.Split(bootstrap, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	if len(out) == 0 {
		return nil, usagef("--bootstrap-server is empty")
	}
	return out, nil
}

// connTracker remembers whether any broker connection ever succeeded and the
// last dial error, so that a timeout against an unreachable cluster is
// reported as such instead of as "context deadline exceeded".
type connTracker struct {
	bootstrap string

	mu        sync.Mutex
	connected bool
	lastErr   error
}

var _ kgo.HookBrokerConnect = (*connTracker)(nil)

func (t *connTracker) OnBrokerConnect(_ kgo.BrokerMetadata, _ time.Duration, _ net.Conn, err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if err == nil {
		t.connected = true
		return
	}
	t.lastErr = err
}

// explain rewrites err when no broker could ever be reached.
func (t *connTracker) explain(err error) error {
	if err == nil {
		return nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.connected {
		return err
	}
	if t.lastErr != nil {
		return fmt.Errorf("cannot reach bootstrap server %s: %v", t.bootstrap, t.lastErr)
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("cannot reach bootstrap server %s: no answer before the timeout", t.bootstrap)
	}
	return err
}

// clientOpts are the options every command's kgo client starts from.
func clientOpts(bootstrap, clientID string) ([]kgo.Opt, *connTracker, error) {
	ss, err := seeds(bootstrap)
	if err != nil {
		return nil, nil, err
	}
	t := &connTracker{bootstrap: bootstrap}
	return []kgo.Opt{
		kgo.SeedBrokers(ss...),
		kgo.ClientID(clientID),
		kgo.WithHooks(t),
		kgo.DialTimeout(10 * time.Second),
	}, t, nil
}

func msDuration(flagName string, ms int) (time.Duration, error) {
	if ms < 0 {
		return 0, usagef("--%s must not be negative, got %d", flagName, ms)
	}
	return time.Duration(ms) * time.Millisecond, nil
}
