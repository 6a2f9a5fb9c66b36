using System.Net.Http.Headers;
using System.Text.Json;

namespace ActorGateway.Mail.Scanning;

/// <summary>rspamd's HTTP protocol: POST /checkv2 with the envelope in headers; the JSON answer has the score and symbols.</summary>
public sealed class RspamdScorer(HttpClient http, Uri baseUri) : ISpamScorer
{
    public string Name => "rspamd";

    public async Task<SpamVerdict> ScoreAsync(ScannedMessage message, SpamContext context, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(baseUri, "/checkv2"));
        request.Content = new ByteArrayContent(message.Bytes);
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("message/rfc822");
        request.Headers.Add("IP", context.ClientAddress);
        if (context.Helo is { } helo) request.Headers.Add("Helo", helo);
        request.Headers.Add("From", context.Sender);
        foreach (var r in context.Recipients) request.Headers.Add("Rcpt", r);
        if (context.User is { } user) request.Headers.Add("User", user);
        try
        {
            using var response = await http.SendAsync(request, ct);
            if (!response.IsSuccessStatusCode) return SpamVerdict.Failed($"rspamd answered HTTP {(int)response.StatusCode}");
            using var doc = JsonDocument.Parse(await response.Content.ReadAsStreamAsync(ct));
            var root = doc.RootElement;
            var score = root.GetProperty("score").GetDouble();
            var symbols = root.TryGetProperty("symbols", out var s) && s.ValueKind == JsonValueKind.Object
                ? s.EnumerateObject().Select(p => p.Name).ToArray() : [];
            return new SpamVerdict(true, score, symbols);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or JsonException or KeyNotFoundException)
        {
            return SpamVerdict.Failed($"rspamd at {baseUri}: {e.Message}");
        }
    }
}
