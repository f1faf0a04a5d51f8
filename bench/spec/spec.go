package spec

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Spec is one workload. Zero-valued optional fields take the defaults named
// in their comments (applied by Parse, or by SetDefaults).
type Spec struct {
	// Name identifies the workload in results and topic names; required,
	// letters, digits, '.', '_' and '-' only.
	Name string `yaml:"name" json:"name"`
	// Description is free text.
	Description string `yaml:"description,omitempty" json:"description,omitempty"`
	// Topics is the number of topics; default 1.
	Topics int `yaml:"topics" json:"topics"`
	// PartitionsPerTopic; default 1.
	PartitionsPerTopic int `yaml:"partitions_per_topic" json:"partitions_per_topic"`
	// ReplicationFactor of the created topics; 0 (default) asks for the
	// broker's default.
	ReplicationFactor int `yaml:"replication_factor,omitempty" json:"replication_factor,omitempty"`
	// MessageSize is the size of every record's value in bytes; required.
	MessageSize int `yaml:"message_size" json:"message_size"`
	// Payload is "random" (default: incompressible bytes) or "fixed" (a
	// repeated a-z pattern, compressible).
	Payload string `yaml:"payload" json:"payload"`
	// KeyDistribution is "none" (default: no key, kgo's sticky
	// partitioner), "random" (a random 8-byte key per record) or
	// "round_robin" (keys cycling over KeyCount values).
	KeyDistribution string `yaml:"key_distribution" json:"key_distribution"`
	// KeyCount is the number of distinct keys of "round_robin"; default
	// 1000.
	KeyCount int `yaml:"key_count,omitempty" json:"key_count,omitempty"`
	// Producers is the number of producer clients; default 1. Each produces
	// to every topic, round robin.
	Producers int `yaml:"producers" json:"producers"`
	// Consumers is the number of consumer clients; 0 is none. The topics'
	// partitions are split between them.
	Consumers int `yaml:"consumers" json:"consumers"`
	// ProducerRate is the total target rate in records per second over all
	// producers; 0 is as fast as the producers go (max rate).
	ProducerRate float64 `yaml:"producer_rate" json:"producer_rate"`
	// Acks is "all" (default; "-1" too), "1" or "0".
	Acks string `yaml:"acks" json:"acks"`
	// Idempotent enables the idempotent producer; default true with
	// acks=all, and it needs acks=all.
	Idempotent *bool `yaml:"idempotent,omitempty" json:"idempotent,omitempty"`
	// Compression is "none" (default), "gzip", "snappy", "lz4" or "zstd".
	Compression string `yaml:"compression" json:"compression"`
	// BatchMaxBytes is kgo's ProducerBatchMaxBytes; 0 keeps kgo's default.
	BatchMaxBytes int `yaml:"batch_max_bytes" json:"batch_max_bytes"`
	// Linger is kgo's ProducerLinger; 0 sends as soon as possible.
	Linger Duration `yaml:"linger" json:"linger"`
	// MaxBufferedRecords bounds unacknowledged records per producer; 0
	// keeps kgo's default (10000).
	MaxBufferedRecords int `yaml:"max_buffered_records,omitempty" json:"max_buffered_records,omitempty"`
	// Warmup runs the workload unmeasured before Duration.
	Warmup Duration `yaml:"warmup" json:"warmup"`
	// Duration is the measured phase; required.
	Duration Duration `yaml:"duration" json:"duration"`

	// Workload, if set, makes this a workload spec: instead of the
	// records described above, the run drives a registered workload
	// (workloads/registry: clickstream, payments, vitals) with its own
	// producers and processing application, and measures its pipeline
	// (see Workload). The fields above that describe records and clients
	// must then be left out; name, description, replication_factor,
	// warmup and duration keep their meaning.
	Workload *Workload `yaml:"workload,omitempty" json:"workload,omitempty"`
}

// Workload names a registered workload and its parameters.
type Workload struct {
	// Name is a registry name with a processing stage: clickstream,
	// payments or vitals; required.
	Name string `yaml:"name" json:"name"`
	// Seed draws every parameter Params does not give, as `weir workload
	// run --seed N` draws them for a real cluster; default 0.
	Seed uint64 `yaml:"seed" json:"seed"`
	// Cooldown runs the workload on after the measured phase, unmeasured,
	// so the processing catches up with the last measured inputs before
	// the final drain; default 5s.
	Cooldown Duration `yaml:"cooldown" json:"cooldown"`
	// Params override the drawn parameters, by their JSON names (the
	// workload's Config: partitions, producers, rate, members, ...). A
	// value of a key ending in _ns may be a duration string ("5m").
	// The run's length, topic names and replication factor are the
	// harness's.
	Params map[string]any `yaml:"params,omitempty" json:"params,omitempty"`
}

// reservedParams are workload parameters the harness sets.
var reservedParams = []string{"duration_ns", "seed"}

// ParamsJSON returns Params as a JSON object, duration strings of the
// "_ns" keys turned into nanoseconds.
func (w *Workload) ParamsJSON() (json.RawMessage, error) {
	out := make(map[string]any, len(w.Params))
	for k, v := range w.Params {
		if s, ok := v.(string); ok && strings.HasSuffix(k, "_ns") {
			d, err := time.ParseDuration(s)
			if err != nil {
				return nil, fmt.Errorf("workload.params.%s: %q: want nanoseconds or a Go duration such as 5m", k, s)
			}
			v = int64(d)
		}
		out[k] = v
	}
	return json.Marshal(out)
}

// Duration is a time.Duration written as a Go duration string.
type Duration time.Duration

// D returns d as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

func (d Duration) String() string { return time.Duration(d).String() }

// UnmarshalYAML reads "500ms", "1m30s" or 0.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: want a duration such as 10s", n.Line)
	}
	if n.Value == "0" {
		*d = 0
		return nil
	}
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: duration %q: want a Go duration such as 500ms or 1m", n.Line, n.Value)
	}
	*d = Duration(v)
	return nil
}

// MarshalYAML writes d as a duration string.
func (d Duration) MarshalYAML() (any, error) { return d.String(), nil }

// MarshalJSON writes d as a duration string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

// UnmarshalJSON reads a duration string.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// Load reads and parses a spec file.
func Load(path string) (Spec, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Spec{}, err
	}
	s, err := Parse(b)
	if err != nil {
		return Spec{}, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

// Parse decodes one YAML document strictly, applies the defaults and
// validates the result.
func Parse(b []byte) (Spec, error) {
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	var s Spec
	if err := dec.Decode(&s); err != nil {
		if errors.Is(err, io.EOF) {
			return Spec{}, errors.New("empty spec")
		}
		return Spec{}, cleanYAMLError(err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return Spec{}, errors.New("more than one YAML document")
	}
	s.SetDefaults()
	if err := s.Validate(); err != nil {
		return Spec{}, err
	}
	return s, nil
}

// cleanYAMLError turns yaml.v3's "yaml: unmarshal errors:\n  line 3: field
// foo not found in type spec.Spec" into "line 3: unknown key foo".
func cleanYAMLError(err error) error {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return err
	}
	msgs := make([]string, len(te.Errors))
	for i, m := range te.Errors {
		m = notFoundRE.ReplaceAllString(m, "")
		m = strings.Replace(m, ": field ", ": unknown key ", 1)
		msgs[i] = m
	}
	return errors.New(strings.Join(msgs, "\n"))
}

// SetDefaults fills the optional fields left at their zero value. A
// workload spec's record fields stay zero: the workload decides them.
func (s *Spec) SetDefaults() {
	if s.Workload != nil {
		if s.Workload.Cooldown == 0 {
			s.Workload.Cooldown = Duration(5 * time.Second)
		}
		return
	}
	if s.Topics == 0 {
		s.Topics = 1
	}
	if s.PartitionsPerTopic == 0 {
		s.PartitionsPerTopic = 1
	}
	if s.Payload == "" {
		s.Payload = "random"
	}
	if s.KeyDistribution == "" {
		s.KeyDistribution = "none"
	}
	if s.KeyDistribution == "round_robin" && s.KeyCount == 0 {
		s.KeyCount = 1000
	}
	if s.Producers == 0 {
		s.Producers = 1
	}
	if s.Acks == "" || s.Acks == "-1" {
		s.Acks = "all"
	}
	if s.Idempotent == nil {
		v := s.Acks == "all"
		s.Idempotent = &v
	}
	if s.Compression == "" {
		s.Compression = "none"
	}
}

var (
	nameRE     = regexp.MustCompile(`^[A-Za-z0-9._-]+$`)
	notFoundRE = regexp.MustCompile(` not found in type spec\.\w+`)
)

// Limits that catch typos rather than real workloads.
const (
	maxTopics       = 10_000
	maxPartitions   = 10_000
	maxMessageSize  = 100 << 20
	maxClients      = 1_000
	maxBatchBytes   = 1 << 30
	maxReplicaCount = 32
)

// Validate reports every invalid field, one "field: problem" per line.
func (s *Spec) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", field, fmt.Sprintf(format, args...)))
	}
	switch {
	case s.Name == "":
		bad("name", "required")
	case !nameRE.MatchString(s.Name):
		bad("name", "%q: use letters, digits, '.', '_' and '-' only", s.Name)
	}
	if s.ReplicationFactor < 0 || s.ReplicationFactor > maxReplicaCount {
		bad("replication_factor", "%d: want 0 (broker default) to %d", s.ReplicationFactor, maxReplicaCount)
	}
	if s.Warmup < 0 {
		bad("warmup", "%v: negative", s.Warmup)
	}
	if s.Duration <= 0 {
		bad("duration", "required, a positive duration such as 60s")
	}
	if s.Workload != nil {
		s.validateWorkload(bad)
	} else {
		s.validateRecords(bad)
	}
	return errors.Join(errs...)
}

// validateWorkload checks a workload spec: a workload, and none of the
// record fields.
func (s *Spec) validateWorkload(bad func(field, format string, args ...any)) {
	w := s.Workload
	if w.Name == "" {
		bad("workload.name", "required")
	}
	if w.Cooldown < 0 {
		bad("workload.cooldown", "%v: negative", w.Cooldown)
	}
	for _, k := range reservedParams {
		if _, ok := w.Params[k]; ok {
			bad("workload.params."+k, "set by the harness (warmup, duration, workload.seed)")
		}
	}
	if _, err := w.ParamsJSON(); err != nil {
		bad("workload.params", "%v", err)
	}
	for _, f := range []struct {
		name string
		set  bool
	}{
		{"topics", s.Topics != 0}, {"partitions_per_topic", s.PartitionsPerTopic != 0},
		{"message_size", s.MessageSize != 0}, {"payload", s.Payload != ""},
		{"key_distribution", s.KeyDistribution != ""}, {"key_count", s.KeyCount != 0},
		{"producers", s.Producers != 0}, {"consumers", s.Consumers != 0},
		{"producer_rate", s.ProducerRate != 0}, {"acks", s.Acks != ""},
		{"idempotent", s.Idempotent != nil}, {"compression", s.Compression != ""},
		{"batch_max_bytes", s.BatchMaxBytes != 0}, {"linger", s.Linger != 0},
		{"max_buffered_records", s.MaxBufferedRecords != 0},
	} {
		if f.set {
			bad(f.name, "not with workload: the workload decides its records and clients (set workload.params)")
		}
	}
}

// validateRecords checks the fields of a spec that describes its records.
func (s *Spec) validateRecords(bad func(field, format string, args ...any)) {
	if s.Topics < 1 || s.Topics > maxTopics {
		bad("topics", "%d: want 1 to %d", s.Topics, maxTopics)
	}
	if s.PartitionsPerTopic < 1 || s.PartitionsPerTopic > maxPartitions {
		bad("partitions_per_topic", "%d: want 1 to %d", s.PartitionsPerTopic, maxPartitions)
	}
	if s.MessageSize < 1 || s.MessageSize > maxMessageSize {
		bad("message_size", "%d: want 1 to %d bytes", s.MessageSize, maxMessageSize)
	}
	if s.Payload != "random" && s.Payload != "fixed" {
		bad("payload", "%q: want random or fixed", s.Payload)
	}
	switch s.KeyDistribution {
	case "none", "random":
		if s.KeyCount != 0 {
			bad("key_count", "only with key_distribution: round_robin")
		}
	case "round_robin":
		if s.KeyCount < 1 {
			bad("key_count", "%d: want at least 1", s.KeyCount)
		}
	default:
		bad("key_distribution", "%q: want none, random or round_robin", s.KeyDistribution)
	}
	if s.Producers < 1 || s.Producers > maxClients {
		bad("producers", "%d: want 1 to %d", s.Producers, maxClients)
	}
	if s.Consumers < 0 || s.Consumers > maxClients {
		bad("consumers", "%d: want 0 to %d", s.Consumers, maxClients)
	} else if s.Topics > 0 && s.PartitionsPerTopic > 0 && s.Consumers > s.Topics*s.PartitionsPerTopic {
		bad("consumers", "%d consumers for %d partitions: some would read nothing", s.Consumers, s.Topics*s.PartitionsPerTopic)
	}
	if s.ProducerRate < 0 {
		bad("producer_rate", "%v: want records per second, or 0 for max rate", s.ProducerRate)
	}
	if s.Acks != "all" && s.Acks != "1" && s.Acks != "0" {
		bad("acks", "%q: want all, 1 or 0", s.Acks)
	} else if s.Idempotent != nil && *s.Idempotent && s.Acks != "all" {
		bad("idempotent", "needs acks: all, not %s", s.Acks)
	}
	switch s.Compression {
	case "none", "gzip", "snappy", "lz4", "zstd":
	default:
		bad("compression", "%q: want none, gzip, snappy, lz4 or zstd", s.Compression)
	}
	if s.BatchMaxBytes < 0 || s.BatchMaxBytes > maxBatchBytes {
		bad("batch_max_bytes", "%d: want 0 (kgo default) to %d", s.BatchMaxBytes, maxBatchBytes)
	} else if s.BatchMaxBytes > 0 && s.BatchMaxBytes < s.MessageSize {
		bad("batch_max_bytes", "%d is smaller than message_size %d", s.BatchMaxBytes, s.MessageSize)
	}
	if s.MaxBufferedRecords < 0 {
		bad("max_buffered_records", "%d: want 0 (kgo default) or more", s.MaxBufferedRecords)
	}
	if s.Linger < 0 {
		bad("linger", "%v: negative", s.Linger)
	}
}

// Partitions is the total number of partitions.
func (s *Spec) Partitions() int { return s.Topics * s.PartitionsPerTopic }

// IsIdempotent reports the effective idempotence setting.
func (s *Spec) IsIdempotent() bool { return s.Idempotent != nil && *s.Idempotent }
