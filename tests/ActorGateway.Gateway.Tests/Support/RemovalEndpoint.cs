using System.Collections.Concurrent;
using System.Net;
using ActorGateway.Testing;

namespace ActorGateway.Gateway.Tests.Support;

/// <summary>A blacklist provider's removal form as a test HTTP endpoint: records each POST body.</summary>
public sealed class RemovalEndpoint : IDisposable
{
    readonly HttpListener _listener = new();
    public ConcurrentQueue<string> Requests { get; } = new();
    public string Url { get; }

    public RemovalEndpoint()
    {
        var port = FreePort.Next();
        Url = $"http://127.0.0.1:{port}/remove/";
        _listener.Prefixes.Add(Url);
        _listener.Start();
        _ = Task.Run(async () =>
        {
            while (_listener.IsListening)
            {
                try
                {
                    var context = await _listener.GetContextAsync();
                    using (var reader = new StreamReader(context.Request.InputStream)) Requests.Enqueue($"{context.Request.HttpMethod} {await reader.ReadToEndAsync()}");
                    context.Response.StatusCode = 202;
                    context.Response.Close();
                }
                catch (Exception) when (!_listener.IsListening) { return; }
                catch (HttpListenerException) { }
            }
        });
    }

    public void Dispose() => _listener.Close();
}
