#!/usr/bin/python3
"""Reads Predictions from streammon.predictions and prints one line per prediction (docs/producing.md).

  /usr/bin/python3 consume_predictions.py --bootstrap-servers localhost:9092 [--expect 100 --timeout 60]

Line format: event_id status model/version score [error_reason]. With --expect N it stops once N distinct event ids
were seen (exit 0) or when the timeout passes (exit 1); without it, it runs until Ctrl-C.
"""

import argparse
import os
import sys
import time

from confluent_kafka import Consumer

import streammon_avro

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bootstrap-servers", required=True)
    parser.add_argument("--topic-suffix", default="", help="topic namespace suffix (Kafka:Topics:Suffix)")
    parser.add_argument("--group", default="predictions-example")
    parser.add_argument("--schemas", default=os.path.join(REPO, "schemas"))
    parser.add_argument("--expect", type=int, help="stop after this many distinct event ids")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for --expect")
    args = parser.parse_args()

    # Decode with the current Prediction schema; any version the scorer may have written resolves to it.
    writers = streammon_avro.load_schemas(args.schemas)
    prediction = streammon_avro.load_schema(os.path.join(args.schemas, "prediction.avsc"))
    consumer = Consumer({"bootstrap.servers": args.bootstrap_servers, "group.id": args.group,
                         "auto.offset.reset": "earliest", "enable.auto.commit": True})
    consumer.subscribe(["streammon.predictions" + args.topic_suffix])
    seen = set()
    deadline = time.monotonic() + args.timeout
    try:
        while args.expect is None or (len(seen) < args.expect and time.monotonic() < deadline):
            message = consumer.poll(0.5)
            if message is None:
                continue
            if message.error():
                print(f"consume error: {message.error()}", file=sys.stderr)
                continue
            p = streammon_avro.decode(message.value(), prediction, writers)
            seen.add(p["event_id"])
            line = f"{p['event_id']} {p['status']} {p['model_name']}/{p['model_version']} {p['score']}"
            print(line + (f" {p['error_reason']}" if p["error_reason"] else ""), flush=True)
    except KeyboardInterrupt:
        pass
    finally:
        consumer.close()
    if args.expect is not None and len(seen) < args.expect:
        print(f"saw {len(seen)} of {args.expect} predictions in {args.timeout} s", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
