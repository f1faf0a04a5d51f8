package registry

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/weir-dev/weir/checker"
	"github.com/weir-dev/weir/history"
	"github.com/weir-dev/weir/workloads/gen"
)

// Dialer connects a client (kgo.Dialer's shape).
type Dialer = func(ctx context.Context, network, addr string) (net.Conn, error)

// Env is how a workload's clients reach the cluster, and its randomness.
type Env struct {
	Bootstrap []string // seed brokers, host:port
	// Dialer connects every client; nil dials with the OS.
	Dialer Dialer
	// HostDialer, if set, gives each client host its own dialer (the
	// simulator's network hosts); it takes the place of Dialer.
	HostDialer func(host string) Dialer
	// Rand is the source of the workload's random choices while it runs;
	// nil: one seeded from 0.
	Rand *rand.Rand
}

// dialer is the dialer of a client on host.
func (e Env) dialer(host string) Dialer {
	if e.HostDialer != nil {
		return e.HostDialer(host)
	}
	return e.Dialer
}

// client is the client configuration of a client on host.
func (e Env) client(host string) gen.ClientConfig {
	return gen.ClientConfig{Bootstrap: e.Bootstrap, Dialer: e.dialer(host)}
}

func (e Env) rand() *rand.Rand {
	if e.Rand != nil {
		return e.Rand
	}
	return gen.NewRand(0)
}

// Cluster is what a workload's parameters may depend on.
type Cluster struct {
	// ReplicationFactor of the workload's topics (at least 1), and their
	// min.insync.replicas (0: the broker's default).
	ReplicationFactor int16
	MinInsync         int
	// Duration is the safety phase's length.
	Duration time.Duration
	// Simulated sizes rates for the simulation guest (each simulated
	// second costs real time); otherwise for a real cluster.
	Simulated bool
	// TopicSuffix is appended to the workload's topic (and group) names,
	// so that runs against one real cluster never share a topic: a topic
	// holding another run's records would show values nobody sent.
	TopicSuffix string
}

// Workload is one built workload, ready to run.
type Workload interface {
	// Setup creates the workload's topics; one that exists is fine.
	Setup(ctx context.Context) error
	// Run is the safety phase: it returns when the workload's duration
	// passed or ctx ended. Its error is a harness error; what the clients
	// saw is in rec.
	Run(ctx context.Context, rec *history.Recorder) error
	// Finish ends the run once the cluster healed: the final reads (and
	// whatever the workload must drain first). Its error says the final
	// reads are incomplete; the history says how.
	Finish(ctx context.Context, rec *history.Recorder) error
	// Opts are the checker options the workload's history is judged with.
	Opts() checker.Opts
	// Hosts are the client hosts the workload dials from while it runs
	// (Env.HostDialer's names), besides "admin" and "final".
	Hosts() []string
}

// Entry is one workload of the table.
type Entry struct {
	Name  string
	About string
	// Draw draws the parameters a seed decides for a run on c, as JSON.
	Draw func(rng *rand.Rand, c Cluster) (json.RawMessage, error)
	// Build builds the workload from parameters Draw made (strictly
	// decoded) and env. It does no I/O.
	Build func(params json.RawMessage, env Env) (Workload, error)
	// ProcessingGroup: the workload runs a processing application
	// (workloads/stream) whose group's protocol and membership a run
	// draws (DrawGroupMode) and sets in its parameters (SetGroupMode).
	ProcessingGroup bool
	// DefaultsWithoutParams: a run folder that recorded no parameters for
	// the workload (the simulator's queue, whose parameters are the
	// world's) is judged with the defaults. Otherwise it cannot be judged.
	DefaultsWithoutParams bool
}

// Entries is the table, in the order runs use them: the order a Set runs
// and merges them, whatever order they were named in.
//
// Add payments and vitals here (see doc.go).
func Entries() []Entry {
	return []Entry{
		queueEntry(),
		clickstreamEntry(),
		paymentsEntry(),
		vitalsEntry(),
	}
}

// Names are the workloads' names, in the table's order.
func Names() []string {
	var names []string
	for _, e := range Entries() {
		names = append(names, e.Name)
	}
	return names
}

// Lookup returns the named entry.
func Lookup(name string) (Entry, error) {
	for _, e := range Entries() {
		if e.Name == name {
			return e, nil
		}
	}
	return Entry{}, fmt.Errorf("unknown workload %q (known: %s)", name, strings.Join(Names(), ", "))
}

// ParseNames reads a comma-separated list of workload names ("queue",
// "clickstream,queue"): each known, none twice, returned in the table's
// order, so that "a,b" and "b,a" are the same run.
func ParseNames(s string) ([]string, error) {
	if strings.TrimSpace(s) == "" {
		return nil, fmt.Errorf("no workload named (known: %s)", strings.Join(Names(), ", "))
	}
	given := map[string]bool{}
	for _, n := range strings.Split(s, ",") {
		n = strings.TrimSpace(n)
		if _, err := Lookup(n); err != nil {
			return nil, err
		}
		if given[n] {
			return nil, fmt.Errorf("workload %q named twice", n)
		}
		given[n] = true
	}
	var names []string
	for _, n := range Names() {
		if given[n] {
			names = append(names, n)
		}
	}
	return names, nil
}

// Opts are the checker options of the named workload run with params (nil
// when the run recorded none): what `weir check` judges a folder with.
func Opts(name string, params json.RawMessage) (checker.Opts, error) {
	e, err := Lookup(name)
	if err != nil {
		return checker.Opts{}, err
	}
	if len(params) == 0 && !e.DefaultsWithoutParams {
		return checker.Opts{}, fmt.Errorf("the run recorded no parameters for workload %q, and its checks depend on them", name)
	}
	w, err := e.Build(params, Env{})
	if err != nil {
		return checker.Opts{}, fmt.Errorf("workload %s: %w", name, err)
	}
	return w.Opts(), nil
}

// RunParams is the part of a run's parameters (header.json's params: the
// simulator's PARAMS= line, or what `weir workload run` records) that says
// which workloads ran and with which parameters.
type RunParams struct {
	Scenario string `json:"scenario,omitempty"` // the simulator's "world", or External
	Workload string `json:"workload"`           // comma-separated names
	// WorkloadParams are Draw's parameters per workload name; the
	// simulator's queue has none (its parameters are the world's).
	WorkloadParams map[string]json.RawMessage `json:"workload_params,omitempty"`
}

// External is RunParams.Scenario of a run against a real cluster.
const External = "external"

// ReadRunParams reads RunParams from a header's params.
func ReadRunParams(params json.RawMessage) (RunParams, error) {
	var p RunParams
	if len(params) == 0 {
		return p, errors.New("no parameters recorded")
	}
	if err := json.Unmarshal(params, &p); err != nil {
		return p, fmt.Errorf("parameters: %w", err)
	}
	return p, nil
}

// CombinedOpts are the options of several workloads judged as one
// history: the anomalies any of them allows, and every workload's
// properties.
func CombinedOpts(all []checker.Opts) checker.Opts {
	if len(all) == 1 {
		return all[0]
	}
	var o checker.Opts
	for _, a := range all {
		o.Allowed = append(o.Allowed, a.Allowed...)
		o.Properties = append(o.Properties, a.Properties...)
		// Only members' transactions count (checker.Opts), so one
		// workload's processing group may turn it on for all.
		o.TxnGroupCommits = o.TxnGroupCommits || a.TxnGroupCommits
	}
	slices.Sort(o.Allowed)
	o.Allowed = slices.Compact(o.Allowed)
	return o
}

// decodeStrict decodes params into v, refusing unknown fields: a header
// whose parameters this build does not know is not silently judged with
// others.
func decodeStrict(params json.RawMessage, v any) error {
	if len(params) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(params))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("parameters: %w", err)
	}
	return nil
}

// entry makes an Entry of a workload whose parameters are P.
func entry[P any](name, about string, draw func(*rand.Rand, Cluster) P, build func(P, Env) (Workload, error)) Entry {
	return Entry{
		Name: name, About: about,
		Draw: func(rng *rand.Rand, c Cluster) (json.RawMessage, error) {
			return json.Marshal(draw(rng, c))
		},
		Build: func(params json.RawMessage, env Env) (Workload, error) {
			var p P
			if err := decodeStrict(params, &p); err != nil {
				return nil, err
			}
			return build(p, env)
		},
	}
}

// withProcessingGroup marks a pipeline workload's entry (ProcessingGroup).
func (e Entry) withProcessingGroup() Entry {
	e.ProcessingGroup = true
	return e
}

// topicConfigs adds min.insync.replicas to a topic's configs when the run
// sets one and the workload did not.
func topicConfigs(configs map[string]*string, minInsync int) map[string]*string {
	if minInsync <= 0 {
		return configs
	}
	out := map[string]*string{}
	for k, v := range configs {
		out[k] = v
	}
	if _, ok := out["min.insync.replicas"]; !ok {
		v := fmt.Sprint(minInsync)
		out["min.insync.replicas"] = &v
	}
	return out
}

// pick returns one of xs.
func pick[T any](rng *rand.Rand, xs ...T) T { return xs[rng.IntN(len(xs))] }
