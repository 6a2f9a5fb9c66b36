using ActorGateway.Testing;

namespace ActorGateway.Gateway.Tests.Support;

/// <summary>swaks, the SMTP client the tests drive the gateway with, and its transcript.</summary>
public static class Swaks
{
    public static Task<ExternalProcess> SendAsync(int port, string from, string to, params string[] extra) =>
        SendAsync(port, TimeSpan.FromSeconds(30), from, to, extra);

    public static Task<ExternalProcess> SendAsync(int port, TimeSpan timeout, string from, string to, params string[] extra) =>
        SendToAsync("127.0.0.1", port, timeout, from, to, extra);

    /// <summary>To a server on another loopback address (a node of the test cluster).</summary>
    public static async Task<ExternalProcess> SendToAsync(string host, int port, TimeSpan timeout, string from, string to, params string[] extra)
    {
        var args = new List<string> { "--server", $"{host}:{port}", "--from", from, "--to", to, "--timeout", ((int)timeout.TotalSeconds).ToString(), "--helo", "client.test" };
        args.AddRange(extra);
        return await ExternalProcess.RunAsync(ExternalProcess.Require("swaks", "swaks"), args, TimeSpan.FromSeconds(90));
    }

    /// <summary>The server's replies ("<-" and "<**" lines, "<~" and "<~*" under TLS) without the prefix.</summary>
    public static IEnumerable<string> Replies(this ExternalProcess swaks) =>
        swaks.StandardOutput.Split('\n').Where(l => l.StartsWith("<-") || l.StartsWith("<**") || l.StartsWith("<~")).Select(l => l[(l.IndexOf(' ') + 1)..].Trim());

    public static string QueueId(this ExternalProcess swaks) =>
        swaks.Replies().Select(r => System.Text.RegularExpressions.Regex.Match(r, "queued as (\\S+)")).First(m => m.Success).Groups[1].Value;
}
