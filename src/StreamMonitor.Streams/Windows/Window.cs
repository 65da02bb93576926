using StreamMonitor.Contracts;

namespace StreamMonitor.Streams;

/// <summary>
/// One event-time window [<see cref="StartMs"/>, start + <see cref="SizeMs"/>). Kept as start and size rather than
/// start and end so that membership stays exact where the end lies beyond <see cref="long.MaxValue"/>; a window of a
/// <see cref="WindowSpec"/> that would start before <see cref="long.MinValue"/> starts at it (see
/// <see cref="WindowSpec.WindowsContaining"/>).
/// </summary>
/// <param name="StartMs">Window start (inclusive).</param>
/// <param name="SizeMs">Window length in milliseconds (positive).</param>
public readonly record struct Window(long StartMs, long SizeMs)
{
    /// <summary>Window end (exclusive); <see cref="long.MaxValue"/> when it lies beyond.</summary>
    public long EndMs => WindowTime.End(StartMs, SizeMs);

    /// <summary>Whether <paramref name="timeMs"/> lies in the window: start &lt;= t &lt; end, exactly.</summary>
    public bool Contains(long timeMs) => StartMs <= timeMs && timeMs < (Int128)StartMs + SizeMs;
}

/// <summary>
/// The windows of a <see cref="WindowSpec"/> containing one event time, ascending by start: what
/// <see cref="WindowSpec.WindowsContaining"/> returns. A struct with a struct enumerator, so that a foreach over it
/// (once per record on the hot path) allocates nothing.
/// </summary>
public readonly struct ContainingWindows
{
    // Positioned before the first window; GetEnumerator hands out copies, so each foreach starts afresh.
    private readonly Enumerator _start;

    internal ContainingWindows(Int128 first, Int128 last, long advanceMs, long sizeMs) => _start = new Enumerator(first, last, advanceMs, sizeMs);

    /// <summary>An enumerator over the windows.</summary>
    public Enumerator GetEnumerator() => _start;

    /// <summary>Enumerates <see cref="ContainingWindows"/>.</summary>
    public struct Enumerator
    {
        private readonly Int128 _last;
        private readonly long _advanceMs;
        private readonly long _sizeMs;
        private Int128 _next;
        private bool _started;

        internal Enumerator(Int128 first, Int128 last, long advanceMs, long sizeMs)
        {
            _next = first;
            _last = last;
            _advanceMs = advanceMs;
            _sizeMs = sizeMs;
        }

        /// <summary>The current window.</summary>
        public Window Current { get; private set; }

        /// <summary>Moves to the next window; false after the last.</summary>
        public bool MoveNext()
        {
            // 128-bit: near long.MaxValue the next start would wrap to a negative one and the loop would never end.
            while (_next <= _last)
            {
                var start = Saturating.Clamp(_next);
                _next += _advanceMs;

                // Starts before long.MinValue all saturate to it: that window is returned once.
                if (!_started || start != Current.StartMs)
                {
                    _started = true;
                    Current = new Window(start, _sizeMs);
                    return true;
                }
            }

            return false;
        }
    }
}
