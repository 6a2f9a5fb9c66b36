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
        using var response = await OpenAsync(method, path, HttpCompletionOption.ResponseContentRead);
        var body = await response.Content.ReadAsStringAsync();
        if (!response.IsSuccessStatusCode) throw Failure(path, response, body);
        try { return JsonDocument.Parse(body).RootElement.Clone(); }
        catch (JsonException) { throw Failure(path, response, body); }
    }

    /// <summary>The node's answer, with the token sent (reads need it as well as changes).</summary>
    async Task<HttpResponseMessage> OpenAsync(HttpMethod method, string path, HttpCompletionOption completion)
    {
        using var request = new HttpRequestMessage(method, path);
        if (token is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        try { return await _http.SendAsync(request, completion); }
        catch (HttpRequestException e) { throw new CliException($"cannot reach the node at {node}: {e.Message}", 2); }
        catch (TaskCanceledException) { throw new CliException($"the node at {node} did not answer within 30 s", 2); }
    }

    /// <summary>The node's own sentence when it gave one (refusals do), else the status and body.</summary>
    CliException Failure(string path, HttpResponseMessage response, string body)
    {
        try
        {
            if (JsonDocument.Parse(body).RootElement is { ValueKind: JsonValueKind.Object } json && json.TryGetProperty("text", out var text))
                return new(text.GetString()!, 1);
        }
        catch (JsonException) { }
        return new($"{node}{path.TrimStart('/')}: HTTP {(int)response.StatusCode}: {body.Trim()}", 1);
    }

    /// <summary>A streamed text resource (cluster tail), line by line until the node closes it.</summary>
    public async IAsyncEnumerable<string> LinesAsync(string path)
    {
        _http.Timeout = Timeout.InfiniteTimeSpan;
        using var response = await OpenAsync(HttpMethod.Get, path, HttpCompletionOption.ResponseHeadersRead);
        if (!response.IsSuccessStatusCode) throw Failure(path, response, await response.Content.ReadAsStringAsync());
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        while (await reader.ReadLineAsync() is { } line) yield return line;
    }
}

/// <summary>An error for the user, with the exit code (1 = refused or failed, 2 = node not reachable).</summary>
public sealed class CliException(string message, int exitCode) : Exception(message)
{
    public int ExitCode { get; } = exitCode;
}
