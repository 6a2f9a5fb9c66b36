using System.Text.Json;
using ActorGateway.Mail.Events;

namespace ActorGateway.Gateway.Tests.Events;

/// <summary>The body a receiver parses: snake_case names, every field present (null when unknown).</summary>
public sealed class DeliveryEventJsonTests
{
    [Fact]
    public void Every_field_is_in_the_json_with_its_documented_name()
    {
        var e = new DeliveryEvent("Q1.1.1", "delivered", new DateTimeOffset(2026, 1, 2, 3, 4, 5, TimeSpan.Zero), "acme", "Q1", "m@x", "a@x.example",
            "b@y.example", "2.0.0", "smtp; 250 2.0.0 Ok", "mx.y.example[192.0.2.1]", 1);
        using var doc = JsonDocument.Parse(e.ToJson());
        var names = doc.RootElement.EnumerateObject().Select(p => p.Name).ToArray();
        Assert.Equal(["id", "type", "time", "tenant", "queue_id", "message_id", "sender", "recipient", "status", "reply", "remote_host", "attempt", "client"], names);
        Assert.Equal("2026-01-02T03:04:05+00:00", doc.RootElement.GetProperty("time").GetString());
        Assert.Equal(JsonValueKind.Null, doc.RootElement.GetProperty("client").ValueKind);
    }
}
