namespace StreamMonitor.Slo;

/// <summary>Good and total event counts.</summary>
public readonly record struct GoodTotal(long Good, long Total)
{
    /// <summary>Bad events: total - good.</summary>
    public long Bad => Total - Good;

    /// <summary>Component-wise sum.</summary>
    public static GoodTotal operator +(GoodTotal a, GoodTotal b) => new(a.Good + b.Good, a.Total + b.Total);

    /// <summary>Component-wise difference.</summary>
    public static GoodTotal operator -(GoodTotal a, GoodTotal b) => new(a.Good - b.Good, a.Total - b.Total);

    /// <summary>Named alternative to the + operator.</summary>
    public static GoodTotal Add(GoodTotal a, GoodTotal b) => a + b;

    /// <summary>Named alternative to the - operator.</summary>
    public static GoodTotal Subtract(GoodTotal a, GoodTotal b) => a - b;
}

/// <summary>
/// Good/total counts per result window (bucket = window start / window size), with exact running sums over
/// spans that end at the evaluation time, which only <see cref="AdvanceTo"/> moves (the caller's event-time tick):
/// buckets at or after it are stored but counted only once a tick reaches them, so the sums at a tick are a function
/// of the buckets before it, whatever order they arrived in. A bucket counts in a span when its start is at or
/// after the span's start, so with spans that are multiples of the bucket size every sum is exact.
/// Each bucket keeps one contribution per source (model version) with a revision, so a re-emitted or upserted
/// result replaces its earlier contribution exactly instead of adding to it. Moving a span subtracts the buckets
/// that leave and adds the ones that enter: O(1) amortised per bucket, never a re-scan of the period.
/// </summary>
public sealed class WindowedCounts
{
    private readonly long _bucketMs;
    private readonly Dictionary<long, Bucket> _buckets = [];
    private readonly List<Span> _spans = [];
    private readonly Func<long, long> _retainFromMs;
    private long _prunedTo = long.MinValue;

    /// <summary>Creates the store for buckets of <paramref name="bucketMs"/>; <paramref name="retainFromMs"/> maps an evaluation time to the oldest instant still needed.</summary>
    public WindowedCounts(long bucketMs, Func<long, long> retainFromMs)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(bucketMs);
        _bucketMs = bucketMs;
        _retainFromMs = retainFromMs;
    }

    /// <summary>Evaluation time as an exclusive bucket index; null before the first tick.</summary>
    public long? EndIndex { get; private set; }

    /// <summary>Evaluation time (the last tick), epoch ms.</summary>
    public long? EvaluationMs => EndIndex * _bucketMs;

    /// <summary>Buckets currently held.</summary>
    public int BucketCount => _buckets.Count;

    /// <summary>Registers a span whose start is computed from the evaluation time; returns its handle.</summary>
    public int AddSpan(Func<long, long> startMs)
    {
        _spans.Add(new Span(startMs));
        if (EndIndex is { } end)
        {
            Move(_spans[^1], end);
        }

        return _spans.Count - 1;
    }

    /// <summary>Sum of the span at the current evaluation time.</summary>
    public GoodTotal Sum(int span) => _spans[span].Sum;

    /// <summary>
    /// Sets the contribution of <paramref name="source"/> to the bucket starting at <paramref name="windowStartMs"/>
    /// when <paramref name="revision"/> is at least the stored one. Returns false when it changed nothing (older
    /// revision, identical counts, or a bucket older than anything still needed). Never moves the evaluation time.
    /// </summary>
    public bool Upsert(long windowStartMs, string source, GoodTotal counts, long revision)
    {
        var index = FloorDiv(windowStartMs, _bucketMs);
        if (EndIndex is { } end && index * _bucketMs < _retainFromMs(end * _bucketMs))
        {
            return false;
        }

        if (!_buckets.TryGetValue(index, out var bucket))
        {
            bucket = new Bucket();
            _buckets[index] = bucket;
        }

        var previous = default(GoodTotal);
        var isNew = true;
        if (bucket.Sources.TryGetValue(source, out var existing))
        {
            if (revision < existing.Revision)
            {
                return false;
            }

            previous = existing.Counts;
            isNew = false;
        }

        bucket.Sources[source] = (counts, revision);
        var delta = counts - previous;
        bucket.Sum += delta;
        foreach (var span in _spans)
        {
            if (index >= span.Lo && index < span.Hi)
            {
                span.Sum += delta;
            }
        }

        return isNew || delta != default;
    }

    /// <summary>True when the bucket starting at <paramref name="windowStartMs"/> holds a contribution.</summary>
    public bool Contains(long windowStartMs) => _buckets.ContainsKey(FloorDiv(windowStartMs, _bucketMs));

    /// <summary>Moves the evaluation time forward to <paramref name="endMs"/> (a multiple of the bucket size); earlier times are ignored.</summary>
    public void AdvanceTo(long endMs)
    {
        var end = FloorDiv(endMs, _bucketMs);
        if (EndIndex is { } current && end <= current)
        {
            return;
        }

        AdvanceIndex(end);
    }

    /// <summary>Every (bucket start, source, counts, revision) held, for checkpoints.</summary>
    public IEnumerable<(long WindowStartMs, string Source, GoodTotal Counts, long Revision)> Contributions() =>
        _buckets.OrderBy(b => b.Key).SelectMany(b => b.Value.Sources.OrderBy(s => s.Key, StringComparer.Ordinal)
            .Select(s => (b.Key * _bucketMs, s.Key, s.Value.Counts, s.Value.Revision)));

    private void AdvanceIndex(long end)
    {
        EndIndex = end;
        foreach (var span in _spans)
        {
            Move(span, end);
        }

        var retainFrom = CeilDiv(_retainFromMs(end * _bucketMs), _bucketMs);
        if (retainFrom <= _prunedTo)
        {
            return;
        }

        if (_prunedTo != long.MinValue && retainFrom - _prunedTo <= _buckets.Count)
        {
            for (var i = _prunedTo; i < retainFrom; i++)
            {
                _buckets.Remove(i);
            }
        }
        else
        {
            foreach (var old in _buckets.Keys.Where(k => k < retainFrom).ToList())
            {
                _buckets.Remove(old);
            }
        }

        _prunedTo = retainFrom;
    }

    private void Move(Span span, long end)
    {
        var lo = CeilDiv(span.StartMs(end * _bucketMs), _bucketMs);
        if (lo >= span.Hi || span.Lo >= span.Hi)
        {
            // Disjoint from the old range (or first placement): sum from scratch over whichever is smaller.
            span.Sum = SumRange(lo, end);
        }
        else
        {
            span.Sum -= SumRange(span.Lo, Math.Min(lo, span.Hi));
            span.Sum += SumRange(Math.Max(span.Hi, lo), end);
        }

        span.Lo = lo;
        span.Hi = end;
    }

    private GoodTotal SumRange(long from, long to)
    {
        var sum = default(GoodTotal);
        if (to <= from)
        {
            return sum;
        }

        if (to - from <= _buckets.Count)
        {
            for (var i = from; i < to; i++)
            {
                if (_buckets.TryGetValue(i, out var b))
                {
                    sum += b.Sum;
                }
            }
        }
        else
        {
            foreach (var (i, b) in _buckets)
            {
                if (i >= from && i < to)
                {
                    sum += b.Sum;
                }
            }
        }

        return sum;
    }

    private static long FloorDiv(long a, long b) => a >= 0 ? a / b : -((-a + b - 1) / b);

    private static long CeilDiv(long a, long b) => -FloorDiv(-a, b);

    private sealed class Bucket
    {
        public GoodTotal Sum { get; set; }

        public Dictionary<string, (GoodTotal Counts, long Revision)> Sources { get; } = new(StringComparer.Ordinal);
    }

    private sealed class Span(Func<long, long> startMs)
    {
        public Func<long, long> StartMs { get; } = startMs;

        public long Lo { get; set; }

        public long Hi { get; set; }

        public GoodTotal Sum { get; set; }
    }
}
