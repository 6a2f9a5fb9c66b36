using System.Buffers;
using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace ActorGateway.Node.Operations;

/// <summary>gateway.logging.format: the simple console line, or one JSON object per line for log shippers.</summary>
public enum LogFormat { Text, Json }

public static class BatchingConsoleLoggerExtensions
{
    /// <summary>
    /// Logs to standard output through <see cref="BatchingConsoleLoggerProvider"/>, registered so that
    /// the container disposes it when the host stops (the final flush).
    /// </summary>
    public static ILoggingBuilder AddBatchingConsole(this ILoggingBuilder logging, Func<BatchingConsoleLoggerProvider>? create = null)
    {
        logging.Services.AddSingleton<ILoggerProvider>(_ => create?.Invoke() ?? new BatchingConsoleLoggerProvider());
        return logging;
    }
}

/// <summary>
/// The node's log on standard output, one line per entry in the simple console format
/// ("HH:mm:ss.fff info: Category[0] message"). A caller formats its line and queues it without
/// a lock and without waking anyone; a timer, armed by the first line after a write, writes
/// whatever has queued up 50 ms later in one write (an idle node has no timer to wake for). The framework's console logger wakes its writer thread for every line: with eight
/// lines per message that cost about 15 % of the gateway's CPU per message on two cores
/// (tests/bench/RESULTS.md). A line appears at most 50 ms late; what is queued is written when
/// the host stops or the process exits (not on kill -9, like any buffered log). If standard
/// output blocks for long, lines beyond a limit (100000) are dropped and counted, and the
/// count is logged when writing resumes, so that a stuck log never stalls mail.
/// </summary>
public sealed class BatchingConsoleLoggerProvider : ILoggerProvider
{
    readonly int _maxQueued;

    readonly ConcurrentQueue<string> _lines = new();
    readonly Stream _output;
    readonly Timer _timer;
    readonly TimeSpan _interval;
    int _armed; // 1 while the timer is set to write what has queued
    readonly object _writing = new();
    const int InitialBatch = 64 * 1024, MaxKeptBatch = 1024 * 1024;
    ArrayBufferWriter<byte> _batch = new(InitialBatch); // under _writing
    int _queued;
    long _dropped;

    readonly LogFormat _format;

    public BatchingConsoleLoggerProvider(LogFormat format = LogFormat.Text) : this(Console.OpenStandardOutput(), format: format) { }

    /// <param name="maxQueued">Lines kept while the output does not keep up; more are dropped and counted.</param>
    /// <param name="flushInterval">How often queued lines are written (default 50 ms; infinite: only by <see cref="Flush"/>).</param>
    public BatchingConsoleLoggerProvider(Stream output, int maxQueued = 100_000, TimeSpan? flushInterval = null, LogFormat format = LogFormat.Text)
    {
        _output = output;
        _format = format;
        _maxQueued = maxQueued;
        _interval = flushInterval ?? TimeSpan.FromMilliseconds(50);
        _timer = new Timer(_ => { Volatile.Write(ref _armed, 0); Flush(); }, null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        AppDomain.CurrentDomain.ProcessExit += (_, _) => Flush();
    }

    public ILogger CreateLogger(string categoryName) => new Logger(categoryName, this);

    public void Dispose()
    {
        _timer.Dispose();
        Flush();
    }

    void Enqueue(string line)
    {
        if (Interlocked.Increment(ref _queued) > _maxQueued)
        {
            Interlocked.Decrement(ref _queued);
            Interlocked.Increment(ref _dropped);
            return;
        }
        _lines.Enqueue(line);
        // Lines queued while the timer's write drains are written by it or by the next one armed here.
        if (_interval != Timeout.InfiniteTimeSpan && Interlocked.Exchange(ref _armed, 1) == 0)
        {
            try { _timer.Change(_interval, Timeout.InfiniteTimeSpan); }
            catch (ObjectDisposedException) { /* stopping: the exit's flush writes it */ }
        }
    }

    /// <summary>Writes what has queued up; called by the timer, on stop and at exit.</summary>
    public void Flush()
    {
        if (_lines.IsEmpty) return;
        lock (_writing)
        {
            // Each line goes to UTF-8 straight into one buffer kept between writes, instead of a
            // batch string made from the lines and then bytes made from that.
            var batch = _batch;
            while (_lines.TryDequeue(out var line))
            {
                Interlocked.Decrement(ref _queued);
                Encoding.UTF8.GetBytes(line, batch);
            }
            var dropped = Interlocked.Exchange(ref _dropped, 0);
            if (dropped > 0)
                Encoding.UTF8.GetBytes(Format(DateTime.Now, LogLevel.Warning, "ActorGateway.Node", 0, $"{dropped} log line(s) dropped: standard output did not keep up", null, null), batch);
            if (batch.WrittenCount == 0) return;
            try
            {
                _output.Write(batch.WrittenSpan);
                _output.Flush();
            }
            catch (IOException) { /* standard output is gone (closed pipe): nothing left to tell */ }
            catch (ObjectDisposedException) { }
            finally
            {
                // A burst's large buffer is not kept for the quiet hours after it.
                if (batch.Capacity > MaxKeptBatch) _batch = new ArrayBufferWriter<byte>(InitialBatch);
                else batch.ResetWrittenCount();
            }
        }
    }

    static string LevelName(LogLevel level) => level switch
    {
        LogLevel.Trace => "trce", LogLevel.Debug => "dbug", LogLevel.Information => "info",
        LogLevel.Warning => "warn", LogLevel.Error => "fail", _ => "crit",
    };

    string Format(DateTime at, LogLevel level, string category, int eventId, string message, Exception? exception, object? state) =>
        _format == LogFormat.Json ? FormatJson(at, level, category, eventId, message, exception, state) : FormatText(at, level, category, eventId, message, exception);

    // One entry, one line: line breaks in the message or an exception become spaces, as the
    // single-line console format writes them.
    static string FormatText(DateTime at, LogLevel level, string category, int eventId, string message, Exception? exception) =>
        exception is null
            ? $"{at:HH:mm:ss.fff} {LevelName(level)}: {category}[{eventId}] {message.ReplaceLineEndings(" ")}\n"
            : $"{at:HH:mm:ss.fff} {LevelName(level)}: {category}[{eventId}] {message.ReplaceLineEndings(" ")} {exception.ToString().ReplaceLineEndings(" ")}\n";

    // "06H0JCERGDMQWQ2B: ..." (an NDR: "...-B1: ...") and the key=value pairs of the text line, e.g. tenant=local to=<a@b>.
    static readonly Regex QueueIdPrefix = new(@"^(?<id>[0-9A-Z]{16}(-B\d+)?): ", RegexOptions.Compiled);
    static readonly Regex Pair = new(@"(?<=^|\s|\()(?<key>[a-z][a-z-]*)=(?<value><[^>]*>|\S+)", RegexOptions.Compiled);

    /// <summary>
    /// The same entry as one JSON object: time (UTC), level, category, eventId, message (the text
    /// line's message), queueId when the message is about one, the text's key=value pairs and the
    /// template's named values as fields, exception.
    /// </summary>
    static string FormatJson(DateTime at, LogLevel level, string category, int eventId, string message, Exception? exception, object? state)
    {
        using var buffer = new MemoryStream(256 + message.Length);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("time", at.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'"));
            json.WriteString("level", LevelName(level));
            json.WriteString("category", category);
            json.WriteNumber("eventId", eventId);
            json.WriteString("message", message);
            if (QueueIdPrefix.Match(message) is { Success: true } id) json.WriteString("queueId", id.Groups["id"].Value);
            var fields = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (Match m in Pair.Matches(message)) fields.TryAdd(m.Groups["key"].Value, m.Groups["value"].Value);
            if (state is IReadOnlyList<KeyValuePair<string, object?>> values)
                foreach (var (key, value) in values)
                    if (key != "{OriginalFormat}" && value is not null) fields[key] = Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture) ?? "";
            if (fields.Count > 0)
            {
                json.WriteStartObject("fields");
                foreach (var (key, value) in fields) json.WriteString(key, value);
                json.WriteEndObject();
            }
            if (exception is not null) json.WriteString("exception", exception.ToString());
            json.WriteEndObject();
        }
        buffer.WriteByte((byte)'\n');
        return Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }

    sealed class Logger(string category, BatchingConsoleLoggerProvider provider) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        // The levels configured under Logging:LogLevel are applied by the logger factory before this.
        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!IsEnabled(logLevel)) return;
            provider.Enqueue(provider.Format(DateTime.Now, logLevel, category, eventId.Id, formatter(state, exception), exception, state));
        }
    }
}
