using System.Buffers;

namespace ActorGateway.Smtp.Session;

/// <summary>
/// The bytes of one message as received (after dot-unstuffing, with CRLF for bare CR and LF), in pooled chunks so that a
/// large message never needs one large contiguous array. Owned by the session; a store that
/// keeps the bytes must copy them before its hook returns.
/// </summary>
public sealed class MessageBody : IDisposable
{
    const int ChunkSize = 64 * 1024;
    readonly List<byte[]> _chunks = [];
    int _lastUsed = ChunkSize;

    public long Length { get; private set; }

    internal void Append(ReadOnlySequence<byte> data)
    {
        foreach (var segment in data) Append(segment.Span);
    }

    internal void Append(ReadOnlySpan<byte> data)
    {
        while (!data.IsEmpty)
        {
            if (_lastUsed == ChunkSize) { _chunks.Add(ArrayPool<byte>.Shared.Rent(ChunkSize)); _lastUsed = 0; }
            var n = Math.Min(ChunkSize - _lastUsed, data.Length);
            data[..n].CopyTo(_chunks[^1].AsSpan(_lastUsed));
            _lastUsed += n; Length += n; data = data[n..];
        }
    }

    /// <summary>The chunks as read-only memory, in order.</summary>
    public IEnumerable<ReadOnlyMemory<byte>> Chunks()
    {
        for (var i = 0; i < _chunks.Count; i++)
            yield return _chunks[i].AsMemory(0, i == _chunks.Count - 1 ? _lastUsed : ChunkSize);
    }

    public byte[] ToArray()
    {
        var result = new byte[Length];
        var at = 0;
        foreach (var chunk in Chunks()) { chunk.Span.CopyTo(result.AsSpan(at)); at += chunk.Length; }
        return result;
    }

    internal void Clear()
    {
        foreach (var c in _chunks) ArrayPool<byte>.Shared.Return(c);
        _chunks.Clear(); _lastUsed = ChunkSize; Length = 0;
    }

    public void Dispose() => Clear();
}
