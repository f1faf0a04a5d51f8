package cli

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func topicActions() []string { return []string{"create", "list", "describe", "alter", "delete"} }

const topicsAbout = `
Manage topics, like kafka-topics. The action is a word (weir topics create)
or a flag as in Kafka (weir topics --create).

  create    --topic T [--partitions N] [--replication-factor R] [--config k=v]... [--if-not-exists]
  list      [--topic REGEX] [--exclude-internal]
  describe  [--topic REGEX] [--if-exists] [--under-replicated-partitions]
            [--under-min-isr-partitions] [--unavailable-partitions]
  alter     --topic T [--partitions N] [--config k=v]... [--delete-config k]... [--if-exists]
  delete    --topic T [--if-exists]

--partitions on alter is the new total partition count (CreatePartitions);
--config/--delete-config on alter use IncrementalAlterConfigs. For list and
describe, --topic is a regular expression that must match the whole name.
With --under-replicated-partitions (ISR smaller than the replicas),
--under-min-isr-partitions (ISR smaller than min.insync.replicas) or
--unavailable-partitions (no live leader), describe prints only the
partitions that match any of them, without the topic lines, as
kafka-topics does.`

type topicsOpts struct {
	bootstrap       string
	topic           string
	partitions      int
	replication     int
	configs         listFlag
	deleteConfigs   listFlag
	ifNotExists     bool
	ifExists        bool
	excludeInternal bool
	underReplicated bool
	underMinISR     bool
	unavailable     bool
	timeoutMs       int
	actionFlags     map[string]*bool
}

// Topics is `weir topics`.
func Topics(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
	c := newCommand("topics", "topics create|list|describe|alter|delete [flags]", topicsAbout, stdout, stderr)
	o := topicsOpts{actionFlags: map[string]*bool{}}
	c.fs.StringVar(&o.bootstrap, "bootstrap-server", DefaultBootstrap, "comma-separated `host:port` list of brokers")
	c.fs.StringVar(&o.topic, "topic", "", "topic `name` (a regular expression for list and describe)")
	c.fs.IntVar(&o.partitions, "partitions", -1, "partition `count` (create: -1 is the broker default; alter: the new total)")
	c.fs.IntVar(&o.replication, "replication-factor", -1, "replicas per partition (-1 is the broker default)")
	c.fs.Var(&o.configs, "config", "topic config `key=value` (repeatable)")
	c.fs.Var(&o.deleteConfigs, "delete-config", "topic config `key` to remove, alter only (repeatable)")
	c.fs.BoolVar(&o.ifNotExists, "if-not-exists", false, "create: succeed if the topic already exists")
	c.fs.BoolVar(&o.ifExists, "if-exists", false, "alter, delete, describe: succeed if the topic does not exist")
	c.fs.BoolVar(&o.excludeInternal, "exclude-internal", false, "list, describe: leave out internal topics")
	c.fs.BoolVar(&o.underReplicated, "under-replicated-partitions", false, "describe: only partitions whose ISR is smaller than their replicas")
	c.fs.BoolVar(&o.underMinISR, "under-min-isr-partitions", false, "describe: only partitions whose ISR is smaller than min.insync.replicas")
	c.fs.BoolVar(&o.unavailable, "unavailable-partitions", false, "describe: only partitions without a live leader")
	c.fs.IntVar(&o.timeoutMs, "request-timeout-ms", 30000, "give up after this many `ms` (0: never)")
	for _, a := range topicActions() {
		o.actionFlags[a] = c.fs.Bool(a, false, "same as the "+a+" action")
	}
	return c.exit(runTopics(ctx, c, &o, args))
}

func runTopics(ctx context.Context, c *command, o *topicsOpts, args []string) error {
	pos, err := c.parse(args)
	if err != nil {
		return err
	}
	action, err := topicAction(pos, o.actionFlags)
	if err != nil {
		return err
	}
	if err := checkTopicFlags(c, o, action); err != nil {
		return err
	}
	s, err := openAdmin(ctx, o.bootstrap, "weir-topics", "request-timeout-ms", o.timeoutMs)
	if err != nil {
		return err
	}
	defer s.close()
	ctx, adm, tracker := s.ctx, s.adm, s.tracker
	switch action {
	case "create":
		err = topicsCreate(ctx, adm, c, o)
	case "list":
		err = topicsList(ctx, adm, c, o)
	case "describe":
		err = topicsDescribe(ctx, adm, c, o)
	case "alter":
		err = topicsAlter(ctx, adm, c, o)
	case "delete":
		err = topicsDelete(ctx, adm, c, o)
	}
	return tracker.explain(err)
}

func topicAction(pos []string, flags map[string]*bool) (string, error) {
	var actions []string
	for _, a := range topicActions() {
		if *flags[a] {
			actions = append(actions, a)
		}
	}
	for _, p := range pos {
		known := false
		for _, a := range topicActions() {
			if p == a {
				known = true
			}
		}
		if !known {
			return "", usagef("unknown action %q (want one of %s)", p, strings.Join(topicActions(), ", "))
		}
		actions = append(actions, p)
	}
	switch len(actions) {
	case 0:
		return "", usagef("missing action (want one of %s)", strings.Join(topicActions(), ", "))
	case 1:
		return actions[0], nil
	default:
		return "", usagef("give exactly one action, got %s", strings.Join(actions, " and "))
	}
}

// checkTopicFlags refuses flags that mean nothing for the action, as
// kafka-topics does: a silently ignored --partitions is a surprise later.
func checkTopicFlags(c *command, o *topicsOpts, action string) error {
	allowed := map[string][]string{
		"if-not-exists":      {"create"},
		"if-exists":          {"alter", "delete", "describe"},
		"partitions":         {"create", "alter"},
		"replication-factor": {"create"},
		"config":             {"create", "alter"},
		"delete-config":      {"alter"},
		"exclude-internal":   {"list", "describe"},

		"under-replicated-partitions": {"describe"},
		"under-min-isr-partitions":    {"describe"},
		"unavailable-partitions":      {"describe"},
	}
	for name, actions := range allowed {
		if !c.isSet(name) {
			continue
		}
		ok := false
		for _, a := range actions {
			ok = ok || a == action
		}
		if !ok {
			return usagef("--%s does not apply to %s (only to %s)", name, action, strings.Join(actions, ", "))
		}
	}
	if (action == "create" || action == "alter" || action == "delete") && o.topic == "" {
		return usagef("%s needs --topic", action)
	}
	switch action {
	case "create":
		if o.partitions == 0 || o.partitions < -1 || o.partitions > math.MaxInt32 {
			return usagef("--partitions must be at least 1 (or -1 for the broker default), got %d", o.partitions)
		}
		if o.replication == 0 || o.replication < -1 || o.replication > math.MaxInt16 {
			return usagef("--replication-factor must be at least 1 (or -1 for the broker default), got %d", o.replication)
		}
	case "alter":
		if !c.isSet("partitions") && len(o.configs) == 0 && len(o.deleteConfigs) == 0 {
			return usagef("alter needs --partitions, --config or --delete-config")
		}
		if c.isSet("partitions") && (o.partitions < 1 || o.partitions > math.MaxInt32) {
			return usagef("--partitions must be at least 1, got %d", o.partitions)
		}
	}
	return nil
}

// brokerErr formats a Kafka error code together with the broker's message.
func brokerErr(err error, msg string) error {
	if msg == "" || strings.Contains(err.Error(), msg) {
		return err
	}
	return fmt.Errorf("%w (%s)", err, msg)
}

func topicsCreate(ctx context.Context, adm *kadm.Client, c *command, o *topicsOpts) error {
	kvs, err := keyValues("config", o.configs)
	if err != nil {
		return err
	}
	configs := make(map[string]*string, len(kvs))
	for _, kv := range kvs {
		configs[kv[0]] = kadm.StringPtr(kv[1])
	}
	resp, err := adm.CreateTopic(ctx, int32(o.partitions), int16(o.replication), configs, o.topic)
	switch {
	case errors.Is(err, kerr.TopicAlreadyExists):
		if o.ifNotExists {
			return nil
		}
		return fmt.Errorf("topic %q already exists", o.topic)
	case err != nil:
		return fmt.Errorf("creating topic %q: %w", o.topic, brokerErr(err, resp.ErrMessage))
	}
	fmt.Fprintf(c.stdout, "Created topic %s.\n", o.topic)
	return nil
}

// matchTopics lists topics (all, or those whose whole name matches the
// --topic regular expression), sorted by name.
func matchTopics(ctx context.Context, adm *kadm.Client, o *topicsOpts) (kadm.TopicDetails, []string, error) {
	var re *regexp.Regexp
	if o.topic != "" {
		var err error
		if re, err = regexp.Compile("^(?:" + o.topic + ")$"); err != nil {
			return nil, nil, usagef("--topic %q is not a regular expression: %v", o.topic, err)
		}
	}
	all, err := adm.ListTopicsWithInternal(ctx)
	if err != nil {
		return nil, nil, err
	}
	var names []string
	for _, name := range all.Names() {
		td := all[name]
		if o.excludeInternal && td.IsInternal {
			continue
		}
		if re != nil && !re.MatchString(name) {
			continue
		}
		names = append(names, name)
	}
	return all, names, nil
}

func topicsList(ctx context.Context, adm *kadm.Client, c *command, o *topicsOpts) error {
	_, names, err := matchTopics(ctx, adm, o)
	if err != nil {
		return err
	}
	for _, n := range names {
		fmt.Fprintln(c.stdout, n)
	}
	return nil
}

// TopicIDString formats a topic id the way Kafka prints Uuids: URL-safe
// base64 without padding.
func TopicIDString(id [16]byte) string {
	return base64.RawURLEncoding.EncodeToString(id[:])
}

func topicsDescribe(ctx context.Context, adm *kadm.Client, c *command, o *topicsOpts) error {
	all, names, err := matchTopics(ctx, adm, o)
	if err != nil {
		return err
	}
	if len(names) == 0 && o.topic != "" && !o.ifExists {
		return fmt.Errorf("topic %q does not exist", o.topic)
	}
	if len(names) == 0 {
		return nil
	}
	rcs, err := adm.DescribeTopicConfigs(ctx, names...)
	if err != nil {
		return fmt.Errorf("describing topic configs: %w", err)
	}
	report := partitionReport{underReplicated: o.underReplicated, underMinISR: o.underMinISR, unavailable: o.unavailable}
	if o.unavailable {
		brokers, err := adm.ListBrokers(ctx)
		if err != nil {
			return fmt.Errorf("listing brokers: %w", err)
		}
		report.live = map[int32]bool{}
		for _, b := range brokers {
			report.live[b.NodeID] = true
		}
	}
	for _, name := range names {
		td := all[name]
		if td.Err != nil {
			return fmt.Errorf("topic %q: %w", name, td.Err)
		}
		rc, err := rcs.On(name, nil)
		if err == nil && rc.Err != nil {
			err = brokerErr(rc.Err, rc.ErrMessage)
		}
		if err != nil {
			return fmt.Errorf("describing configs of topic %q: %w", name, err)
		}
		if report.any() {
			report.write(c.stdout, td, rc.Configs)
			continue
		}
		writeTopicDescription(c.stdout, td, rc.Configs)
	}
	return nil
}

// partitionReport is describe's partition filters: a partition is printed
// if it matches any filter that is on.
type partitionReport struct {
	underReplicated, underMinISR, unavailable bool
	live                                      map[int32]bool // brokers in the cluster's metadata
}

func (r partitionReport) any() bool { return r.underReplicated || r.underMinISR || r.unavailable }

// matches reports whether p is one the filters ask for; minISR is the
// topic's min.insync.replicas (0 if unknown).
func (r partitionReport) matches(p kadm.PartitionDetail, minISR int) bool {
	return (r.underReplicated && len(p.ISR) < len(p.Replicas)) ||
		(r.underMinISR && minISR > 0 && len(p.ISR) < minISR) ||
		(r.unavailable && (p.Leader < 0 || !r.live[p.Leader]))
}

// write prints the matching partitions of one topic, in kafka-topics'
// partition line format.
func (r partitionReport) write(w io.Writer, td kadm.TopicDetail, configs []kadm.Config) {
	minISR := 0
	for _, cf := range configs {
		if cf.Key == "min.insync.replicas" {
			minISR, _ = strconv.Atoi(cf.MaybeValue())
		}
	}
	for _, p := range td.Partitions.Sorted() {
		if r.matches(p, minISR) {
			writePartitionLine(w, td.Topic, p)
		}
	}
}

// writeTopicDescription prints one topic like kafka-topics --describe:
// configs are those not at their default, sorted by name.
func writeTopicDescription(w io.Writer, td kadm.TopicDetail, configs []kadm.Config) {
	parts := td.Partitions.Sorted()
	rf := 0
	if len(parts) > 0 {
		rf = len(parts[0].Replicas)
	}
	var cfg []string
	for _, cf := range configs {
		if cf.Source == kmsg.ConfigSourceDefaultConfig {
			continue
		}
		v := cf.MaybeValue()
		if cf.Sensitive {
			v = "(sensitive)"
		}
		cfg = append(cfg, cf.Key+"="+v)
	}
	sort.Strings(cfg)
	fmt.Fprintf(w, "Topic: %s", td.Topic)
	if td.ID != (kadm.TopicID{}) {
		fmt.Fprintf(w, "\tTopicId: %s", TopicIDString(td.ID))
	}
	fmt.Fprintf(w, "\tPartitionCount: %d\tReplicationFactor: %d\tConfigs: %s\n", len(parts), rf, strings.Join(cfg, ","))
	for _, p := range parts {
		writePartitionLine(w, td.Topic, p)
	}
}

// writePartitionLine prints one partition as kafka-topics --describe does.
func writePartitionLine(w io.Writer, topic string, p kadm.PartitionDetail) {
	leader := "none"
	if p.Leader >= 0 {
		leader = strconv.Itoa(int(p.Leader))
	}
	fmt.Fprintf(w, "\tTopic: %s\tPartition: %d\tLeader: %s\tReplicas: %s\tIsr: %s",
		topic, p.Partition, leader, joinInt32(p.Replicas), joinInt32(p.ISR))
	if len(p.OfflineReplicas) > 0 {
		fmt.Fprintf(w, "\tOffline: %s", joinInt32(p.OfflineReplicas))
	}
	fmt.Fprintln(w)
}

func joinInt32(xs []int32) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = strconv.Itoa(int(x))
	}
	return strings.Join(s, ",")
}

// topicDetail loads one topic by exact name; ok is false if it does not exist.
func topicDetail(ctx context.Context, adm *kadm.Client, topic string) (td kadm.TopicDetail, ok bool, err error) {
	tds, err := adm.ListTopicsWithInternal(ctx, topic)
	if err != nil {
		return td, false, err
	}
	td, found := tds[topic]
	if !found || errors.Is(td.Err, kerr.UnknownTopicOrPartition) {
		return td, false, nil
	}
	if td.Err != nil {
		return td, false, fmt.Errorf("topic %q: %w", topic, td.Err)
	}
	return td, true, nil
}

func topicsAlter(ctx context.Context, adm *kadm.Client, c *command, o *topicsOpts) error {
	sets, err := keyValues("config", o.configs)
	if err != nil {
		return err
	}
	var alters []kadm.AlterConfig
	seen := map[string]bool{}
	for _, kv := range sets {
		seen[kv[0]] = true
		alters = append(alters, kadm.AlterConfig{Op: kadm.SetConfig, Name: kv[0], Value: kadm.StringPtr(kv[1])})
	}
	for _, k := range o.deleteConfigs {
		if seen[k] {
			return usagef("config %q is both set and deleted", k)
		}
		alters = append(alters, kadm.AlterConfig{Op: kadm.DeleteConfig, Name: k})
	}

	td, ok, err := topicDetail(ctx, adm, o.topic)
	if err != nil {
		return err
	}
	if !ok {
		if o.ifExists {
			return nil
		}
		return fmt.Errorf("topic %q does not exist", o.topic)
	}
	if c.isSet("partitions") {
		have := len(td.Partitions)
		if o.partitions <= have {
			return fmt.Errorf("topic %q has %d partitions; --partitions %d would not add any (partitions can only be added)", o.topic, have, o.partitions)
		}
		rs, err := adm.UpdatePartitions(ctx, o.partitions, o.topic)
		if err != nil {
			return fmt.Errorf("adding partitions to topic %q: %w", o.topic, err)
		}
		r, err := rs.On(o.topic, nil)
		if err == nil && r.Err != nil {
			err = brokerErr(r.Err, r.ErrMessage)
		}
		if err != nil {
			return fmt.Errorf("adding partitions to topic %q: %w", o.topic, err)
		}
		fmt.Fprintf(c.stdout, "Increased the partition count of topic %s from %d to %d.\n", o.topic, have, o.partitions)
	}
	if len(alters) > 0 {
		rs, err := adm.AlterTopicConfigs(ctx, alters, o.topic)
		if err != nil {
			return fmt.Errorf("altering configs of topic %q: %w", o.topic, err)
		}
		r, err := rs.On(o.topic, nil)
		if err == nil && r.Err != nil {
			err = brokerErr(r.Err, r.ErrMessage)
		}
		if err != nil {
			return fmt.Errorf("altering configs of topic %q: %w", o.topic, err)
		}
		fmt.Fprintf(c.stdout, "Completed updating config for topic %s.\n", o.topic)
	}
	return nil
}

func topicsDelete(ctx context.Context, adm *kadm.Client, c *command, o *topicsOpts) error {
	resp, err := adm.DeleteTopic(ctx, o.topic)
	switch {
	case errors.Is(err, kerr.UnknownTopicOrPartition):
		if o.ifExists {
			return nil
		}
		return fmt.Errorf("topic %q does not exist", o.topic)
	case err != nil:
		return fmt.Errorf("deleting topic %q: %w", o.topic, brokerErr(err, resp.ErrMessage))
	}
	fmt.Fprintf(c.stdout, "Deleted topic %s.\n", o.topic)
	return nil
}
