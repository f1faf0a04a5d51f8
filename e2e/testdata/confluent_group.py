"""confluent-kafka (librdkafka) consumer group members, run against Weir by
e2e/groups_test.go.

usage: confluent_group.py BOOTSTRAP TOPIC GROUP COUNT MEMBERS

Starts MEMBERS consumers of GROUP, polls them in turn until COUNT records
were read and committed between them (each record is committed
synchronously; one whose commit a rebalance refused is not counted, since
the group reads it again), then reports and closes them. Prints one JSON
object on stdout:

  {"consumed":  [[partition, offset], ...],
   "committed": {"<partition>": offset, ...},
   "members":   {"m0": [partitions...], ...}}   (assignments at the end)
"""
import json
import sys
import time

from confluent_kafka import Consumer, KafkaException, TopicPartition


def main():
    bootstrap, topic, group = sys.argv[1], sys.argv[2], sys.argv[3]
    count, members = int(sys.argv[4]), int(sys.argv[5])
    consumers = []
    for i in range(members):
        c = Consumer({
            "bootstrap.servers": bootstrap,
            "group.id": group,
            "client.id": "m%d" % i,
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
            "session.timeout.ms": 6000,
            "heartbeat.interval.ms": 500,
        })
        c.subscribe([topic])
        consumers.append(c)
    consumed = []
    deadline = time.time() + 60
    while time.time() < deadline:
        assigned = all(c.assignment() for c in consumers)
        if len(consumed) >= count and assigned:
            break
        for c in consumers:
            m = c.poll(0.2)
            if m is None or m.error():
                continue
            try:
                c.commit(message=m, asynchronous=False)
            except KafkaException:
                continue
            consumed.append([m.partition(), m.offset()])
    if len(consumed) < count:
        sys.exit("read %d of %d records" % (len(consumed), count))
    partitions = consumers[0].list_topics(topic, timeout=10).topics[topic].partitions
    committed = {}
    for tp in consumers[0].committed([TopicPartition(topic, p) for p in partitions], timeout=10):
        if tp.offset >= 0:
            committed[str(tp.partition)] = tp.offset
    assignment = {"m%d" % i: sorted(tp.partition for tp in c.assignment()) for i, c in enumerate(consumers)}
    for c in consumers:
        c.close()
    json.dump({"consumed": consumed, "committed": committed, "members": assignment}, sys.stdout)


if __name__ == "__main__":
    main()
