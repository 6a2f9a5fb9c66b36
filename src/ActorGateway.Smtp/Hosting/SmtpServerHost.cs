using System.Net;
using ActorGateway.Smtp.Hooks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace ActorGateway.Smtp.Hosting;

/// <summary>
/// A stand-alone SMTP server on its own Kestrel host: for tests, benchmarks and tools.
/// The gateway node hosts <see cref="SmtpServer"/> in its own generic host instead.
/// </summary>
public sealed class SmtpServerHost : IAsyncDisposable
{
    readonly WebApplication _app;
    readonly IReadOnlyList<ListenOptions> _listeners;

    SmtpServerHost(WebApplication app, SmtpServer server, IReadOnlyList<ListenOptions> listeners)
    { _app = app; Server = server; _listeners = listeners; }

    public SmtpServer Server { get; }

    /// <summary>The bound endpoints, in the order of the configured SMTP endpoints.</summary>
    public IReadOnlyList<IPEndPoint> EndPoints => _listeners.Select(l => l.IPEndPoint!).ToArray();

    public static async Task<SmtpServerHost> StartAsync(SmtpServerOptions options, SmtpHooks hooks,
        Action<ILoggingBuilder>? logging = null, TimeSpan? shutdownTimeout = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        logging?.Invoke(builder.Logging);
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = shutdownTimeout ?? TimeSpan.FromSeconds(30));
        builder.WebHost.UseSockets(SocketEventLoop.Configure);
        IReadOnlyList<ListenOptions> listeners = [];
        SmtpServer? server = null;
        builder.WebHost.ConfigureKestrel((_, kestrel) =>
        {
            server = new SmtpServer(options, hooks, kestrel.ApplicationServices.GetRequiredService<ILoggerFactory>());
            listeners = kestrel.ListenSmtp(server);
        });
        var app = builder.Build();
        app.Lifetime.ApplicationStopping.Register(() => server?.BeginShutdown());
        await app.StartAsync();
        return new SmtpServerHost(app, server!, listeners);
    }

    public Task StopAsync() => _app.StopAsync();

    /// <summary>Completes when the host is told to stop (SIGTERM, Ctrl-C) and has stopped.</summary>
    public Task WaitForShutdownAsync() => _app.WaitForShutdownAsync();

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
