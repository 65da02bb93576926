using System.Buffers.Binary;
using System.Text;
using Avro;
using StreamMonitor.Contracts.Validation;

namespace StreamMonitor.Contracts;

/// <summary>
/// Avro binary decoding over a byte array that never trusts a declared size: a string, bytes or fixed length, or an
/// array/map block count, larger than the bytes left is rejected before anything is allocated. (Avro's BinaryDecoder
/// allocates whatever a corrupt length says, so ten hostile bytes could make a consumer allocate gigabytes.) Block
/// counts are bounded by the remaining bytes because every item type of StreamMonitor's schemas takes at least one byte.
/// Errors are <see cref="AvroException"/> or <see cref="EndOfStreamException"/>, mapped to CorruptBody by the codec.
/// </summary>
internal sealed class BoundedBinaryDecoder : Avro.IO.Decoder
{
    private readonly byte[] _data;
    private readonly int _end;
    private int _position;

    public BoundedBinaryDecoder(byte[] data, int offset, int count)
    {
        _data = data;
        _position = offset;
        _end = offset + count;
    }

    /// <summary>Bytes not read yet.</summary>
    public int Remaining => _end - _position;

    public void ReadNull()
    {
    }

    public bool ReadBoolean() => Take(1)[0] switch
    {
        0 => false,
        1 => true,
        var b => throw new AvroException($"Boolean byte {b} is neither 0 nor 1."),
    };

    public int ReadInt()
    {
        var value = ReadLong();
        return value is < int.MinValue or > int.MaxValue ? throw new AvroException($"Int value {value} out of range.") : (int)value;
    }

    public long ReadLong()
    {
        ulong raw = 0;
        for (var shift = 0; shift < 70; shift += 7)
        {
            var b = Take(1)[0];
            if (shift == 63 && b > 1)
            {
                throw new AvroException("Varint longer than 64 bits.");
            }

            raw |= (ulong)(b & 0x7F) << shift;
            if ((b & 0x80) == 0)
            {
                return (long)(raw >> 1) ^ -(long)(raw & 1);
            }
        }

        throw new AvroException("Varint longer than 10 bytes.");
    }

    public float ReadFloat() => BinaryPrimitives.ReadSingleLittleEndian(Take(4));

    public double ReadDouble() => BinaryPrimitives.ReadDoubleLittleEndian(Take(8));

    public byte[] ReadBytes() => Take(Length()).ToArray();

    public string ReadString() => StrictUtf8.Encoding.GetString(Take(Length()));

    public int ReadEnum() => ReadInt();

    public long ReadArrayStart() => BlockCount();

    public long ReadArrayNext() => BlockCount();

    public long ReadMapStart() => BlockCount();

    public long ReadMapNext() => BlockCount();

    public int ReadUnionIndex() => ReadInt();

    public void ReadFixed(byte[] buffer)
    {
        ArgumentNullException.ThrowIfNull(buffer);
        ReadFixed(buffer, 0, buffer.Length);
    }

    public void ReadFixed(byte[] buffer, int start, int length) => Take(length).CopyTo(buffer.AsSpan(start, length));

    public void SkipNull()
    {
    }

    public void SkipBoolean() => ReadBoolean();

    public void SkipInt() => ReadInt();

    public void SkipLong() => ReadLong();

    public void SkipFloat() => Take(4);

    public void SkipDouble() => Take(8);

    public void SkipBytes() => Take(Length());

    public void SkipString() => Take(Length());

    public void SkipEnum() => ReadInt();

    public void SkipUnionIndex() => ReadInt();

    public void SkipFixed(int len) => Take(len);

    private int Length()
    {
        var length = ReadLong();
        return length < 0 || length > Remaining
            ? throw new AvroException($"Declared length {length} with {Remaining} bytes left.")
            : (int)length;
    }

    private long BlockCount()
    {
        var count = ReadLong();
        if (count < 0)
        {
            // A negative count is followed by the block's size in bytes (Avro specification); the size is not needed.
            count = count == long.MinValue ? throw new AvroException("Invalid block count.") : -count;
            ReadLong();
        }

        return count > Remaining ? throw new AvroException($"Block of {count} items with {Remaining} bytes left.") : count;
    }

    private ReadOnlySpan<byte> Take(int count)
    {
        if (count < 0 || count > Remaining)
        {
            throw new EndOfStreamException($"Needed {count} bytes, {Remaining} left.");
        }

        var span = _data.AsSpan(_position, count);
        _position += count;
        return span;
    }
}
