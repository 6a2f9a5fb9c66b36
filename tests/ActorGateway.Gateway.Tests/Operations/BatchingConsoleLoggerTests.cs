using System.Text;
using System.Text.RegularExpressions;
using ActorGateway.Gateway.Tests.Support;
using ActorGateway.Node.Operations;
using Microsoft.Extensions.Logging;

namespace ActorGateway.Gateway.Tests.Operations;

/// <summary>The node's log writer: the simple console line format, written in batches, never unbounded.</summary>
public sealed class BatchingConsoleLoggerTests
{
    static string Text(MemoryStream output) => Encoding.UTF8.GetString(output.ToArray());

    [Fact]
    public void Writes_one_line_per_entry_in_order_in_the_simple_console_format_with_the_configured_levels_applied()
    {
        var output = new MemoryStream();
        // Registered as the node registers it, so that the container disposes (and flushes) it.
        using (var factory = LoggerFactory.Create(b => b.AddBatchingConsole(() => new BatchingConsoleLoggerProvider(output))
                   .SetMinimumLevel(LogLevel.Information).AddFilter("Quiet", LogLevel.Warning)))
        {
            var log = factory.CreateLogger("ActorGateway.Test");
            log.LogInformation(new EventId(3), "{Id}: accepted from {Sender}", "Q1", "<a@b.example>");
            log.LogDebug("not at this level");
            factory.CreateLogger("Quiet").LogInformation("filtered by category");
            log.LogError(new InvalidOperationException("boom"), "two\nlines");
            for (var i = 0; i < 1000; i++) log.LogWarning("n={N}", i);
        } // disposing the factory flushes the rest

        var lines = Text(output).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(1002, lines.Length);
        Assert.Matches(new Regex(@"^\d\d:\d\d:\d\d\.\d{3} info: ActorGateway\.Test\[3\] Q1: accepted from <a@b\.example>$"), lines[0]);
        Assert.Matches(new Regex(@"^\d\d:\d\d:\d\d\.\d{3} fail: ActorGateway\.Test\[0\] two lines System\.InvalidOperationException: boom$"), lines[1]);
        Assert.Equal(Enumerable.Range(0, 1000).Select(i => $"n={i}"), lines.Skip(2).Select(l => l[(l.LastIndexOf("] ", StringComparison.Ordinal) + 2)..]));
    }

    [Fact]
    public async Task Lines_are_written_by_the_timer_their_first_line_armed_also_after_idle_spells_and_from_many_threads()
    {
        var output = new LockedStream();
        using var provider = new BatchingConsoleLoggerProvider(output, flushInterval: TimeSpan.FromMilliseconds(20));
        var log = provider.CreateLogger("ActorGateway.Test");
        int Written() => output.Text().Count(c => c == '\n');
        for (var burst = 1; burst <= 3; burst++)
        {
            // Four threads at once, then nothing: no Flush, the timer alone writes them.
            Parallel.For(0, 4, t => { for (var i = 0; i < 250; i++) log.LogInformation("burst {B} thread {T} line {N}", burst, t, i); });
            await Eventually.WaitAsync(() => Written() == burst * 1000, TimeSpan.FromSeconds(10), () => $"{Written()} of {burst * 1000} lines written");
            await Task.Delay(100);
        }
        Assert.Equal(3000, output.Text().Split('\n', StringSplitOptions.RemoveEmptyEntries).Distinct().Count());
    }

    /// <summary>An output the test may read while the logger's timer writes to it.</summary>
    sealed class LockedStream : MemoryStream
    {
        public override void Write(byte[] buffer, int offset, int count) { lock (this) base.Write(buffer, offset, count); }
        public override void Write(ReadOnlySpan<byte> buffer) { lock (this) base.Write(buffer); }
        public string Text() { lock (this) return Encoding.UTF8.GetString(ToArray()); }
    }

    [Fact]
    public void A_batch_larger_than_the_kept_buffer_is_written_whole_in_utf8_and_later_batches_still_are()
    {
        var output = new MemoryStream();
        var provider = new BatchingConsoleLoggerProvider(output, flushInterval: Timeout.InfiniteTimeSpan);
        var log = provider.CreateLogger("ActorGateway.Test");
        var wide = new string('ü', 1000); // two bytes each in UTF-8: 3 MiB in the first batch
        for (var i = 0; i < 1500; i++) log.LogInformation("{N} {Wide}", i, wide);
        provider.Flush();
        log.LogInformation("after the burst: Grüße");
        provider.Dispose();

        var lines = Text(output).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(1501, lines.Length);
        Assert.All(lines.Take(1500), l => Assert.EndsWith(" " + wide, l));
        Assert.EndsWith("] after the burst: Grüße", lines[1500]);
    }

    [Fact]
    public void Lines_beyond_the_limit_are_dropped_and_the_drop_is_logged_when_writing_resumes()
    {
        // No timer: the output "does not keep up" until Flush is called.
        var output = new MemoryStream();
        using var provider = new BatchingConsoleLoggerProvider(output, maxQueued: 10, flushInterval: Timeout.InfiniteTimeSpan);
        var log = provider.CreateLogger("ActorGateway.Test");
        for (var i = 0; i < 25; i++) log.LogInformation("line {N}", i);
        Assert.Equal(0, output.Length); // queued, not written

        provider.Flush();
        var lines = Text(output).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(11, lines.Length);
        Assert.Equal(Enumerable.Range(0, 10).Select(i => $"line {i}"), lines.Take(10).Select(l => l[(l.LastIndexOf("] ", StringComparison.Ordinal) + 2)..]));
        Assert.EndsWith("warn: ActorGateway.Node[0] 15 log line(s) dropped: standard output did not keep up", lines[10]);

        // The limit counts what is queued, not what was ever logged.
        for (var i = 0; i < 10; i++) log.LogInformation("again {N}", i);
        provider.Flush();
        Assert.Equal(21, Text(output).Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
    }

    [Fact]
    public void The_json_format_writes_one_object_per_line_with_queue_id_and_the_texts_fields()
    {
        var output = new MemoryStream();
        using (var provider = new BatchingConsoleLoggerProvider(output, flushInterval: Timeout.InfiniteTimeSpan, format: LogFormat.Json))
        {
            var log = provider.CreateLogger("ActorGateway.Pipeline");
            log.LogInformation("06H0JCERGDMQWQ2B: tenant=local pool=good to=<bob@rcpt.example> status=delivered (smtp; 250 2.0.0 \"Ok\") relay=mx.rcpt.example[192.0.2.25] attempt=1");
            log.LogWarning(new EventId(7), "{Session} tenant={Tenant} refused: {Hops} Received fields", "s1", "acme", 51);
            log.LogError(new InvalidOperationException("boom"), "two\nlines");
            provider.Flush();
        }
        var lines = Text(output).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(3, lines.Length);
        var delivered = System.Text.Json.JsonDocument.Parse(lines[0]).RootElement;
        Assert.Matches(new Regex(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$"), delivered.GetProperty("time").GetString());
        Assert.Equal(("info", "ActorGateway.Pipeline", "06H0JCERGDMQWQ2B"),
            (delivered.GetProperty("level").GetString(), delivered.GetProperty("category").GetString(), delivered.GetProperty("queueId").GetString()));
        var fields = delivered.GetProperty("fields");
        Assert.Equal(("local", "good", "<bob@rcpt.example>", "delivered", "mx.rcpt.example[192.0.2.25]", "1"),
            (fields.GetProperty("tenant").GetString(), fields.GetProperty("pool").GetString(), fields.GetProperty("to").GetString(),
             fields.GetProperty("status").GetString(), fields.GetProperty("relay").GetString(), fields.GetProperty("attempt").GetString()));
        Assert.Contains("250 2.0.0 \"Ok\"", delivered.GetProperty("message").GetString());
        var refused = System.Text.Json.JsonDocument.Parse(lines[1]).RootElement;
        Assert.Equal(7, refused.GetProperty("eventId").GetInt32());
        Assert.False(refused.TryGetProperty("queueId", out _));
        Assert.Equal(("s1", "acme", "51"), (refused.GetProperty("fields").GetProperty("Session").GetString(),
            refused.GetProperty("fields").GetProperty("Tenant").GetString(), refused.GetProperty("fields").GetProperty("Hops").GetString()));
        var failed = System.Text.Json.JsonDocument.Parse(lines[2]).RootElement;
        Assert.Equal(("fail", "two\nlines"), (failed.GetProperty("level").GetString(), failed.GetProperty("message").GetString()));
        Assert.StartsWith("System.InvalidOperationException: boom", failed.GetProperty("exception").GetString());
    }
}
