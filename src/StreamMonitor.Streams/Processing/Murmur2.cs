namespace StreamMonitor.Streams;

/// <summary>
/// Java Kafka's default partitioner hash (murmur2, seed 0x9747b28c, positive modulo), identical to librdkafka's
/// murmur2 partitioners; used where a record's partition is chosen explicitly (partials, checkpoints) so it matches
/// the partition a keyed produce would pick.
/// </summary>
public static class Murmur2
{
    /// <summary>Partition of a key among <paramref name="partitions"/>.</summary>
    public static int Partition(ReadOnlySpan<byte> key, int partitions)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(partitions);
        return (Hash(key) & 0x7fffffff) % partitions;
    }

    /// <summary>The 32-bit murmur2 hash.</summary>
    public static int Hash(ReadOnlySpan<byte> data)
    {
        const uint m = 0x5bd1e995;
        const int r = 24;
        var length = data.Length;
        var h = 0x9747b28c ^ (uint)length;
        var blocks = length / 4;
        for (var i = 0; i < blocks; i++)
        {
            var k = (uint)(data[i * 4] | (data[(i * 4) + 1] << 8) | (data[(i * 4) + 2] << 16) | (data[(i * 4) + 3] << 24));
            k *= m;
            k ^= k >> r;
            k *= m;
            h *= m;
            h ^= k;
        }

        var tail = blocks * 4;
        switch (length % 4)
        {
            case 3:
                h ^= (uint)data[tail + 2] << 16;
                goto case 2;
            case 2:
                h ^= (uint)data[tail + 1] << 8;
                goto case 1;
            case 1:
                h ^= data[tail];
                h *= m;
                break;
        }

        h ^= h >> 13;
        h *= m;
        h ^= h >> 15;
        return (int)h;
    }
}
