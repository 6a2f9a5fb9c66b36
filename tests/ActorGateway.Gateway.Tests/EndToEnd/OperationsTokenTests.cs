using System.Net;
using System.Net.Http.Headers;
using ActorGateway.Gateway.Tests.Support;
using ActorGateway.Testing;

namespace ActorGateway.Gateway.Tests.EndToEnd;

/// <summary>The real node's operations endpoint: reads need the read or operations token, changes the operations token; health and metrics are open.</summary>
public sealed class OperationsTokenTests
{
    /// <summary>Every read of the /api palettes (what would leak tenants, users, senders, recipients or cluster state).</summary>
    static readonly string[] Reads = [
        "/api/cluster/members", "/api/cluster/leader", "/api/cluster/singletons", "/api/cluster/tail", "/api/sharding/region-stats",
        "/api/queue", "/api/queue/NOSUCHMESSAGE", "/api/log?sender=a@sender.example", "/api/delivery/destinations",
        "/api/tenants", "/api/tenants/authed", "/api/blacklist",
    ];

    static async Task<(HttpStatusCode Status, string Body, HttpResponseMessage Response)> SendAsync(HttpMethod method, string url, string? token)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(15) };
        var request = new HttpRequestMessage(method, url);
        if (token is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        // Headers only: /api/cluster/tail streams until the client goes away.
        var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        var body = response.IsSuccessStatusCode && url.EndsWith("/tail") ? "" : await response.Content.ReadAsStringAsync();
        return (response.StatusCode, body, response);
    }

    [Fact]
    public async Task Reads_need_the_read_or_operations_token_and_only_the_operations_token_changes()
    {
        await using var bed = await GatewayTestbed.StartAsync();
        var node = $"http://127.0.0.1:{bed.OperationsPort}";

        foreach (var path in Reads)
        {
            var none = await SendAsync(HttpMethod.Get, node + path, null);
            Assert.True(none.Status == HttpStatusCode.Unauthorized, $"{path} without a token: {none.Status} {none.Body}");
            Assert.Contains("a valid read or operations token is required", none.Body);
            Assert.Equal("Bearer", none.Response.Headers.WwwAuthenticate.ToString());
            Assert.Equal(HttpStatusCode.Unauthorized, (await SendAsync(HttpMethod.Get, node + path, "wrong-token")).Status);
            foreach (var token in new[] { GatewayTestbed.ReadToken, GatewayTestbed.OperationsToken })
            {
                var read = await SendAsync(HttpMethod.Get, node + path, token);
                Assert.True(read.Status is HttpStatusCode.OK or HttpStatusCode.NotFound, $"{path} with {token}: {read.Status} {read.Body}");
            }
        }
        Assert.Contains("\"users\":[\"app\"]", (await SendAsync(HttpMethod.Get, node + "/api/tenants/authed", GatewayTestbed.ReadToken)).Body);

        // A change: the read token may not, a missing or wrong token may not, the operations token may.
        var change = node + "/api/tenants/local/limit?reset=true";
        var byReader = await SendAsync(HttpMethod.Post, change, GatewayTestbed.ReadToken);
        Assert.Equal(HttpStatusCode.Forbidden, byReader.Status);
        Assert.Contains("the read token may only read", byReader.Body);
        Assert.Equal(HttpStatusCode.Unauthorized, (await SendAsync(HttpMethod.Post, change, null)).Status);
        Assert.Equal(HttpStatusCode.Unauthorized, (await SendAsync(HttpMethod.Post, change, "wrong-token")).Status);
        var byOperator = await SendAsync(HttpMethod.Post, change, GatewayTestbed.OperationsToken);
        Assert.True(byOperator.Status == HttpStatusCode.OK, byOperator.Body);

        // Health and metrics carry no personal data: open to probes and scrapers.
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(HttpMethod.Get, node + "/health/ready", null)).Status);
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(HttpMethod.Get, node + "/health/live", null)).Status);
        Assert.Contains("actorgateway_cluster_members", (await SendAsync(HttpMethod.Get, node + "/metrics", null)).Body);

        // actorgw sends its token with reads too, and says why it was refused.
        var listed = await Actorgw.RunAsync(bed.Reading("tenant", "list"));
        Assert.True(listed.ExitCode == 0, listed.ToString());
        Assert.Contains("authed", listed.StandardOutput);
        var anonymous = await Actorgw.RunAsync("tenant", "list", "--node", node);
        Assert.Equal(1, anonymous.ExitCode);
        Assert.Contains("a valid read or operations token is required", anonymous.StandardError);
        var fromEnvironment = await ExternalProcess.RunAsync("dotnet", [Actorgw.Assembly, "tenant", "list", "--node", node], TimeSpan.FromSeconds(60),
            env: new Dictionary<string, string> { ["ACTORGW_TOKEN"] = GatewayTestbed.ReadToken });
        Assert.True(fromEnvironment.ExitCode == 0, fromEnvironment.ToString());
        var readerChanges = await Actorgw.RunAsync(bed.Reading("tenant", "limit", "local", "--reset"));
        Assert.Equal(1, readerChanges.ExitCode);
        Assert.Contains("the read token may only read", readerChanges.StandardError);
    }

    [Fact]
    public async Task Without_a_token_configured_reads_and_changes_are_refused_for_everyone()
    {
        await using var bed = await GatewayTestbed.StartAsync(extraHocon: """
            gateway.operations { token-file = "", token-env = "", read-token-file = "", read-token-env = "" }
            """);
        var node = $"http://127.0.0.1:{bed.OperationsPort}";

        foreach (var token in new[] { null, GatewayTestbed.ReadToken, GatewayTestbed.OperationsToken })
        {
            var read = await SendAsync(HttpMethod.Get, node + "/api/tenants", token);
            Assert.Equal(HttpStatusCode.Forbidden, read.Status);
            Assert.Contains("reading is disabled: no read token or operations token is configured", read.Body);
            var change = await SendAsync(HttpMethod.Post, node + "/api/tenants/local/limit?reset=true", token);
            Assert.Equal(HttpStatusCode.Forbidden, change.Status);
            Assert.Contains("changes are disabled: no operations token is configured", change.Body);
        }
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(HttpMethod.Get, node + "/health/ready", null)).Status);
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(HttpMethod.Get, node + "/metrics", null)).Status);
        var cli = await Actorgw.RunAsync(bed.Reading("queue", "list"));
        Assert.Equal(1, cli.ExitCode);
        Assert.Contains("reading is disabled", cli.StandardError);
    }
}
