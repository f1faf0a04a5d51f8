package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"strings"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
)

const leadersAbout = `
Elect partition leaders, like kafka-leader-election.

  elect --preferred|--unclean (--topic T [--partition N] | --all-topic-partitions)

--preferred moves each partition's leadership to its preferred replica (the
first of its replicas) when that replica is alive and in sync. --unclean
elects a leader for a partition that has none, from outside the ISR if no
in-sync replica is alive: records only the old ISR had may be lost.
--election-type PREFERRED|UNCLEAN is Kafka's spelling of the same choice.`

type leadersOpts struct {
	bootstrap    string
	topic        string
	partition    int
	allPartition bool
	preferred    bool
	unclean      bool
	electionType string
	timeoutMs    int
}

// Leaders is `weir leaders`.
func Leaders(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
	c := newCommand("leaders", "leaders elect --preferred|--unclean [flags]", leadersAbout, stdout, stderr)
	o := leadersOpts{}
	c.fs.StringVar(&o.bootstrap, "bootstrap-server", DefaultBootstrap, "comma-separated `host:port` list of brokers")
	c.fs.StringVar(&o.topic, "topic", "", "the topic `name` whose partitions to elect leaders for")
	c.fs.IntVar(&o.partition, "partition", -1, "only this partition `index` of --topic")
	c.fs.BoolVar(&o.allPartition, "all-topic-partitions", false, "every partition of every topic")
	c.fs.BoolVar(&o.preferred, "preferred", false, "preferred-replica election")
	c.fs.BoolVar(&o.unclean, "unclean", false, "unclean election (may lose records)")
	c.fs.StringVar(&o.electionType, "election-type", "", "PREFERRED or UNCLEAN (Kafka's spelling)")
	c.fs.IntVar(&o.timeoutMs, "request-timeout-ms", 30000, "give up after this many `ms` (0: never)")
	return c.exit(runLeaders(ctx, c, &o, args))
}

func runLeaders(ctx context.Context, c *command, o *leadersOpts, args []string) error {
	pos, err := c.parse(args)
	if err != nil {
		return err
	}
	if len(pos) != 1 || pos[0] != "elect" {
		return usagef("want: weir leaders elect --preferred|--unclean (--topic T [--partition N] | --all-topic-partitions)")
	}
	how, name, err := electionHow(o)
	if err != nil {
		return err
	}
	var set kadm.TopicsSet // nil: every partition
	switch {
	case o.allPartition && (o.topic != "" || c.isSet("partition")):
		return usagef("--all-topic-partitions cannot be combined with --topic or --partition")
	case o.allPartition:
	case o.topic == "":
		return usagef("give --topic (and optionally --partition) or --all-topic-partitions")
	case c.isSet("partition") && (o.partition < 0 || o.partition > math.MaxInt32):
		return usagef("--partition must be a partition index, got %d", o.partition)
	case c.isSet("partition"):
		set = kadm.TopicsSet{}
		set.Add(o.topic, int32(o.partition))
	}
	s, err := openAdmin(ctx, o.bootstrap, "weir-leaders", "request-timeout-ms", o.timeoutMs)
	if err != nil {
		return err
	}
	defer s.close()
	ctx, adm, tracker := s.ctx, s.adm, s.tracker
	if o.topic != "" && set == nil {
		td, ok, err := topicDetail(ctx, adm, o.topic)
		if err != nil {
			return tracker.explain(err)
		}
		if !ok {
			return fmt.Errorf("topic %q does not exist", o.topic)
		}
		set = kadm.TopicsSet{}
		for p := range td.Partitions {
			set.Add(o.topic, p)
		}
	}
	rs, err := adm.ElectLeaders(ctx, how, set)
	if err != nil {
		return tracker.explain(fmt.Errorf("electing leaders: %w", err))
	}
	return writeElections(c.stdout, name, rs)
}

// electionHow reads the election type from --preferred, --unclean or
// --election-type: exactly one choice.
func electionHow(o *leadersOpts) (kadm.ElectLeadersHow, string, error) {
	var chosen []string
	if o.preferred {
		chosen = append(chosen, "PREFERRED")
	}
	if o.unclean {
		chosen = append(chosen, "UNCLEAN")
	}
	if o.electionType != "" {
		t := strings.ToUpper(o.electionType)
		if t != "PREFERRED" && t != "UNCLEAN" {
			return 0, "", usagef("--election-type %q: want PREFERRED or UNCLEAN", o.electionType)
		}
		chosen = append(chosen, t)
	}
	switch {
	case len(chosen) == 0:
		return 0, "", usagef("give --preferred or --unclean")
	case len(chosen) > 1 && (chosen[0] != chosen[1] || len(chosen) > 2):
		return 0, "", usagef("give one election type, got %s", strings.Join(chosen, " and "))
	case chosen[0] == "UNCLEAN":
		return kadm.ElectLiveReplica, "UNCLEAN", nil
	}
	return kadm.ElectPreferredReplica, "PREFERRED", nil
}

// writeElections prints the outcome as kafka-leader-election does: the
// partitions elected, those that already had the right leader, and one
// line per failure; any failure is an error.
func writeElections(w io.Writer, name string, rs kadm.ElectLeadersResults) error {
	var done, notNeeded, failed []string
	for topic, ps := range rs {
		for p, r := range ps {
			tp := fmt.Sprintf("%s-%d", topic, p)
			switch {
			case r.Err == nil:
				done = append(done, tp)
			case errors.Is(r.Err, kerr.ElectionNotNeeded):
				notNeeded = append(notNeeded, tp)
			default:
				msg := r.Err.Error()
				if r.ErrMessage != "" {
					msg = brokerErr(r.Err, r.ErrMessage).Error()
				}
				failed = append(failed, tp+": "+msg)
			}
		}
	}
	for _, l := range [][]string{done, notNeeded, failed} {
		sort.Strings(l)
	}
	if len(done) > 0 {
		fmt.Fprintf(w, "Successfully completed leader election (%s) for partitions %s\n", name, strings.Join(done, ", "))
	}
	if len(notNeeded) > 0 {
		fmt.Fprintf(w, "Valid replica already elected for partitions %s\n", strings.Join(notNeeded, ", "))
	}
	for _, f := range failed {
		fmt.Fprintf(w, "Error completing leader election (%s) for partition: %s\n", name, f)
	}
	if len(failed) > 0 {
		return fmt.Errorf("%d replica(s) could not be elected", len(failed))
	}
	return nil
}
