using System.Net.Http.Headers;
using ActorGateway.Mail.Events;
using ActorGateway.Mail.Tenants;

namespace ActorGateway.Node.Events;

/// <summary>
/// POSTs one event to a tenant's webhook, signed (see <see cref="WebhookSignature"/>). Any 2xx
/// is success; any other status, a connection failure or the timeout is a failure with a
/// description for the log.
/// </summary>
public sealed class WebhookPoster(HttpClient http, TimeSpan timeout)
{
    public sealed record Result(string EventId, bool Sent, string Detail);

    public async Task<Result> PostAsync(TenantWebhook webhook, DeliveryEvent e)
    {
        var body = e.ToJson();
        var timestamp = DateTimeOffset.UtcNow.ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture);
        using var request = new HttpRequestMessage(HttpMethod.Post, webhook.Url) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };
        request.Headers.Add(WebhookSignature.TimestampHeader, timestamp);
        request.Headers.Add(WebhookSignature.SignatureHeader, WebhookSignature.Sign(webhook.Secret, timestamp, body));
        request.Headers.Add(WebhookSignature.EventIdHeader, e.Id);
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cts.Token);
            var status = (int)response.StatusCode;
            return new Result(e.Id, status is >= 200 and < 300, $"HTTP {status}");
        }
        catch (OperationCanceledException) { return new Result(e.Id, false, $"no answer within {timeout.TotalSeconds:0.#} s"); }
        catch (HttpRequestException x) { return new Result(e.Id, false, x.Message); }
    }
}
