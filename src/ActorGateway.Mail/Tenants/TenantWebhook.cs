namespace ActorGateway.Mail.Tenants;

/// <summary>
/// Where a tenant wants its delivery events: the URL they are POSTed to, the secret they are
/// signed with, and which kinds (see <see cref="ActorGateway.Mail.Events.DeliveryEventTypes"/>).
/// </summary>
public sealed record TenantWebhook(Uri Url, string Secret, IReadOnlySet<string> Events)
{
    public bool Wants(string type) => Events.Contains(type);

    /// <summary>Without the secret, for logs and the operations API.</summary>
    public override string ToString() => $"{Url} ({string.Join(", ", Events)})";
}
