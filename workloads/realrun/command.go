package realrun

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/weir-dev/weir/runfolder"
	"github.com/weir-dev/weir/workloads/registry"
	"github.com/weir-dev/weir/workloads/stream"
)

const usage = `usage: weir workload run NAME[,NAME] --bootstrap host:port[,host:port] --out DIR [--duration 60s] [--seed N] [--group MODE]
       weir workload list

run: runs the named workloads against a real Kafka-compatible cluster
(Weir, Apache Kafka, Redpanda) with real franz-go clients, for --duration,
then reads every topic back and judges what the clients saw. DIR gets the
run folder weir sim writes (header.json with every parameter,
history.jsonl, trace.log, summary.txt, verdict.json); weir check DIR
judges it again. The seed (printed; random if not given) draws the
workloads' parameters; topic names carry a suffix unique to the run.

  weir workload run queue --bootstrap 127.0.0.1:9092 --duration 60s --out runs/queue-1
  weir check runs/queue-1
  weir workload run payments --bootstrap 127.0.0.1:9092 --group consumer,static --out runs/pay-1

--group: the processing groups of clickstream, payments and vitals speak
the classic protocol or KIP-848's consumer protocol, with dynamic or
static members (group.instance.id); the seed draws each group's mode as
in weir sim, unless --group forces classic or consumer, static or
dynamic, or both ("seed", the default, forces nothing). A drawn consumer
protocol becomes classic on a cluster without ConsumerGroupHeartbeat; a
forced one there is refused. With the consumer protocol a crashed
member's partitions wait for the broker's
group.consumer.session.timeout.ms (Kafka's default 45s), so the final
drain can take that long.

Exit code: 0 valid, 1 invalid, 2 liveness (topics could not be created,
the final read was incomplete) or a wrong command line, 3 the run could
not be made (no cluster at --bootstrap) or judged.

list: the workloads, one a line.

`

// Command is `weir workload`.
func Command(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
	usageErr := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "weir workload: "+format+"\n(run \"weir workload --help\" for usage)\n", a...)
		return 2
	}
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, usage)
		return 0
	case "list":
		if len(args) > 1 {
			return usageErr("list takes no arguments")
		}
		for _, e := range registry.Entries() {
			fmt.Fprintf(stdout, "%-12s %s\n", e.Name, e.About)
		}
		return 0
	case "run":
	default:
		return usageErr("unknown subcommand %q: want run or list", args[0])
	}
	cfg, err := parseRun(args[1:])
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(stdout, usage)
		return 0
	}
	if err != nil {
		return usageErr("%v", err)
	}
	cfg.Args = append([]string{"weir", "workload"}, args...)
	cfg.Progress = stdout
	fmt.Fprintf(stdout, "SEED=%d\n", cfg.Seed)
	res, err := Run(ctx, cfg)
	if err != nil {
		fmt.Fprintf(stderr, "weir workload: %v\n", err)
		return runfolder.ExitHarness
	}
	fmt.Fprint(stdout, res.Summary)
	fmt.Fprintf(stdout, "weir workload: %s: %s (exit %d), folder %s\n", res.Params.Workload, runfolder.VerdictName(res.Code), res.Code, cfg.Out)
	return res.Code
}

// parseRun reads `weir workload run`'s arguments: NAME first or last, and
// the flags, each checked.
func parseRun(args []string) (Config, error) {
	var cfg Config
	fs := flag.NewFlagSet("weir workload run", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	bootstrap := fs.String("bootstrap", "", "the cluster's brokers, host:port[,host:port] (required)")
	fs.DurationVar(&cfg.Duration, "duration", 60*time.Second, "how long the workloads run before the final reads")
	fs.StringVar(&cfg.Out, "out", "", "the run folder (required)")
	seed := fs.String("seed", "", "the seed that draws the parameters (default: random, printed)")
	group := fs.String("group", "seed", "the processing groups' mode: seed, or classic or consumer and static or dynamic, comma-separated")
	var name string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		name, args = args[0], args[1:]
	}
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	switch {
	case name == "" && fs.NArg() == 1:
		name = fs.Arg(0)
	case fs.NArg() > 0:
		return cfg, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if name == "" {
		return cfg, fmt.Errorf("no workload named (known: %s)", strings.Join(registry.Names(), ", "))
	}
	var err error
	if cfg.Names, err = registry.ParseNames(name); err != nil {
		return cfg, err
	}
	if cfg.Bootstrap, err = parseBootstrap(*bootstrap); err != nil {
		return cfg, err
	}
	if cfg.Duration <= 0 || cfg.Duration > 24*time.Hour {
		return cfg, fmt.Errorf("--duration %v: want more than 0 and at most 24h", cfg.Duration)
	}
	if cfg.Out == "" {
		return cfg, errors.New("--out: the run folder is required")
	}
	if cfg.GroupProtocol, cfg.GroupMembership, err = parseGroup(*group); err != nil {
		return cfg, err
	}
	switch *seed {
	case "":
		cfg.Seed = rand.Uint64N(1 << 53)
	default:
		if cfg.Seed, err = strconv.ParseUint(*seed, 10, 64); err != nil {
			return cfg, fmt.Errorf("--seed %q: want a number from 0 to %d", *seed, uint64(1<<64-1))
		}
	}
	return cfg, nil
}

// parseGroup reads --group: "seed", or any of classic or consumer and
// static or dynamic, each at most once.
func parseGroup(s string) (protocol, membership string, err error) {
	if s == "seed" {
		return "", "", nil
	}
	for _, part := range strings.Split(s, ",") {
		switch {
		case (part == stream.ProtocolClassic || part == stream.ProtocolConsumer) && protocol == "":
			protocol = part
		case (part == "static" || part == "dynamic") && membership == "":
			membership = part
		default:
			return "", "", fmt.Errorf("--group %q: want seed, or classic or consumer and static or dynamic (each once), e.g. consumer,static", s)
		}
	}
	return protocol, membership, nil
}

// parseBootstrap reads host:port[,host:port].
func parseBootstrap(s string) ([]string, error) {
	if s == "" {
		return nil, errors.New("--bootstrap: the cluster's brokers are required, e.g. --bootstrap 127.0.0.1:9092")
	}
	var out []string
	for _, a := range strings.Split(s, ",") {
		a = strings.TrimSpace(a)
		host, port, err := net.SplitHostPort(a)
		if err != nil || host == "" {
			return nil, fmt.Errorf("--bootstrap %q: want host:port", a)
		}
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return nil, fmt.Errorf("--bootstrap %q: port %q is not a number from 1 to 65535", a, port)
		}
		out = append(out, a)
	}
	return out, nil
}
