package cli

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strconv"
	"text/tabwriter"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

const clusterAbout = `Describes the cluster: its id, every broker (id, address, rack, fenced or
not, controller) and the metadata quorum (leader, term, committed offset,
voters and observers with how far each one's log reaches), as Kafka's
kafka-cluster and kafka-metadata-quorum describe --status do.`

// Cluster is `weir cluster`.
func Cluster(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
	c := newCommand("cluster", "cluster describe [flags]", clusterAbout, stdout, stderr)
	bootstrap := c.fs.String("bootstrap-server", DefaultBootstrap, "comma-separated `host:port` list of brokers")
	timeoutMs := c.fs.Int("request-timeout-ms", 30000, "give up after this many `ms` (0: never)")
	return c.exit(runCluster(ctx, c, args, bootstrap, timeoutMs))
}

func runCluster(ctx context.Context, c *command, args []string, bootstrap *string, timeoutMs *int) error {
	pos, err := c.parse(args)
	if err != nil {
		return err
	}
	if len(pos) != 1 || pos[0] != "describe" {
		return usagef("want: weir cluster describe [--bootstrap-server host:port]")
	}
	timeout, err := msDuration("request-timeout-ms", *timeoutMs)
	if err != nil {
		return err
	}
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	opts, tracker, err := clientOpts(*bootstrap, "weir-cluster")
	if err != nil {
		return err
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return err
	}
	defer cl.Close()
	return tracker.explain(describeCluster(ctx, cl, c.stdout))
}

func describeCluster(ctx context.Context, cl *kgo.Client, w io.Writer) error {
	dreq := kmsg.NewPtrDescribeClusterRequest()
	dreq.IncludeFencedBrokers = true
	dresp, err := dreq.RequestWith(ctx, cl)
	if err != nil {
		return fmt.Errorf("describing the cluster: %w", err)
	}
	if err := kerr.ErrorForCode(dresp.ErrorCode); err != nil {
		return fmt.Errorf("describing the cluster: %w", err)
	}
	fmt.Fprintf(w, "ClusterId: %s\n", dresp.ClusterID)
	brokers := slices.Clone(dresp.Brokers)
	slices.SortFunc(brokers, func(a, b kmsg.DescribeClusterResponseBroker) int { return int(a.NodeID) - int(b.NodeID) })
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "\nBROKER\tADDRESS\tRACK\tSTATE\tCONTROLLER")
	for _, b := range brokers {
		rack, state, ctl := "-", "active", ""
		if b.Rack != nil {
			rack = *b.Rack
		}
		if b.IsFenced {
			state = "fenced"
		}
		if b.NodeID == dresp.ControllerID {
			ctl = "yes"
		}
		fmt.Fprintf(tw, "%d\t%s:%d\t%s\t%s\t%s\n", b.NodeID, b.Host, b.Port, rack, state, ctl)
	}
	tw.Flush()

	qreq := kmsg.NewPtrDescribeQuorumRequest()
	qt := kmsg.NewDescribeQuorumRequestTopic()
	qt.Topic = "__cluster_metadata"
	qp := kmsg.NewDescribeQuorumRequestTopicPartition()
	qt.Partitions = append(qt.Partitions, qp)
	qreq.Topics = append(qreq.Topics, qt)
	qresp, err := qreq.RequestWith(ctx, cl)
	if err != nil {
		return fmt.Errorf("describing the metadata quorum: %w", err)
	}
	if len(qresp.Topics) != 1 || len(qresp.Topics[0].Partitions) != 1 {
		return fmt.Errorf("describing the metadata quorum: an answer without the metadata partition")
	}
	p := qresp.Topics[0].Partitions[0]
	if err := kerr.ErrorForCode(p.ErrorCode); err != nil {
		return fmt.Errorf("describing the metadata quorum: %w", err)
	}
	leader := "none"
	if p.LeaderID >= 0 {
		leader = strconv.Itoa(int(p.LeaderID))
	}
	fmt.Fprintf(w, "\nQuorum: LeaderId: %s\tLeaderEpoch: %d\tHighWatermark: %d\n", leader, p.LeaderEpoch, p.HighWatermark)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NODE\tROLE\tLOG-END-OFFSET\tLAG")
	row := func(r kmsg.DescribeQuorumResponseTopicPartitionReplicaState, role string) {
		if r.ReplicaID == p.LeaderID {
			role = "leader"
		}
		end, lag := "-", "-"
		if r.LogEndOffset >= 0 {
			end = strconv.FormatInt(r.LogEndOffset, 10)
			lag = strconv.FormatInt(max(0, p.HighWatermark-r.LogEndOffset), 10)
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\n", r.ReplicaID, role, end, lag)
	}
	for _, r := range p.CurrentVoters {
		row(r, "voter")
	}
	for _, r := range p.Observers {
		row(r, "observer")
	}
	tw.Flush()
	if p.LeaderID >= 0 && len(p.CurrentVoters) > 0 && p.CurrentVoters[0].LogEndOffset < 0 {
		fmt.Fprintln(w, "(log end offsets are known only to the quorum's leader; ask a broker that is a voter and leads it for lag)")
	}
	return nil
}
