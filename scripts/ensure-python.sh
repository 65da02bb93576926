#!/usr/bin/env bash
# Installs Debian's python3-confluent-kafka and python3-avro when /usr/bin/python3 cannot import them: the Python
# producer example (examples/python) is run by a test against the embedded cluster. Installing needs root. Without
# root it warns that the Python example test will fail, and succeeds (the other tests still run).
set -euo pipefail

if [ -x /usr/bin/python3 ] && /usr/bin/python3 -c 'import confluent_kafka, avro' >/dev/null 2>&1; then
  exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
  echo "Installing python3-confluent-kafka and python3-avro from Debian..."
  # A failed install must not stop the other tests: the Python example test then fails and says what is missing.
  if ! { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3 python3-confluent-kafka python3-avro; }; then
    echo "Installing the Python packages failed: the Python example test will fail." >&2
  fi
else
  echo "python3-confluent-kafka or python3-avro is missing and this is not root: the Python example test will fail (apt-get install python3-confluent-kafka python3-avro)." >&2
fi
