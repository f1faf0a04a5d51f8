package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func groupActions() []string {
	return []string{"list", "describe", "reset-offsets", "delete-offsets", "delete"}
}

const groupsAbout = `
Manage consumer groups, like kafka-consumer-groups. The action is a word
(weir groups describe) or a flag as in Kafka (weir groups --describe).

  list            [--state [S,...]]
  describe        --group G... | --all-groups  [--members [--verbose] | --state]
  reset-offsets   --group G... | --all-groups  --topic T[:P,...]... | --all-topics
                  --to-earliest | --to-latest | --to-offset N | --shift-by N |
                  --to-datetime YYYY-MM-DDTHH:mm:SS[.sss][Z|+hh:mm]
                  [--dry-run | --execute]
  delete-offsets  --group G --topic T[:P,...]...
  delete          --group G... | --all-groups

describe prints, per partition, the group's committed offset
(CURRENT-OFFSET), the partition's end (LOG-END-OFFSET, the high watermark),
their difference (LAG), and the member consuming it. Offsets can be reset
only while the group has no members; without --execute, reset-offsets
only shows what it would do.`

type groupsOpts struct {
	bootstrap   string
	groups      listFlag
	allGroups   bool
	topics      listFlag
	allTopics   bool
	members     bool
	verbose     bool
	state       optionalString
	toEarliest  bool
	toLatest    bool
	toOffset    int64
	shiftBy     int64
	toDatetime  string
	dryRun      bool
	execute     bool
	timeoutMs   int
	actionFlags map[string]*bool
}

// optionalString is a flag that may be given with or without a value
// (--state alone, or --state Stable,Empty).
type optionalString struct {
	set   bool
	value string
}

func (o *optionalString) String() string { return o.value }
func (o *optionalString) Set(v string) error {
	// Alone, the flag package passes "true" (IsBoolFlag).
	if v == "true" {
		v = ""
	}
	o.set, o.value = true, v
	return nil
}
func (o *optionalString) IsBoolFlag() bool { return true }

// Groups is `weir groups`.
func Groups(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
	c := newCommand("groups", "groups list|describe|reset-offsets|delete-offsets|delete [flags]", groupsAbout, stdout, stderr)
	o := groupsOpts{actionFlags: map[string]*bool{}}
	c.fs.StringVar(&o.bootstrap, "bootstrap-server", DefaultBootstrap, "comma-separated `host:port` list of brokers")
	c.fs.Var(&o.groups, "group", "consumer `group` (repeatable)")
	c.fs.BoolVar(&o.allGroups, "all-groups", false, "every group")
	c.fs.Var(&o.topics, "topic", "`topic` or topic:partition,... (repeatable)")
	c.fs.BoolVar(&o.allTopics, "all-topics", false, "reset-offsets: every topic the group has offsets for")
	c.fs.BoolVar(&o.members, "members", false, "describe: the members instead of the offsets")
	c.fs.BoolVar(&o.verbose, "verbose", false, "describe --members: with each member's partitions")
	c.fs.Var(&o.state, "state", "list: with states (optionally only `these`); describe: the group's state")
	c.fs.BoolVar(&o.toEarliest, "to-earliest", false, "reset-offsets: to the start of each partition")
	c.fs.BoolVar(&o.toLatest, "to-latest", false, "reset-offsets: to the end of each partition")
	c.fs.Int64Var(&o.toOffset, "to-offset", 0, "reset-offsets: to this `offset` (kept within each partition)")
	c.fs.Int64Var(&o.shiftBy, "shift-by", 0, "reset-offsets: move the committed offsets by `n` (negative: back)")
	c.fs.StringVar(&o.toDatetime, "to-datetime", "", "reset-offsets: to the first record at or after this `time`")
	c.fs.BoolVar(&o.dryRun, "dry-run", false, "reset-offsets: show the new offsets only (the default)")
	c.fs.BoolVar(&o.execute, "execute", false, "reset-offsets: commit the new offsets")
	c.fs.IntVar(&o.timeoutMs, "timeout", 30000, "give up after this many `ms` (0: never)")
	for _, a := range groupActions() {
		o.actionFlags[a] = c.fs.Bool(a, false, "same as the "+a+" action")
	}
	return c.exit(runGroups(ctx, c, &o, joinStateValue(args)))
}

// joinStateValue lets --state take its value as the next word, as in
// kafka-consumer-groups (--list --state Stable), though it may also stand
// alone (--describe --state): a next word that is neither a flag nor an
// action is the value.
func joinStateValue(args []string) []string {
	out := make([]string, 0, len(args))
	for i := 0; i < len(args); i++ {
		a := args[i]
		if (a == "--state" || a == "-state") && i+1 < len(args) && !strings.HasPrefix(args[i+1], "-") && !isGroupAction(args[i+1]) {
			out = append(out, "--state="+args[i+1])
			i++
			continue
		}
		if a == "--" {
			return append(out, args[i:]...)
		}
		out = append(out, a)
	}
	return out
}

func isGroupAction(s string) bool {
	for _, a := range groupActions() {
		if s == a {
			return true
		}
	}
	return false
}

func runGroups(ctx context.Context, c *command, o *groupsOpts, args []string) error {
	pos, err := c.parse(args)
	if err != nil {
		return err
	}
	action, err := pickAction(pos, o.actionFlags, groupActions())
	if err != nil {
		return err
	}
	if err := checkGroupFlags(c, o, action); err != nil {
		return err
	}
	s, err := openAdmin(ctx, o.bootstrap, "weir-groups", "timeout", o.timeoutMs)
	if err != nil {
		return err
	}
	defer s.close()
	ctx, adm, tracker := s.ctx, s.adm, s.tracker
	groups := []string(o.groups)
	if o.allGroups {
		listed, err := adm.ListGroups(ctx)
		if err != nil {
			return tracker.explain(fmt.Errorf("listing groups: %w", err))
		}
		groups = listed.Groups()
	}
	switch action {
	case "list":
		err = groupsList(ctx, adm, c, o)
	case "describe":
		err = groupsDescribe(ctx, adm, c, o, groups)
	case "reset-offsets":
		err = groupsResetOffsets(ctx, adm, c, o, groups)
	case "delete-offsets":
		err = groupsDeleteOffsets(ctx, adm, c, o)
	case "delete":
		err = groupsDelete(ctx, adm, c, groups)
	}
	return tracker.explain(err)
}

// pickAction finds the one action given as a word or as a --flag.
func pickAction(pos []string, flags map[string]*bool, known []string) (string, error) {
	var actions []string
	for _, a := range known {
		if *flags[a] {
			actions = append(actions, a)
		}
	}
	for _, p := range pos {
		ok := false
		for _, a := range known {
			ok = ok || p == a
		}
		if !ok {
			return "", usagef("unknown action %q (want one of %s)", p, strings.Join(known, ", "))
		}
		actions = append(actions, p)
	}
	switch len(actions) {
	case 0:
		return "", usagef("missing action (want one of %s)", strings.Join(known, ", "))
	case 1:
		return actions[0], nil
	}
	return "", usagef("give exactly one action, got %s", strings.Join(actions, " and "))
}

// resetSpecs are the mutually exclusive ways to pick new offsets.
var resetSpecs = []string{"to-earliest", "to-latest", "to-offset", "shift-by", "to-datetime"}

func checkGroupFlags(c *command, o *groupsOpts, action string) error {
	allowed := map[string][]string{
		"group":      {"describe", "reset-offsets", "delete-offsets", "delete"},
		"all-groups": {"describe", "reset-offsets", "delete"},
		"topic":      {"reset-offsets", "delete-offsets"},
		"all-topics": {"reset-offsets"},
		"members":    {"describe"},
		"verbose":    {"describe"},
		"state":      {"list", "describe"},
		"dry-run":    {"reset-offsets"},
		"execute":    {"reset-offsets"},
	}
	for _, s := range resetSpecs {
		allowed[s] = []string{"reset-offsets"}
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
	needGroups := action == "describe" || action == "reset-offsets" || action == "delete"
	switch {
	case needGroups && len(o.groups) == 0 && !o.allGroups:
		return usagef("%s needs --group or --all-groups", action)
	case needGroups && len(o.groups) > 0 && o.allGroups:
		return usagef("--group and --all-groups cannot be used together")
	case action == "delete-offsets" && len(o.groups) != 1:
		return usagef("delete-offsets needs exactly one --group")
	case action == "delete-offsets" && len(o.topics) == 0:
		return usagef("delete-offsets needs --topic")
	case o.verbose && !o.members:
		return usagef("--verbose needs --members")
	case action == "describe" && o.members && o.state.set:
		return usagef("--members and --state cannot be used together")
	case action == "describe" && o.state.value != "":
		return usagef("describe --state takes no value")
	}
	if action != "reset-offsets" {
		return nil
	}
	var specs []string
	for _, s := range resetSpecs {
		if c.isSet(s) {
			specs = append(specs, "--"+s)
		}
	}
	switch {
	case len(specs) != 1:
		return usagef("reset-offsets needs exactly one of --%s", strings.Join(resetSpecs, ", --"))
	case len(o.topics) == 0 && !o.allTopics:
		return usagef("reset-offsets needs --topic or --all-topics")
	case len(o.topics) > 0 && o.allTopics:
		return usagef("--topic and --all-topics cannot be used together")
	case o.dryRun && o.execute:
		return usagef("--dry-run and --execute cannot be used together")
	}
	return nil
}

func groupsList(ctx context.Context, adm *kadm.Client, c *command, o *groupsOpts) error {
	var states []string
	if o.state.value != "" {
		for _, s := range strings.Split(o.state.value, ",") {
			s = strings.TrimSpace(s)
			canon, ok := groupStateNames[strings.ToLower(s)]
			if !ok {
				return usagef("--state %q: valid states are %s", s, strings.Join(sortedStateNames(), ", "))
			}
			states = append(states, canon)
		}
	}
	listed, err := adm.ListGroups(ctx, states...)
	if err != nil {
		return fmt.Errorf("listing groups: %w", err)
	}
	names := listed.Groups()
	sort.Strings(names)
	if !o.state.set {
		for _, g := range names {
			fmt.Fprintln(c.stdout, g)
		}
		return nil
	}
	width := 15
	for _, g := range names {
		width = max(width, len(g))
	}
	format := fmt.Sprintf("%%-%ds %%-20s\n", width+10)
	fmt.Fprintf(c.stdout, format, "GROUP", "STATE")
	for _, g := range names {
		fmt.Fprintf(c.stdout, format, g, listed[g].State)
	}
	return nil
}

var groupStateNames = map[string]string{
	"empty": "Empty", "preparingrebalance": "PreparingRebalance", "completingrebalance": "CompletingRebalance",
	"stable": "Stable", "dead": "Dead",
	// Groups of the consumer protocol (KIP-848).
	"assigning": "Assigning", "reconciling": "Reconciling",
}

func sortedStateNames() []string {
	var out []string
	for _, v := range groupStateNames {
		out = append(out, v)
	}
	sort.Strings(out)
	return out
}

// groupView is a described group of either protocol: a classic group as
// DescribeGroups tells it; a group of the consumer protocol (KIP-848,
// which DescribeGroups does not know) as ConsumerGroupDescribe tells it,
// its members' assignments in consumerAssigned, by member id.
type groupView struct {
	kadm.DescribedGroup
	consumerAssigned map[string][]kmsg.ConsumerMemberAssignmentTopic
}

// memberTopics is what a member is assigned, if known.
func (v groupView) memberTopics(m kadm.DescribedGroupMember) ([]kmsg.ConsumerMemberAssignmentTopic, bool) {
	if v.consumerAssigned != nil {
		t, ok := v.consumerAssigned[m.MemberID]
		return t, ok
	}
	if a, ok := m.Assigned.AsConsumer(); ok {
		return a.Topics, true
	}
	return nil, false
}

// describeGroups fetches the groups' descriptions, failing for one that
// does not exist (Dead) the way kafka-consumer-groups says it. A group
// DescribeGroups does not find is asked of ConsumerGroupDescribe, as
// Kafka 4's kafka-consumer-groups does.
func describeGroups(ctx context.Context, adm *kadm.Client, groups []string) (map[string]groupView, error) {
	described, err := adm.DescribeGroups(ctx, groups...)
	if err != nil {
		return nil, fmt.Errorf("describing groups: %w", err)
	}
	out := map[string]groupView{}
	var missing []string
	for _, g := range groups {
		d := described[g]
		if d.Err != nil && !errors.Is(d.Err, kerr.GroupIDNotFound) {
			return nil, fmt.Errorf("group %q: %w", g, brokerErr(d.Err, d.ErrMessage))
		}
		if d.Err != nil || d.State == "Dead" || d.State == "" {
			missing = append(missing, g)
		}
		out[g] = groupView{DescribedGroup: d}
	}
	if len(missing) == 0 {
		return out, nil
	}
	// A broker without the consumer protocol fails this request: its
	// groups are all classic, and the missing ones stay missing.
	consumers, err := adm.DescribeConsumerGroups(ctx, missing...)
	if err != nil {
		return out, nil
	}
	for _, g := range missing {
		if cg, ok := consumers[g]; ok && cg.Err == nil {
			out[g] = consumerGroupView(cg)
		}
	}
	return out, nil
}

// consumerGroupView shows a consumer-protocol group as describe prints
// groups: its assignor stands for the classic protocol name.
func consumerGroupView(cg kadm.DescribedConsumerGroup) groupView {
	v := groupView{consumerAssigned: map[string][]kmsg.ConsumerMemberAssignmentTopic{}}
	v.Group, v.Coordinator, v.State = cg.Group, cg.Coordinator, cg.State
	v.ProtocolType, v.Protocol = "consumer", cg.AssignorName
	for _, m := range cg.Members {
		v.Members = append(v.Members, kadm.DescribedGroupMember{MemberID: m.MemberID, InstanceID: m.InstanceID, ClientID: m.ClientID, ClientHost: m.ClientHost})
		var topics []kmsg.ConsumerMemberAssignmentTopic
		for _, t := range m.Assignment.Sorted() {
			topics = append(topics, kmsg.ConsumerMemberAssignmentTopic{Topic: t.Topic, Partitions: t.Partitions})
		}
		v.consumerAssigned[m.MemberID] = topics
	}
	return v
}

// groupExists reports whether a described group exists, and prints
// Kafka's notes (no members, rebalancing) on stderr.
func groupNotes(c *command, d groupView) (exists bool) {
	switch d.State {
	case "Dead", "":
		return false
	case "Empty":
		fmt.Fprintf(c.stderr, "\nConsumer group '%s' has no active members.\n", d.Group)
	case "PreparingRebalance", "CompletingRebalance", "Assigning", "Reconciling":
		fmt.Fprintf(c.stderr, "\nWarning: Consumer group '%s' is rebalancing.\n", d.Group)
	}
	return true
}

func groupsDescribe(ctx context.Context, adm *kadm.Client, c *command, o *groupsOpts, groups []string) error {
	described, err := describeGroups(ctx, adm, groups)
	if err != nil {
		return err
	}
	sorted := append([]string(nil), groups...)
	sort.Strings(sorted)
	var missing []string
	for _, g := range sorted {
		d := described[g]
		if !groupNotes(c, d) {
			missing = append(missing, g)
			continue
		}
		switch {
		case o.members:
			printMembers(c.stdout, d, o.verbose)
		case o.state.set:
			printGroupState(c.stdout, d)
		default:
			rows, err := offsetRows(ctx, adm, d)
			if err != nil {
				return err
			}
			if len(rows) > 0 {
				printOffsetRows(c.stdout, rows)
			}
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("consumer group %s does not exist", quoteJoin(missing))
	}
	return nil
}

func quoteJoin(xs []string) string {
	q := make([]string, len(xs))
	for i, x := range xs {
		q[i] = "'" + x + "'"
	}
	return strings.Join(q, ", ")
}

// offsetRow is one line of describe: a partition with a committed offset
// or a member, or a member without partitions.
type offsetRow struct {
	group, topic                     string
	partition                        int32 // -1: none (a member without partitions)
	current, end                     int64 // -1: unknown
	consumerID, host, clientID       string
	hasPartition, hasCurrent, hasEnd bool
}

// offsetRows collects what kafka-consumer-groups --describe shows: each
// member's assigned partitions (members with most partitions first), then
// the partitions the group has offsets for that nobody is assigned.
func offsetRows(ctx context.Context, adm *kadm.Client, d groupView) ([]offsetRow, error) {
	committed, err := adm.FetchOffsets(ctx, d.Group)
	if err != nil {
		return nil, fmt.Errorf("fetching offsets of group %q: %w", d.Group, err)
	}
	if err := committed.Error(); err != nil {
		return nil, fmt.Errorf("fetching offsets of group %q: %w", d.Group, err)
	}
	type member struct {
		m     kadm.DescribedGroupMember
		parts []kadm.TopicPartitions
		n     int
	}
	var members []member
	assigned := map[string]map[int32]bool{}
	topics := map[string]bool{}
	for _, m := range d.Members {
		mm := member{m: m}
		if assignedTopics, ok := d.memberTopics(m); ok {
			for _, t := range assignedTopics {
				tp := kadm.TopicPartitions{Topic: t.Topic, Partitions: append([]int32(nil), t.Partitions...)}
				sort.Slice(tp.Partitions, func(i, j int) bool { return tp.Partitions[i] < tp.Partitions[j] })
				mm.parts = append(mm.parts, tp)
				mm.n += len(t.Partitions)
				topics[t.Topic] = true
				for _, p := range t.Partitions {
					if assigned[t.Topic] == nil {
						assigned[t.Topic] = map[int32]bool{}
					}
					assigned[t.Topic][p] = true
				}
			}
			sort.Slice(mm.parts, func(i, j int) bool { return mm.parts[i].Topic < mm.parts[j].Topic })
		}
		members = append(members, mm)
	}
	committed.Each(func(r kadm.OffsetResponse) { topics[r.Topic] = true })
	var topicList []string
	for t := range topics {
		topicList = append(topicList, t)
	}
	ends := kadm.ListedOffsets{}
	if len(topicList) > 0 {
		if ends, err = adm.ListEndOffsets(ctx, topicList...); err != nil {
			return nil, fmt.Errorf("listing end offsets: %w", err)
		}
	}
	row := func(topic string, p int32, consumer, host, client string) offsetRow {
		r := offsetRow{group: d.Group, topic: topic, partition: p, current: -1, end: -1, consumerID: consumer, host: host, clientID: client, hasPartition: true}
		if o, ok := committed.Lookup(topic, p); ok && o.Err == nil && o.At >= 0 {
			r.current, r.hasCurrent = o.At, true
		}
		if e, ok := ends.Lookup(topic, p); ok && e.Err == nil {
			r.end, r.hasEnd = e.Offset, true
		}
		return r
	}
	// Members with most partitions first, as Kafka; ties by member id.
	sort.SliceStable(members, func(i, j int) bool {
		if members[i].n != members[j].n {
			return members[i].n > members[j].n
		}
		return members[i].m.MemberID < members[j].m.MemberID
	})
	var rows []offsetRow
	for _, m := range members {
		if m.n == 0 {
			continue
		}
		for _, tp := range m.parts {
			for _, p := range tp.Partitions {
				rows = append(rows, row(tp.Topic, p, m.m.MemberID, m.m.ClientHost, m.m.ClientID))
			}
		}
	}
	var rest []offsetRow
	committed.Each(func(o kadm.OffsetResponse) {
		if o.Err == nil && !assigned[o.Topic][o.Partition] {
			rest = append(rest, row(o.Topic, o.Partition, "-", "-", "-"))
		}
	})
	sort.Slice(rest, func(i, j int) bool {
		if rest[i].topic != rest[j].topic {
			return rest[i].topic < rest[j].topic
		}
		return rest[i].partition < rest[j].partition
	})
	return append(rows, rest...), nil
}

// printOffsetRows prints the describe table exactly as
// kafka-consumer-groups does: a blank line, the header, one line per row,
// columns as wide as their longest value (at least 15), "-" for unknown.
func printOffsetRows(w io.Writer, rows []offsetRow) {
	gw, tw, cw, hw := 15, 15, 15, 15
	for _, r := range rows {
		gw, tw, cw, hw = max(gw, len(r.group)), max(tw, len(r.topic)), max(cw, len(r.consumerID)), max(hw, len(r.host))
	}
	format := fmt.Sprintf("\n%%-%ds %%-%ds %%-10s %%-15s %%-15s %%-15s %%-%ds %%-%ds %%s", gw, tw, cw, hw)
	fmt.Fprintf(w, format, "GROUP", "TOPIC", "PARTITION", "CURRENT-OFFSET", "LOG-END-OFFSET", "LAG", "CONSUMER-ID", "HOST", "CLIENT-ID")
	for _, r := range rows {
		cur, end, lag := "-", "-", "-"
		if r.hasCurrent {
			cur = strconv.FormatInt(r.current, 10)
		}
		if r.hasEnd {
			end = strconv.FormatInt(r.end, 10)
		}
		if r.hasCurrent && r.hasEnd {
			lag = strconv.FormatInt(r.end-r.current, 10)
		}
		fmt.Fprintf(w, format, r.group, r.topic, strconv.Itoa(int(r.partition)), cur, end, lag, r.consumerID, r.host, r.clientID)
	}
	fmt.Fprintln(w)
}

// printMembers is describe --members [--verbose].
func printMembers(w io.Writer, d groupView, verbose bool) {
	gw, cw, iw, hw, clw := 15, 15, 17, 15, 15
	static := false
	for _, m := range d.Members {
		gw, cw, hw, clw = max(gw, len(d.Group)), max(cw, len(m.MemberID)), max(hw, len(m.ClientHost)), max(clw, len(m.ClientID))
		if m.InstanceID != nil {
			iw, static = max(iw, len(*m.InstanceID)), true
		}
	}
	var format string
	header := []any{"GROUP", "CONSUMER-ID"}
	if static {
		format = fmt.Sprintf("%%-%ds %%-%ds %%-%ds %%-%ds %%-%ds %%-15s ", gw, cw, iw, hw, clw)
		header = append(header, "GROUP-INSTANCE-ID")
	} else {
		format = fmt.Sprintf("%%-%ds %%-%ds %%-%ds %%-%ds %%-15s ", gw, cw, hw, clw)
	}
	header = append(header, "HOST", "CLIENT-ID", "#PARTITIONS")
	fmt.Fprintf(w, "\n"+format, header...)
	if verbose {
		fmt.Fprint(w, "ASSIGNMENT")
	}
	fmt.Fprintln(w)
	for _, m := range d.Members {
		var parts []string
		n := 0
		if topics, ok := d.memberTopics(m); ok {
			for _, t := range topics {
				ps := append([]int32(nil), t.Partitions...)
				sort.Slice(ps, func(i, j int) bool { return ps[i] < ps[j] })
				n += len(ps)
				parts = append(parts, t.Topic+"("+joinInt32(ps)+")")
			}
		}
		sort.Strings(parts)
		vals := []any{d.Group, m.MemberID}
		if static {
			inst := ""
			if m.InstanceID != nil {
				inst = *m.InstanceID
			}
			vals = append(vals, inst)
		}
		vals = append(vals, m.ClientHost, m.ClientID, strconv.Itoa(n))
		fmt.Fprintf(w, format, vals...)
		if verbose {
			if len(parts) == 0 {
				fmt.Fprint(w, "-")
			} else {
				fmt.Fprint(w, strings.Join(parts, ", "))
			}
		}
		fmt.Fprintln(w)
	}
}

// printGroupState is describe --state.
func printGroupState(w io.Writer, d groupView) {
	coord := fmt.Sprintf("%s:%d  (%d)", d.Coordinator.Host, d.Coordinator.Port, d.Coordinator.NodeID)
	format := fmt.Sprintf("\n%%-%ds %%-25s %%-20s %%-15s %%s", max(25, len(coord)))
	fmt.Fprintf(w, format, "GROUP", "COORDINATOR (ID)", "ASSIGNMENT-STRATEGY", "STATE", "#MEMBERS")
	fmt.Fprintf(w, format, d.Group, coord, d.Protocol, d.State, strconv.Itoa(len(d.Members)))
	fmt.Fprintln(w)
}

// resetPartitions is what reset-offsets and delete-offsets act on: topics
// with optional partition lists ("t" is every partition of t).
func parseTopicPartitions(specs []string) (map[string][]int32, error) {
	out := map[string][]int32{}
	for _, spec := range specs {
		topic, parts, hasParts := strings.Cut(spec, ":")
		if topic == "" {
			return nil, usagef("--topic %q: no topic name", spec)
		}
		if !hasParts {
			out[topic] = nil
			continue
		}
		for _, p := range strings.Split(parts, ",") {
			n, err := strconv.ParseInt(strings.TrimSpace(p), 10, 32)
			if err != nil || n < 0 {
				return nil, usagef("--topic %q: %q is not a partition number", spec, p)
			}
			out[topic] = append(out[topic], int32(n))
		}
	}
	return out, nil
}

// expandPartitions names every partition of the topics given without a
// partition list, and checks the others exist.
func expandPartitions(ctx context.Context, adm *kadm.Client, spec map[string][]int32) (kadm.TopicsSet, error) {
	var topics []string
	for t := range spec {
		topics = append(topics, t)
	}
	sort.Strings(topics)
	details, err := adm.ListTopics(ctx, topics...)
	if err != nil {
		return nil, fmt.Errorf("describing topics: %w", err)
	}
	set := kadm.TopicsSet{}
	for _, t := range topics {
		td, ok := details[t]
		if !ok || td.Err != nil {
			return nil, fmt.Errorf("topic %q does not exist", t)
		}
		if spec[t] == nil {
			for p := range td.Partitions {
				set.Add(t, p)
			}
			continue
		}
		for _, p := range spec[t] {
			if _, ok := td.Partitions[p]; !ok {
				return nil, fmt.Errorf("topic %q has no partition %d", t, p)
			}
			set.Add(t, p)
		}
	}
	return set, nil
}

func groupsResetOffsets(ctx context.Context, adm *kadm.Client, c *command, o *groupsOpts, groups []string) error {
	spec, err := parseTopicPartitions(o.topics)
	if err != nil {
		return err
	}
	var datetimeMs int64
	if c.isSet("to-datetime") {
		t, err := parseResetDatetime(o.toDatetime)
		if err != nil {
			return err
		}
		datetimeMs = t.UnixMilli()
	}
	described, err := describeGroups(ctx, adm, groups)
	if err != nil {
		return err
	}
	execute := o.execute
	if !o.execute && !o.dryRun {
		fmt.Fprintln(c.stderr, "WARN: No action will be performed as the --execute option is missing. In a future major release, the default behavior of this command will be to prompt the user before executing the reset rather than doing a dry run. You should add the --dry-run option explicitly if you are scripting this command and want to keep the current default behavior without prompting.")
	}
	type planned struct {
		group string
		offs  kadm.Offsets
	}
	var plans []planned
	sorted := append([]string(nil), groups...)
	sort.Strings(sorted)
	for _, g := range sorted {
		d := described[g]
		if d.State != "Empty" && d.State != "Dead" && d.State != "" {
			return fmt.Errorf("assignments can only be reset if the group '%s' is inactive, but the current state is %s", g, d.State)
		}
		committed, err := adm.FetchOffsets(ctx, g)
		if err != nil {
			return fmt.Errorf("fetching offsets of group %q: %w", g, err)
		}
		var parts kadm.TopicsSet
		if o.allTopics {
			parts = kadm.TopicsSet{}
			committed.Each(func(r kadm.OffsetResponse) {
				if r.Err == nil {
					parts.Add(r.Topic, r.Partition)
				}
			})
		} else if parts, err = expandPartitions(ctx, adm, spec); err != nil {
			return err
		}
		offs, err := newOffsets(ctx, adm, c, o, parts, committed, datetimeMs)
		if err != nil {
			return err
		}
		plans = append(plans, planned{g, offs})
	}
	if execute {
		for _, p := range plans {
			resp, err := adm.CommitOffsets(ctx, p.group, p.offs)
			if err == nil {
				err = resp.Error()
			}
			if err != nil {
				return fmt.Errorf("committing new offsets of group %q: %w", p.group, err)
			}
		}
	}
	format := "\n%-30s %-30s %-10s %-15s"
	if len(plans) > 0 {
		fmt.Fprintf(c.stdout, format, "GROUP", "TOPIC", "PARTITION", "NEW-OFFSET")
	}
	for _, p := range plans {
		for _, off := range p.offs.Sorted() {
			fmt.Fprintf(c.stdout, format, p.group, off.Topic, strconv.Itoa(int(off.Partition)), strconv.FormatInt(off.At, 10))
		}
	}
	fmt.Fprintln(c.stdout)
	return nil
}

// newOffsets computes the reset's new offsets, kept between each
// partition's start and end as Kafka keeps them.
func newOffsets(ctx context.Context, adm *kadm.Client, c *command, o *groupsOpts, parts kadm.TopicsSet, committed kadm.OffsetResponses, datetimeMs int64) (kadm.Offsets, error) {
	topics := parts.Topics()
	offs := kadm.Offsets{}
	if len(topics) == 0 {
		return offs, nil
	}
	starts, err := adm.ListStartOffsets(ctx, topics...)
	if err != nil {
		return nil, fmt.Errorf("listing start offsets: %w", err)
	}
	ends, err := adm.ListEndOffsets(ctx, topics...)
	if err != nil {
		return nil, fmt.Errorf("listing end offsets: %w", err)
	}
	var atTime kadm.ListedOffsets
	if c.isSet("to-datetime") {
		if atTime, err = adm.ListOffsetsAfterMilli(ctx, datetimeMs, topics...); err != nil {
			return nil, fmt.Errorf("listing offsets by time: %w", err)
		}
	}
	for _, tp := range parts.Sorted() {
		for _, p := range tp.Partitions {
			start, sok := starts.Lookup(tp.Topic, p)
			end, eok := ends.Lookup(tp.Topic, p)
			if !sok || !eok || start.Err != nil || end.Err != nil {
				return nil, fmt.Errorf("topic %q partition %d: cannot list its offsets", tp.Topic, p)
			}
			var at int64
			switch {
			case o.toEarliest:
				at = start.Offset
			case o.toLatest:
				at = end.Offset
			case c.isSet("to-offset"):
				at = o.toOffset
			case c.isSet("shift-by"):
				cur, ok := committed.Lookup(tp.Topic, p)
				if !ok || cur.Err != nil || cur.At < 0 {
					return nil, fmt.Errorf("topic %q partition %d: the group has no committed offset to shift", tp.Topic, p)
				}
				at = cur.At + o.shiftBy
			case c.isSet("to-datetime"):
				at = end.Offset
				if t, ok := atTime.Lookup(tp.Topic, p); ok && t.Err == nil && t.Offset >= 0 {
					at = t.Offset
				}
			}
			at = min(max(at, start.Offset), end.Offset)
			offs.Add(kadm.Offset{Topic: tp.Topic, Partition: p, At: at, LeaderEpoch: -1})
		}
	}
	return offs, nil
}

// parseResetDatetime reads --to-datetime as kafka-consumer-groups does:
// YYYY-MM-DDTHH:mm:SS with optional milliseconds and zone (Z or +hh:mm);
// without a zone, local time.
func parseResetDatetime(s string) (time.Time, error) {
	for _, layout := range []string{"2006-01-02T15:04:05.000Z07:00", "2006-01-02T15:04:05Z07:00", "2006-01-02T15:04:05.000", "2006-01-02T15:04:05"} {
		if t, err := time.ParseInLocation(layout, s, time.Local); err == nil {
			return t, nil
		}
	}
	return time.Time{}, usagef("--to-datetime %q: want YYYY-MM-DDTHH:mm:SS[.sss][Z|+hh:mm]", s)
}

func groupsDeleteOffsets(ctx context.Context, adm *kadm.Client, c *command, o *groupsOpts) error {
	spec, err := parseTopicPartitions(o.topics)
	if err != nil {
		return err
	}
	set, err := expandPartitions(ctx, adm, spec)
	if err != nil {
		return err
	}
	g := o.groups[0]
	resp, err := adm.DeleteOffsets(ctx, g, set)
	switch {
	case errors.Is(err, kerr.GroupIDNotFound):
		return fmt.Errorf("consumer group '%s' does not exist", g)
	case err != nil:
		return fmt.Errorf("deleting offsets of group %q: %w", g, err)
	}
	var topics []string
	for t := range spec {
		topics = append(topics, t)
	}
	sort.Strings(topics)
	fmt.Fprintf(c.stdout, "Request succeed for deleting offsets with topic %s group %s\n", strings.Join(topics, ", "), g)
	format := "\n%-30s %-15s %-15s"
	fmt.Fprintf(c.stdout, format, "TOPIC", "PARTITION", "STATUS")
	var failed error
	for _, tp := range set.Sorted() {
		for _, p := range tp.Partitions {
			status := "Successful"
			if perr := resp[tp.Topic][p]; perr != nil {
				status = "Error: " + perr.Error()
				failed = perr
			}
			fmt.Fprintf(c.stdout, format, tp.Topic, strconv.Itoa(int(p)), status)
		}
	}
	fmt.Fprintln(c.stdout)
	if failed != nil {
		return fmt.Errorf("some offsets of group %q were not deleted: %w", g, failed)
	}
	return nil
}

func groupsDelete(ctx context.Context, adm *kadm.Client, c *command, groups []string) error {
	resp, err := adm.DeleteGroups(ctx, groups...)
	if err != nil {
		return fmt.Errorf("deleting groups: %w", err)
	}
	var ok, failed []string
	var firstErr error
	for _, g := range groups {
		r := resp[g]
		switch {
		case r.Err == nil:
			ok = append(ok, g)
		case errors.Is(r.Err, kerr.GroupIDNotFound):
			failed = append(failed, g)
			firstErr = errors.Join(firstErr, fmt.Errorf("group '%s' does not exist", g))
		default:
			failed = append(failed, g)
			firstErr = errors.Join(firstErr, fmt.Errorf("group '%s' could not be deleted: %w", g, r.Err))
		}
	}
	if len(ok) > 0 {
		fmt.Fprintf(c.stdout, "Deletion of requested consumer groups (%s) was successful.\n", quoteJoin(ok))
	}
	if firstErr != nil {
		return firstErr
	}
	return nil
}
