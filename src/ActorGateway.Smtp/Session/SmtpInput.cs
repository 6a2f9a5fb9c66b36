using System.Buffers;
using System.IO.Pipelines;

namespace ActorGateway.Smtp.Session;

/// <summary>
/// The session's view of the client's bytes: one PipeReader whose unconsumed buffer is kept
/// between calls, so pipelined commands are taken from memory and the session flushes its
/// replies only when it must wait for the client (RFC 2920 batching).
/// </summary>
sealed class SmtpInput(PipeReader reader, Func<ValueTask> beforeWait)
{
    PipeReader _reader = reader;
    ReadOnlySequence<byte> _buffer;
    bool _holding;      // a ReadResult is held and must be advanced before the next read
    bool _completed;

    public ReadOnlySequence<byte> Buffer => _holding ? _buffer : default;
    public bool HasBufferedData => _holding && !_buffer.IsEmpty;
    public bool IsCompleted => _completed;

    public void Consume(SequencePosition upTo) => _buffer = _buffer.Slice(upTo);
    public void Consume(long count) => _buffer = _buffer.Slice(count);

    /// <summary>
    /// Waits for more bytes than are buffered now. Returns false when the client closed the
    /// connection, or when the read was cancelled (timeout or shutdown, see <paramref name="cancelled"/>).
    /// </summary>
    public async ValueTask<bool> FillAsync(Action<bool> cancelled)
    {
        if (_holding) { _reader.AdvanceTo(_buffer.Start, _buffer.End); _holding = false; }
        if (_completed) return false;
        await beforeWait();
        var result = await _reader.ReadAsync();
        _buffer = result.Buffer; _holding = true; _completed = result.IsCompleted;
        if (result.IsCanceled) { cancelled(true); return false; }
        return true;
    }

    /// <summary>Drops whatever is buffered (bytes pipelined after STARTTLS); returns how many.</summary>
    public long DiscardBuffered()
    {
        var n = HasBufferedData ? _buffer.Length : 0;
        if (_holding) { _reader.AdvanceTo(_buffer.End); _holding = false; }
        return n;
    }

    /// <summary>Continues on a new reader (after the TLS handshake).</summary>
    public void SwitchTo(PipeReader reader)
    {
        DiscardBuffered();
        _reader = reader; _completed = false;
    }

    public void CancelPendingRead() => _reader.CancelPendingRead();

    public void Release()
    {
        if (_holding) { _reader.AdvanceTo(_buffer.Start); _holding = false; }
    }
}
