"""A kafka-python consumer group member, run against Weir by
e2e/groups_test.go.

usage: kafka_python_group.py BOOTSTRAP TOPIC GROUP COUNT

Joins GROUP with a KafkaConsumer(group_id=GROUP), reads exactly COUNT
records (from the group's committed offsets, or the earliest), commits,
and leaves. Prints one JSON object on stdout:

  {"consumed":  [[partition, offset], ...],
   "committed": {"<partition>": offset, ...}}   (the group's offsets after the commit)
"""
import json
import sys
import time

from kafka import KafkaConsumer


def main():
    bootstrap, topic, group, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=group,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        session_timeout_ms=6000,
        heartbeat_interval_ms=500,
    )
    consumed = []
    deadline = time.time() + 60
    while len(consumed) < count and time.time() < deadline:
        batch = consumer.poll(timeout_ms=500, max_records=count - len(consumed))
        for records in batch.values():
            for r in records:
                consumed.append([r.partition, r.offset])
    if len(consumed) < count:
        sys.exit("read %d of %d records" % (len(consumed), count))
    consumer.commit()
    committed = {}
    for tp in consumer.assignment():
        off = consumer.committed(tp)
        if off is not None:
            committed[str(tp.partition)] = off
    consumer.close()
    json.dump({"consumed": consumed, "committed": committed}, sys.stdout)


if __name__ == "__main__":
    main()
