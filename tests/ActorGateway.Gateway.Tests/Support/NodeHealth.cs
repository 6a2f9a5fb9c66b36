namespace ActorGateway.Gateway.Tests.Support;

/// <summary>The open endpoints of a node's operations API (no token): readiness and metrics.</summary>
public static class NodeHealth
{
    static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(10) };

    /// <summary>/health/ready of the node at <paramref name="baseUrl"/>: its status code and text.</summary>
    public static async Task<(int Status, string Text)> ReadinessAsync(string baseUrl)
    {
        using var response = await Http.GetAsync(baseUrl + "/health/ready");
        return ((int)response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    /// <summary>/metrics of the node (the queue gauges come from the queue sweeper: empty while it does not answer).</summary>
    public static Task<string> MetricsAsync(string baseUrl) => Http.GetStringAsync(baseUrl + "/metrics");

    /// <summary>The queue sweeper reports an empty queue: every message it saw queued is done.</summary>
    public static bool QueueEmpty(string metrics) => metrics.Contains("\nactorgateway_queue_messages 0\n");

    /// <summary>The queue's gauges, for failure messages.</summary>
    public static string QueueGauges(string metrics) =>
        string.Join(" ", metrics.Split('\n').Where(l => l.StartsWith("actorgateway_queue")));
}
