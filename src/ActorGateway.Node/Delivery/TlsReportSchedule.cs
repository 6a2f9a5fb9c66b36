using ActorGateway.Mail.Blacklists;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace ActorGateway.Node.Delivery;

/// <summary>Sends the node's TLS reports at every time of the schedule (daily by default).</summary>
public sealed class TlsReportSchedule(TlsReportSender sender, CheckSchedule schedule, ILogger log) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            var wait = schedule.Next(DateTimeOffset.UtcNow) - DateTimeOffset.UtcNow;
            try { await Task.Delay(wait > TimeSpan.Zero ? wait : TimeSpan.Zero, stoppingToken); }
            catch (OperationCanceledException) { return; }
            try { await sender.SendAsync(stoppingToken); }
            catch (Exception e) when (e is not OperationCanceledException) { log.LogWarning("TLS reports not sent: {Error}", e.Message); }
        }
    }
}
