#!/usr/bin/python3
"""Produces FeatureEvents (Avro single-object encoding and JSON) and their Labels from a CSV (docs/producing.md).

Each CSV row is one event: every column but the label column is a numeric feature (empty: null). Keys are the event
ids, UTF-8. The client's default partitioner is used unless --partitioner says otherwise: StreamMonitor repartitions
labels by event id itself, so any partitioner joins (docs/producing.md, "Partitioner").

  /usr/bin/python3 produce_features.py --bootstrap-servers localhost:9092 --model cancer --count 50
"""

import argparse
import csv
import json
import os
import sys
import time

from confluent_kafka import Producer

import streammon_avro

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def rows(path, label_column):
    with open(path, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            label = float(row.pop(label_column))
            features = {name: (float(value) if value != "" else None) for name, value in row.items()}
            yield features, label


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bootstrap-servers", required=True)
    parser.add_argument("--topic-suffix", default="", help="topic namespace suffix (Kafka:Topics:Suffix)")
    parser.add_argument("--model", required=True, help="model_name of every event")
    parser.add_argument("--data", default=os.path.join(REPO, "data", "breast_cancer_wisconsin.csv"))
    parser.add_argument("--label-column", default="label")
    parser.add_argument("--schemas", default=os.path.join(REPO, "schemas"))
    parser.add_argument("--count", type=int, default=20, help="events per format")
    parser.add_argument("--format", choices=["avro", "json", "both"], default="both")
    parser.add_argument("--id-prefix", default="py")
    parser.add_argument("--partitioner", help="librdkafka partitioner, e.g. murmur2_random (default: the client's; any works)")
    parser.add_argument("--time-ms", type=int, help="event time of the first event, ms since the epoch (default: now); "
                        "event i gets this + i, its label this + i + 1000")
    parser.add_argument("--unlabeled-every", type=int, default=0, help="no label for every n-th event (default 0: all labeled)")
    args = parser.parse_args()

    feature_schema = streammon_avro.load_schema(os.path.join(args.schemas, "feature-event.avsc"))
    label_schema = streammon_avro.load_schema(os.path.join(args.schemas, "label.avsc"))
    config = {"bootstrap.servers": args.bootstrap_servers, "enable.idempotence": True, "acks": "all"}
    if args.partitioner:
        config["partitioner"] = args.partitioner
    producer = Producer(config)
    failures = []

    def delivered(error, message):
        if error is not None:
            failures.append(f"{message.key()}: {error}")

    formats = ["avro", "json"] if args.format == "both" else [args.format]
    data = list(rows(args.data, args.label_column))
    produced = 0
    labels = 0
    for fmt in formats:
        for i in range(args.count):
            features, label = data[i % len(data)]
            event_id = f"{args.id_prefix}-{fmt}-{i:05d}"
            now_ms = int(time.time() * 1000) if args.time_ms is None else args.time_ms + i
            event = {"event_id": event_id, "model_name": args.model, "entity_id": f"row-{i}", "event_time_ms": now_ms,
                     "features": features, "categorical": {}}
            truth = {"event_id": event_id, "model_name": args.model, "label": label, "label_time_ms": now_ms + 1000}
            if fmt == "avro":
                event_value = streammon_avro.encode(feature_schema, event)
                label_value = streammon_avro.encode(label_schema, truth)
            else:
                # allow_nan=False: NaN and Infinity are not JSON (send None for a missing feature).
                event_value = json.dumps(event, allow_nan=False).encode("utf-8")
                label_value = json.dumps(truth, allow_nan=False).encode("utf-8")
            key = event_id.encode("utf-8")
            producer.produce("streammon.features" + args.topic_suffix, key=key, value=event_value, on_delivery=delivered)
            if args.unlabeled_every <= 0 or (i + 1) % args.unlabeled_every != 0:
                producer.produce("streammon.labels" + args.topic_suffix, key=key, value=label_value, on_delivery=delivered)
                labels += 1
            produced += 1
            producer.poll(0)

    remaining = producer.flush(30)
    if failures or remaining:
        print(f"{len(failures)} records failed, {remaining} not delivered: {failures[:5]}", file=sys.stderr)
        return 1
    print(f"produced {produced} feature events and {labels} labels ({', '.join(formats)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
