using System.Text.Json;
using System.Text.Json.Serialization;

namespace ActorGateway.Mail.Events;

/// <summary>
/// One event a tenant's webhook receives, as its JSON body (one event per POST). Fields that
/// are not known for the event (no queue id before the message was stored, no remote host for
/// a refusal) are null, so that every event has the same shape.
/// </summary>
/// <param name="Id">Unique and the same on every retry: the receiver's key for deduplication.</param>
/// <param name="Type">One of <see cref="DeliveryEventTypes"/>.</param>
/// <param name="Status">The enhanced status code (RFC 3463), e.g. 2.0.0, 4.3.0, 5.1.1.</param>
/// <param name="Reply">The remote server's reply (or, refused, the reply the client got).</param>
/// <param name="Client">The client's address (refused at ingress).</param>
public sealed record DeliveryEvent(
    string Id, string Type, DateTimeOffset Time, string Tenant, string? QueueId, string? MessageId, string? Sender,
    string? Recipient, string Status, string Reply, string? RemoteHost = null, int? Attempt = null, string? Client = null)
{
    static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    };

    /// <summary>The body of the POST: UTF-8 JSON with snake_case names (event id is "id").</summary>
    public byte[] ToJson() => JsonSerializer.SerializeToUtf8Bytes(this, Json);
}

/// <summary>The kinds of events, as named in the configuration and in the JSON.</summary>
public static class DeliveryEventTypes
{
    public const string Delivered = "delivered", Deferred = "deferred", Bounced = "bounced", Refused = "refused";
    public static readonly IReadOnlyList<string> All = [Delivered, Deferred, Bounced, Refused];
}
