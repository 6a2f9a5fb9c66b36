using System.Net.Http.Headers;
using System.Text.Json;

namespace ActorGateway.Cli;

/// <summary>The operations endpoint of one node, as the command line uses it.</summary>
public sealed class NodeClient(Uri node, string? token)
{
    readonly HttpClient _http = new() { BaseAddress = node, Timeout = TimeSpan.FromSeconds(30) };

    public Uri Node => node;

    public Task<JsonElement> GetAsync(string path) => SendAsync(HttpMethod.Get, path);

    public Task<JsonElement> PostAsync(string path) => SendAsync(HttpMethod.Post, path);

    async Task<JsonElement> SendAsync(HttpMethod method, string path)
    {
        using var request = new HttpRequestMessage(method, path);
        if (token is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        HttpResponseMessage response;
        try { response = await _http.SendAsync(request); }
        catch (HttpRequestException e) { throw new CliException($"cannot reach the node at {node}: {e.Message}", 2); }
        catch (TaskCanceledException) { throw new CliException($"the node at {node} did not answer within 30 s", 2); }
        using (response)
        {
            var body = await response.Content.ReadAsStringAsync();
            JsonElement json;
            try { json = JsonDocument.Parse(body).RootElement.Clone(); }
            catch (JsonException) { throw new CliException($"{node}{path.TrimStart('/')}: HTTP {(int)response.StatusCode}: {body.Trim()}", 1); }
            if (!response.IsSuccessStatusCode)
                throw new CliException(json.TryGetProperty("text", out var text) ? text.GetString()! : $"HTTP {(int)response.StatusCode}", 1);
            return json;
        }
    }

    /// <summary>A streamed text resource (cluster tail), line by line until the node closes it.</summary>
    public async IAsyncEnumerable<string> LinesAsync(string path)
    {
        Stream stream;
        try
        {
            _http.Timeout = Timeout.InfiniteTimeSpan;
            stream = await _http.GetStreamAsync(path);
        }
        catch (HttpRequestException e) { throw new CliException($"cannot reach the node at {node}: {e.Message}", 2); }
        using var reader = new StreamReader(stream);
        while (await reader.ReadLineAsync() is { } line) yield return line;
    }
}

/// <summary>An error for the user, with the exit code (1 = refused or failed, 2 = node not reachable).</summary>
public sealed class CliException(string message, int exitCode) : Exception(message)
{
    public int ExitCode { get; } = exitCode;
}
