using ActorGateway.Node.Pipeline;
using ActorGateway.Node.Queue;
using ActorGateway.Node.Routing;
using Akka.Actor;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace ActorGateway.Node.Operations;

/// <summary>
/// The operator's status page (GET /status) and the reads it needs beyond the other palettes:
/// the pools as this node routes them and the queue at a glance. The page is static HTML with
/// no data in it, so it is served to anyone; its script reads the JSON endpoints with the token
/// the operator gives it (Authorization: Bearer), like actorgw does.
/// </summary>
public static class StatusApi
{
    static readonly TimeSpan AskTimeout = TimeSpan.FromSeconds(10);
    // Details are read per message; past this many the counts cover a part of the queue (the page says so).
    const int SummaryExamines = 500;

    static readonly Lazy<byte[]> Page = new(() =>
    {
        using var resource = typeof(StatusApi).Assembly.GetManifestResourceStream("ActorGateway.Node.Operations.StatusPage.html")
                             ?? throw new InvalidOperationException("the status page is not embedded in the node");
        using var copy = new MemoryStream();
        resource.CopyTo(copy);
        return copy.ToArray();
    });

    /// <param name="open">Where the page goes: needs no token.</param>
    /// <param name="reads">Where the JSON reads go: guarded like the other reads.</param>
    public static void Map(IEndpointRouteBuilder open, IEndpointRouteBuilder reads, OperationsContext ops)
    {
        open.MapGet("/status", (HttpResponse response) =>
        {
            // The page loads nothing from elsewhere and is never framed; its only requests go back to this endpoint.
            response.Headers.ContentSecurityPolicy = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; " +
                                                     "connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
            response.Headers.CacheControl = "no-store";
            response.Headers.XContentTypeOptions = "nosniff";
            response.Headers["Referrer-Policy"] = "no-referrer";
            return Results.Bytes(Page.Value, "text/html; charset=utf-8");
        });

        reads.MapGet("/api/pools", async () =>
        {
            var answers = await Task.WhenAll(new[] { Pools.Good, Pools.Bad }.Select(pool =>
                ops.System.ActorSelection("/user/" + PoolRouter.Name(pool)).Ask<PoolMembers>(new GetPoolMembers(), AskTimeout)));
            return Results.Json(answers);
        });

        reads.MapGet("/api/queue/summary", async () =>
        {
            var pending = await ops.Sweeper().Ask<PendingMessages>(new GetPendingMessages(SummaryExamines), AskTimeout);
            var details = await Task.WhenAll(pending.Pending.Keys.Order(StringComparer.Ordinal).Take(SummaryExamines)
                .Select(id => ops.Messages().Ask<MessageDetails>(new GetMessageDetails(id), AskTimeout)));
            return Results.Json(QueueSummary.Of(pending, details));
        });
    }
}
