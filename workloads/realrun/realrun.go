package realrun

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/weir-dev/weir/checker"
	"github.com/weir-dev/weir/history"
	"github.com/weir-dev/weir/runfolder"
	"github.com/weir-dev/weir/workloads/gen"
	"github.com/weir-dev/weir/workloads/registry"
	"github.com/weir-dev/weir/workloads/stream"
)

// Config is one run.
type Config struct {
	Names     []string // registry names, as registry.ParseNames returns them
	Bootstrap []string // host:port
	Duration  time.Duration
	Out       string // the run folder
	Seed      uint64
	Args      []string // the command line, recorded in the header
	// Dialer connects the clients; nil dials with the OS.
	Dialer registry.Dialer
	// Progress, if set, gets the trace's lines as they happen.
	Progress io.Writer
	// SetupTimeout bounds finding the cluster and creating the topics
	// (default 1m); FinishTimeout the final reads (default 2m).
	SetupTimeout  time.Duration
	FinishTimeout time.Duration
	// TopicSuffix overrides the topic suffix drawn from the seed and the
	// start time (tests).
	TopicSuffix string
	// GroupProtocol (stream.ProtocolClassic or stream.ProtocolConsumer)
	// and GroupMembership ("static" or "dynamic") force that part of every
	// pipeline workload's processing-group mode; empty parts are drawn
	// from the seed as the simulator draws them (registry.DrawGroupMode).
	GroupProtocol, GroupMembership string
}

// Params is header.json's params of a run against a real cluster; its
// scenario, workload and workload_params fields are registry.RunParams.
type Params struct {
	Seed              uint64                     `json:"seed"`
	Scenario          string                     `json:"scenario"` // registry.External
	Workload          string                     `json:"workload"`
	DurationNs        int64                      `json:"duration_ns"`
	Bootstrap         []string                   `json:"bootstrap"`
	Brokers           int                        `json:"brokers"`
	ReplicationFactor int16                      `json:"replication_factor"`
	MinInsync         int                        `json:"min_insync_replicas"`
	TopicSuffix       string                     `json:"topic_suffix"`
	GoVersion         string                     `json:"go_version"`
	WorkloadParams    map[string]json.RawMessage `json:"workload_params"`
}

// Streams of the seed: the parameters, and each workload's run.
const (
	streamParams = 0x7765_6972_7061_7261 // "weirpara", as the simulator's
	streamRun    = 0x7765_6972_7275_6e00 // "weirrun\0" + the workload's index
)

// Result is what a run concluded.
type Result struct {
	Code    int
	Summary string
	Params  Params
}

// Run runs cfg and writes its run folder. The error means the run could
// not be made or its folder not written (a harness error, exit 3); a run
// that was made has its verdict in Result, and its folder.
func Run(ctx context.Context, cfg Config) (Result, error) {
	var res Result
	if cfg.SetupTimeout <= 0 {
		cfg.SetupTimeout = time.Minute
	}
	if cfg.FinishTimeout <= 0 {
		cfg.FinishTimeout = 2 * time.Minute
	}
	if err := prepareFolder(cfg.Out); err != nil {
		return res, err
	}
	start := time.Now()
	tr := &trace{start: start, progress: cfg.Progress}
	header := runfolder.Header{
		Seed: cfg.Seed, Args: nonNil(cfg.Args), ExtraArgs: []string{}, Env: []string{},
		GoVersion: runtime.Version(), HostGoVersion: runtime.Version(), HostPlatform: runtime.GOOS + "/" + runtime.GOARCH,
	}
	// A header before anything runs, so that a run that never finishes
	// can still be understood.
	if err := runfolder.WriteHeader(cfg.Out, header); err != nil {
		return res, err
	}
	p, err := drawParams(ctx, cfg, start, tr)
	if err != nil {
		return res, err
	}
	res.Params = p
	if header.Params, err = json.Marshal(p); err != nil {
		return res, err
	}
	if err := runfolder.WriteHeader(cfg.Out, header); err != nil {
		return res, err
	}
	var members []registry.Member
	for i, name := range cfg.Names {
		members = append(members, registry.Member{Name: name, Params: p.WorkloadParams[name], Env: registry.Env{
			Bootstrap: cfg.Bootstrap, Dialer: cfg.Dialer, Rand: rand.New(rand.NewPCG(cfg.Seed, streamRun+uint64(i))),
		}})
	}
	set, err := registry.NewSet(members, start, time.Now)
	if err != nil {
		return res, err
	}

	var liveness error
	sctx, cancel := context.WithTimeout(ctx, cfg.SetupTimeout)
	err = set.Setup(sctx)
	cancel()
	if err != nil {
		liveness = fmt.Errorf("the cluster could not create the workloads' topics within %v: %w", cfg.SetupTimeout, err)
		tr.log("setup", "%v", liveness)
	} else {
		tr.log("setup", "topics created; running %s for %v", p.Workload, cfg.Duration)
		if err := set.Run(ctx); err != nil {
			return res, fmt.Errorf("workload: %w", err)
		}
		if ctx.Err() != nil {
			tr.log("run", "interrupted after %v; the final reads still run", time.Since(start).Round(time.Millisecond))
		}
		tr.log("run", "safety phase over; final reads")
		// An interrupt ends the safety phase, not the final reads: a run
		// cut short is still judged on what it did.
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.FinishTimeout)
		if err := set.Finish(fctx); err != nil {
			tr.log("final", "%v", err)
		}
		cancel()
	}
	ops, err := set.History()
	if err != nil {
		return res, err
	}
	opts := set.Opts()
	opts.VisualizationPath = func(topic string, part int32) string {
		return filepath.Join(cfg.Out, fmt.Sprintf("linearizability-%s-%d.html", topic, part))
	}
	tr.log("checker", "judging %d ops", len(ops))
	code, summary, v := checker.Judge(ops, opts, liveness)
	elapsed := time.Since(start)
	res.Code, res.Summary = code, summary
	return res, writeFolder(cfg.Out, header, ops, tr, code, summary, v, elapsed)
}

// drawParams asks the cluster for its brokers and draws every workload's
// parameters from the seed.
func drawParams(ctx context.Context, cfg Config, start time.Time, tr *trace) (Params, error) {
	cluster, err := probeCluster(ctx, cfg)
	if err != nil {
		return Params{}, err
	}
	brokers := cluster.brokers
	rf := int16(min(3, brokers))
	p := Params{
		Seed: cfg.Seed, Scenario: registry.External, Workload: strings.Join(cfg.Names, ","),
		DurationNs: int64(cfg.Duration), Bootstrap: cfg.Bootstrap, Brokers: brokers,
		ReplicationFactor: rf, MinInsync: min(2, int(rf)),
		TopicSuffix: cfg.TopicSuffix, GoVersion: runtime.Version(),
		WorkloadParams: map[string]json.RawMessage{},
	}
	if p.TopicSuffix == "" {
		p.TopicSuffix = fmt.Sprintf("-%d-%s", cfg.Seed, start.UTC().Format("20060102t150405"))
	}
	rng := rand.New(rand.NewPCG(cfg.Seed, streamParams))
	c := registry.Cluster{ReplicationFactor: rf, MinInsync: p.MinInsync, Duration: cfg.Duration, TopicSuffix: p.TopicSuffix}
	for _, name := range cfg.Names {
		e, err := registry.Lookup(name)
		if err != nil {
			return p, err
		}
		if p.WorkloadParams[name], err = e.Draw(rng, c); err != nil {
			return p, fmt.Errorf("workload %s: %w", name, err)
		}
	}
	// After every workload's own draw, so that the modes change no other
	// parameter of the seed (as in the simulator).
	for _, name := range cfg.Names {
		if e, _ := registry.Lookup(name); e.ProcessingGroup {
			if p.WorkloadParams[name], err = setGroupMode(cfg, name, cluster, p.WorkloadParams[name], tr); err != nil {
				return p, err
			}
		}
	}
	tr.log("setup", "%d broker(s) at %s: topics with %d replicas, min.insync.replicas %d, suffix %s", brokers, strings.Join(cfg.Bootstrap, ","), rf, p.MinInsync, p.TopicSuffix)
	return p, nil
}

// clusterInfo is what a run asks the cluster before drawing its
// parameters.
type clusterInfo struct {
	brokers int
	// consumerProtocol: every broker offers KIP-848's
	// ConsumerGroupHeartbeat (Kafka 4.0 by default; not Kafka 3.x without
	// the early-access flag, nor every Kafka-compatible broker).
	consumerProtocol bool
}

// probeCluster asks the cluster how many brokers it has and whether they
// speak the consumer group protocol.
func probeCluster(ctx context.Context, cfg Config) (clusterInfo, error) {
	var info clusterInfo
	cl, err := gen.ClientConfig{Bootstrap: cfg.Bootstrap, Dialer: cfg.Dialer}.New()
	if err != nil {
		return info, err
	}
	defer cl.Close()
	// A wrong address should not keep a person waiting a minute.
	ctx, cancel := context.WithTimeout(ctx, min(cfg.SetupTimeout, 20*time.Second))
	defer cancel()
	// One answer per broker the metadata lists (the error is the
	// metadata request's).
	versions, err := kadm.NewClient(cl).ApiVersions(ctx)
	if err != nil {
		return info, fmt.Errorf("cannot reach a cluster at %s: %w", strings.Join(cfg.Bootstrap, ","), err)
	}
	if len(versions) == 0 {
		return info, fmt.Errorf("the cluster at %s lists no brokers", strings.Join(cfg.Bootstrap, ","))
	}
	info.brokers, info.consumerProtocol = len(versions), true
	versions.Each(func(v kadm.BrokerApiVersions) {
		if _, ok := v.KeyMaxVersion(kmsg.ConsumerGroupHeartbeat.Int16()); v.Err != nil || !ok {
			info.consumerProtocol = false
		}
	})
	return info, nil
}

// setGroupMode draws workload name's processing-group mode (the flags
// force their parts) and writes it into its parameters. A drawn consumer
// protocol falls back to the classic one on a cluster that does not offer
// it (said in the trace); a forced one there is an error.
func setGroupMode(cfg Config, name string, cluster clusterInfo, params json.RawMessage, tr *trace) (json.RawMessage, error) {
	m := registry.DrawGroupMode(cfg.Seed, name, cfg.GroupProtocol, cfg.GroupMembership)
	if m.Consumer() && !cluster.consumerProtocol {
		if cfg.GroupProtocol == stream.ProtocolConsumer {
			return nil, fmt.Errorf("--group %s: the cluster at %s does not offer the consumer group protocol (KIP-848: ConsumerGroupHeartbeat is not in every broker's ApiVersions); use --group classic", stream.ProtocolConsumer, strings.Join(cfg.Bootstrap, ","))
		}
		tr.log("setup", "%s: the seed drew the consumer group protocol, which the cluster does not offer (no ConsumerGroupHeartbeat in ApiVersions): classic instead", name)
		m.Protocol = stream.ProtocolClassic
	}
	tr.log("setup", "%s processing group: %s", name, m.Name())
	return registry.SetGroupMode(params, m)
}

// prepareFolder makes dir and removes what an earlier run left in it (only
// run-folder artifacts; nothing else is touched).
func prepareFolder(dir string) error {
	if dir == "" {
		return errors.New("no run folder")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	names := append([]string(nil), runfolder.Artifacts...)
	vis, _ := filepath.Glob(filepath.Join(dir, runfolder.LinearizabilityGlob))
	for _, v := range vis {
		names = append(names, filepath.Base(v))
	}
	for _, n := range names {
		if err := os.Remove(filepath.Join(dir, n)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	return nil
}

// writeFolder writes the run's files, verdict.json last.
func writeFolder(dir string, h runfolder.Header, ops []history.Op, tr *trace, code int, summary string, v checker.Verdict, elapsed time.Duration) error {
	var hist bytes.Buffer
	if err := history.Encode(&hist, ops); err != nil {
		return err
	}
	traceBytes := tr.bytes()
	details, err := json.Marshal(v)
	if err != nil {
		return err
	}
	sum := sha256.Sum256(traceBytes)
	h.ExitCode, h.Verdict, h.Message = code, runfolder.VerdictName(code), firstLine(summary)
	h.TraceSHA256, h.VirtualNs, h.WallNs, h.Finished = hex.EncodeToString(sum[:]), int64(elapsed), int64(elapsed), true
	for _, f := range []struct {
		name string
		data []byte
	}{
		{runfolder.HistoryFile, hist.Bytes()},
		{runfolder.TraceFile, traceBytes},
		{runfolder.FaultsFile, nil},
		{runfolder.SummaryFile, summaryText(dir, h, summary)},
	} {
		if err := os.WriteFile(filepath.Join(dir, f.name), f.data, runfolder.FileMode); err != nil {
			return err
		}
	}
	if err := runfolder.WriteHeader(dir, h); err != nil {
		return err
	}
	return runfolder.WriteVerdict(dir, runfolder.Verdict{Seed: h.Seed, Code: code, Summary: summary, VirtualNs: int64(elapsed), Details: details})
}

// summaryText is summary.txt: the facts of the run, then its verdict.
func summaryText(dir string, h runfolder.Header, summary string) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "SEED=%d\n", h.Seed)
	fmt.Fprintf(&b, "run:     against a real cluster (weir workload run); go %s, %s\n", h.HostGoVersion, h.HostPlatform)
	fmt.Fprintf(&b, "args:    %s\n", strings.Join(h.Args, " "))
	fmt.Fprintf(&b, "params:  %s\n", h.Params)
	fmt.Fprintf(&b, "\nverdict: %s (exit %d): %s", h.Verdict, h.ExitCode, summary)
	fmt.Fprintf(&b, "time:    %v\n", time.Duration(h.WallNs).Round(time.Millisecond))
	fmt.Fprintf(&b, "check:   weir check %s\n", dir)
	return []byte(b.String())
}

// trace is trace.log: one line per event, stamped with the nanoseconds
// since the run's start, as the simulator's.
type trace struct {
	start    time.Time
	progress io.Writer

	mu sync.Mutex
	b  bytes.Buffer
}

func (t *trace) log(component, format string, args ...any) {
	line := fmt.Sprintf("%14d %-8s %s\n", time.Since(t.start).Nanoseconds(), component, fmt.Sprintf(format, args...))
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b.WriteString(line)
	if t.progress != nil {
		io.WriteString(t.progress, line)
	}
}

func (t *trace) bytes() []byte {
	t.mu.Lock()
	defer t.mu.Unlock()
	return bytes.Clone(t.b.Bytes())
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
