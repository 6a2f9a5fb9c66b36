using System.Net.Http.Json;

namespace ActorGateway.Node.Monitor;

/// <summary>What the provider of a zone is asked to remove, posted as JSON to its removal URL.</summary>
public sealed record RemovalRequest(string Address, string Zone, string? ReturnCode, string? Reason, string Reporter, DateTimeOffset ListedAt);

/// <summary>Files removal requests with a provider's HTTP endpoint (the e-mail variant is a notification mail).</summary>
public sealed class RemovalRequester(HttpClient http)
{
    public async Task PostAsync(string url, RemovalRequest request)
    {
        using var response = await http.PostAsJsonAsync(url, request);
        response.EnsureSuccessStatusCode();
    }
}
