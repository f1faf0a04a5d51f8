package registry

import (
	"context"
	"fmt"

	"github.com/weir-dev/weir/checker"
	"github.com/weir-dev/weir/history"
	"github.com/weir-dev/weir/workloads/gen"
)

// streamShaped is the API clickstream has and payments and vitals share:
// New(cfg) builds it, Topics are what Run creates, Run is the safety
// phase, Finish drains the processing and reads the topics back, Opts
// judge it.
type streamShaped interface {
	Topics() []gen.Topic
	Run(ctx context.Context, rec *history.Recorder) error
	Finish(ctx context.Context, rec *history.Recorder) error
	Opts() checker.Opts
}

// shaped adapts a stream-shaped workload whose clients run on host: Setup
// creates its topics from the "admin" host, with min.insync.replicas added.
func shaped(w streamShaped, env Env, host string, minInsync int) Workload {
	return &shapedWorkload{w: w, admin: env.client(adminHost), host: host, minInsync: minInsync}
}

// adminHost is the host topics are created from, as the queue does.
const adminHost = "admin"

type shapedWorkload struct {
	w         streamShaped
	admin     gen.ClientConfig
	host      string
	minInsync int
}

func (s *shapedWorkload) Setup(ctx context.Context) error {
	topics := s.w.Topics()
	for i := range topics {
		topics[i].Configs = topicConfigs(topics[i].Configs, s.minInsync)
	}
	if err := gen.CreateTopics(ctx, s.admin, topics...); err != nil {
		return fmt.Errorf("setup: %w", err)
	}
	return nil
}

func (s *shapedWorkload) Run(ctx context.Context, rec *history.Recorder) error {
	return s.w.Run(ctx, rec)
}

func (s *shapedWorkload) Finish(ctx context.Context, rec *history.Recorder) error {
	return s.w.Finish(ctx, rec)
}

func (s *shapedWorkload) Opts() checker.Opts { return s.w.Opts() }

func (s *shapedWorkload) Hosts() []string { return []string{s.host} }
