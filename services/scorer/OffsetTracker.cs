using Confluent.Kafka;

namespace StreamMonitor.Scorer;

/// <summary>
/// At-least-once bookkeeping: per partition, the offsets consumed in order and the ones whose outputs the cluster
/// has acknowledged. The committable position of a partition is one past the end of the contiguous acknowledged
/// prefix, so a commit never covers an event whose prediction could still be lost. Acknowledgements arrive on the
/// producer's delivery thread; everything else on the consume loop; one lock guards both.
/// </summary>
public sealed class OffsetTracker
{
    private readonly Lock _gate = new();
    private readonly Dictionary<TopicPartition, PartitionState> _partitions = [];

    /// <summary>Records that <paramref name="offset"/> of a partition was consumed and awaits acknowledgement.</summary>
    public void Consumed(TopicPartition partition, long offset)
    {
        lock (_gate)
        {
            if (!_partitions.TryGetValue(partition, out var state))
            {
                state = new PartitionState();
                _partitions[partition] = state;
            }

            state.Pending.Enqueue(offset);
        }
    }

    /// <summary>Records that the output of <paramref name="offset"/> was acknowledged.</summary>
    public void Acknowledged(TopicPartition partition, long offset)
    {
        lock (_gate)
        {
            if (_partitions.TryGetValue(partition, out var state))
            {
                state.Acked.Add(offset);
            }
        }
    }

    /// <summary>Offsets that may be committed now (next offset to read per partition), only where they advanced.</summary>
    public List<TopicPartitionOffset> TakeCommittable()
    {
        var result = new List<TopicPartitionOffset>();
        lock (_gate)
        {
            foreach (var (partition, state) in _partitions)
            {
                var advanced = false;
                while (state.Pending.TryPeek(out var head) && state.Acked.Remove(head))
                {
                    state.Pending.Dequeue();
                    state.NextToCommit = head + 1;
                    advanced = true;
                }

                if (advanced)
                {
                    result.Add(new TopicPartitionOffset(partition, state.NextToCommit));
                }
            }
        }

        return result;
    }

    /// <summary>Events consumed but not yet acknowledged, over all partitions.</summary>
    public int InFlight
    {
        get
        {
            lock (_gate)
            {
                return _partitions.Values.Sum(s => s.Pending.Count);
            }
        }
    }

    /// <summary>Forgets partitions this instance no longer owns.</summary>
    public void Remove(IEnumerable<TopicPartition> partitions)
    {
        ArgumentNullException.ThrowIfNull(partitions);
        lock (_gate)
        {
            foreach (var partition in partitions)
            {
                _partitions.Remove(partition);
            }
        }
    }

    private sealed class PartitionState
    {
        public Queue<long> Pending { get; } = new();

        public HashSet<long> Acked { get; } = [];

        public long NextToCommit { get; set; }
    }
}
