package gen

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

func TestDefiniteFailure(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{kerr.MessageTooLarge, true},
		{fmt.Errorf("wrapped: %w", kerr.InvalidRecord), true},
		{kerr.TopicAuthorizationFailed, true},
		{kerr.NotLeaderForPartition, false},
		{kerr.CorruptMessage, false}, // retriable: an earlier attempt may have landed
		{kerr.UnknownTopicOrPartition, false},
		{kerr.OutOfOrderSequenceNumber, false},
		{kgo.ErrRecordTimeout, false},
		{kgo.ErrRecordRetries, false},
		{kgo.ErrClientClosed, false},
		{context.DeadlineExceeded, false},
		{errors.New("connection reset by peer"), false},
	} {
		if got := DefiniteFailure(tc.err); got != tc.want {
			t.Errorf("DefiniteFailure(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}
