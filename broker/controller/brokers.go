package controller

import (
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/weir-dev/weir/broker/metadata"
)

// Broker lifecycle, as in KRaft: a broker registers with an incarnation
// id and gets a broker epoch (the offset of its registration record); it
// starts fenced, heartbeats, and is unfenced once it heartbeats and has
// applied the log up to its registration; it is fenced again when its
// heartbeats stop for the session timeout, and on controlled shutdown its
// leadership moves first.

func (c *Controller) registerBroker(img *metadata.Image, r *kmsg.BrokerRegistrationRequest, now time.Time) Result {
	resp := r.ResponseKind().(*kmsg.BrokerRegistrationResponse)
	resp.BrokerEpoch = -1
	if r.ClusterID != "" && img.ClusterID() != "" && r.ClusterID != img.ClusterID() {
		resp.ErrorCode = kerr.InconsistentClusterID.Code
		return Result{Response: resp}
	}
	if r.BrokerID < 0 {
		resp.ErrorCode = kerr.InvalidRequest.Code
		return Result{Response: resp}
	}
	old, registered := img.Broker(r.BrokerID)
	if registered && old.IncarnationID == r.IncarnationID {
		// A retry of the registration that made this epoch.
		c.heartbeats[r.BrokerID] = now
		resp.BrokerEpoch = old.Epoch
		return Result{Response: resp}
	}
	rec := &metadata.RegisterBrokerRecord{
		NodeID: r.BrokerID, Epoch: int64(img.Offset().Index + 1), IncarnationID: r.IncarnationID, Fenced: true,
	}
	if r.Rack != nil {
		rec.Rack = *r.Rack
	}
	for _, l := range r.Listeners {
		rec.Listeners = append(rec.Listeners, metadata.Listener{Name: l.Name, Host: l.Host, Port: l.Port, SecurityProtocol: l.SecurityProtocol})
	}
	b := newBatch(img)
	b.add(rec)
	if registered {
		// The old incarnation lost its memory: whatever it led is led
		// elsewhere, or by no one, until the new one is unfenced.
		b.updateBroker(r.BrokerID, func(br *metadata.Broker) { br.Fenced = true })
		c.removeFromPartitions(b, r.BrokerID)
	}
	c.heartbeats[r.BrokerID] = now
	resp.BrokerEpoch = rec.Epoch
	return Result{Records: b.records, Response: resp}
}

func (c *Controller) heartbeat(img *metadata.Image, r *kmsg.BrokerHeartbeatRequest, now time.Time) Result {
	resp := r.ResponseKind().(*kmsg.BrokerHeartbeatResponse)
	resp.IsFenced = true
	br, ok := img.Broker(r.BrokerID)
	switch {
	case !ok:
		resp.ErrorCode = kerr.BrokerIDNotRegistered.Code
		return Result{Response: resp}
	case br.Epoch != r.BrokerEpoch:
		resp.ErrorCode = kerr.StaleBrokerEpoch.Code
		return Result{Response: resp}
	}
	c.heartbeats[r.BrokerID] = now
	b := newBatch(img)
	resp.IsCaughtUp = r.CurrentMetadataOffset >= br.Epoch
	switch {
	case r.WantShutdown:
		c.controlledShutdown(b, br)
		resp.ShouldShutdown = true
	case r.WantFence:
		if !br.Fenced {
			c.fence(b, br.ID, br.Epoch)
		}
	case br.Fenced && !br.InControlledShutdown && resp.IsCaughtUp:
		b.add(&metadata.UnfenceBrokerRecord{NodeID: br.ID, Epoch: br.Epoch})
		b.updateBroker(br.ID, func(br *metadata.Broker) { br.Fenced = false })
		c.electOffline(b)
	}
	nb, _ := b.broker(br.ID)
	resp.IsFenced = nb.Fenced
	return Result{Records: b.records, Response: resp}
}

// fence fences a broker and moves its leadership away.
func (c *Controller) fence(b *batch, id int32, epoch int64) {
	b.add(&metadata.FenceBrokerRecord{NodeID: id, Epoch: epoch})
	b.updateBroker(id, func(br *metadata.Broker) { br.Fenced = true })
	c.removeFromPartitions(b, id)
}

// controlledShutdown marks the broker as shutting down, moves its
// leadership to other ISR members (a partition with no other leads
// nowhere until it returns), takes it out of every ISR it is not the last
// member of, and fences it: once the answer says ShouldShutdown, the
// broker leads nothing and may stop.
func (c *Controller) controlledShutdown(b *batch, br *metadata.Broker) {
	if !br.InControlledShutdown {
		b.add(&metadata.BrokerShutdownRecord{NodeID: br.ID, Epoch: br.Epoch})
		b.updateBroker(br.ID, func(br *metadata.Broker) { br.InControlledShutdown = true })
		c.removeFromPartitions(b, br.ID)
	}
	if !br.Fenced {
		b.add(&metadata.FenceBrokerRecord{NodeID: br.ID, Epoch: br.Epoch})
		b.updateBroker(br.ID, func(br *metadata.Broker) { br.Fenced = true })
	}
}

func (c *Controller) allocateProducerIDs(img *metadata.Image, r *kmsg.AllocateProducerIDsRequest) Result {
	resp := r.ResponseKind().(*kmsg.AllocateProducerIDsResponse)
	br, ok := img.Broker(r.BrokerID)
	switch {
	case !ok:
		resp.ErrorCode = kerr.BrokerIDNotRegistered.Code
		return Result{Response: resp}
	case br.Epoch != r.BrokerEpoch:
		resp.ErrorCode = kerr.StaleBrokerEpoch.Code
		return Result{Response: resp}
	}
	start := img.NextProducerID()
	if start > 1<<62 {
		resp.ErrorCode = kerr.UnknownServerError.Code
		return Result{Response: resp}
	}
	resp.ProducerIDStart, resp.ProducerIDLen = start, int32(c.cfg.ProducerIDBlockSize)
	return Result{
		Records:  []metadata.Record{&metadata.ProducerIDsRecord{BrokerID: br.ID, BrokerEpoch: br.Epoch, NextProducerID: start + c.cfg.ProducerIDBlockSize}},
		Response: resp,
	}
}
