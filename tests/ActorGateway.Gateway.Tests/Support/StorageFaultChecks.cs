using ActorGateway.Testing;
using Xunit.Abstractions;

namespace ActorGateway.Gateway.Tests.Support;

/// <summary>
/// What a storage fault under load must look like to the clients, on one node or on the
/// cluster: refusals only with 451 4.3.0, every 250 delivered exactly once, the queue swept.
/// </summary>
public static class StorageFaultChecks
{
    public const string NotStoredReply = "451 4.3.0 Message not stored: the queue storage is unavailable, try again later";

    /// <summary>The clients' answers, counted by kind, for failure messages.</summary>
    public static string Answers(MailLoad load) =>
        "answers: " + string.Join(" | ", load.Results.GroupBy(s => s.Reply).Select(g => $"{g.Count()} x {g.Key}"));

    /// <summary>What the clients saw around the fault: when refusals began, and when mail was accepted again.</summary>
    public static void Summary(ITestOutputHelper output, MailLoad load, DateTime fault, DateTime repaired)
    {
        var results = load.Results;
        var firstRefusal = results.FirstOrDefault(s => s.At >= fault && s.Reply != "250");
        var firstAccepted = results.FirstOrDefault(s => s.At >= repaired && s.Reply == "250");
        output.WriteLine($"{results.Count(s => s.Reply == "250")} accepted, {results.Count(s => s.Reply != "250")} refused; " +
                         $"first refusal {(firstRefusal is null ? "-" : $"{(firstRefusal.At - fault).TotalSeconds:0.0} s")} after the fault, " +
                         $"first 250 {(firstAccepted is null ? "-" : $"{(firstAccepted.At - repaired).TotalSeconds:0.0} s")} after the repair; " +
                         $"250s between: {results.Count(s => s.At >= fault && s.At < repaired && s.Reply == "250")}");
        foreach (var g in load.Refused.GroupBy(s => s.Reply)) output.WriteLine($"{g.Count()} x {g.Key}");
    }

    /// <summary>Every refusal was the temporary "not stored": no 5xx, no dropped connection, no other 4xx.</summary>
    public static void AssertRefusedOnlyWith451(MailLoad load, Func<string> context)
    {
        var other = load.Refused.Where(s => s.Reply != NotStoredReply).ToArray();
        Assert.True(other.Length == 0, $"{other.Length} answer(s) other than 451 4.3.0: " +
                                       string.Join("; ", other.Take(5).Select(s => s.Reply)) + "\n" + context());
    }

    /// <summary>Every Message-ID that got a 250 arrives at the receiver, and none twice (given a moment for late copies).</summary>
    public static async Task AssertAcceptedDeliveredOnceAsync(TestMailReceiver receiver, MailLoad load, TimeSpan timeout, Func<string> context)
    {
        var accepted = load.Accepted;
        var missing = await ClusterMail.WaitForIdsAsync(receiver, accepted, timeout);
        Assert.True(missing.Count == 0, $"{missing.Count} of {accepted.Count} accepted message(s) lost: {string.Join(", ", missing.Take(10))}\n" + context());
        ClusterMail.AssertDeliveredOnce(receiver, accepted, context);
    }

    /// <summary>
    /// The queue sweeper (a persistent singleton, stopped when its own write failed) runs again
    /// and has seen every message done.
    /// </summary>
    public static Task AssertQueueSweptAsync(Func<Task<string>> metrics, Func<string> context) =>
        Eventually.WaitAsync(async () => NodeHealth.QueueEmpty(await metrics()), TimeSpan.FromSeconds(30),
            () => "the queue sweeper does not report an empty queue: " + NodeHealth.QueueGauges(metrics().GetAwaiter().GetResult()) + "\n" + context());
}
