using ActorGateway.Gateway.Tests.Support;
using ActorGateway.Testing;

namespace ActorGateway.Gateway.Tests.EndToEnd;

/// <summary>The cluster's storage: the same guarantees on PostgreSQL, and no 250 without it.</summary>
public sealed class PostgreSqlStorageTests
{
    [Fact]
    public async Task Mail_is_journaled_in_postgresql_and_a_database_outage_answers_451_never_250()
    {
        await using var pg = await PostgresServer.StartAsync();
        await using var bed = await GatewayTestbed.StartAsync(extraHocon: $$"""
            gateway.storage { provider = postgresql, connection-string = "{{pg.ConnectionString()}}" }
            gateway.smtp.store-timeout = 10s
            """);

        var ok = await Swaks.SendAsync(bed.SmtpPort, "alice@sender.example", "bob@rcpt.example");
        Assert.True(ok.ExitCode == 0, ok.ToString());
        Assert.Single(await bed.Receiver.WaitForAsync(1, TimeSpan.FromSeconds(30)));

        await pg.StopAsync();
        // Whether the journal write or the message's recovery read fails first, the answer comes
        // within the store timeout (10 s here): the client must wait longer than that.
        var refused = await Swaks.SendAsync(bed.SmtpPort, TimeSpan.FromSeconds(60), "alice@sender.example", "carol@rcpt.example");
        Assert.Contains("451 4.3.0 Message not stored: the queue storage is unavailable, try again later", refused.Replies());
        Assert.DoesNotContain(refused.Replies(), r => r.StartsWith("250 2.0.0 Ok: queued"));

        // The database returns: mail is accepted again, and what was accepted before is intact.
        await pg.RestartAsync();
        var again = await RetryUntilAcceptedAsync(bed);
        Assert.Single(await bed.Receiver.WaitForAsync(1, TimeSpan.FromSeconds(60), m => m.Text.Contains($" id {again}")));
        Assert.DoesNotContain(bed.Receiver.Messages(), m => m.Recipients.Contains("carol@rcpt.example"));
    }

    static async Task<string> RetryUntilAcceptedAsync(GatewayTestbed bed)
    {
        var until = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            var swaks = await Swaks.SendAsync(bed.SmtpPort, "alice@sender.example", "dave@rcpt.example");
            if (swaks.ExitCode == 0) return swaks.QueueId();
            if (DateTime.UtcNow > until) throw new TimeoutException($"not accepted after the database returned:\n{swaks}\n{bed.Gateway.Output}");
            await Task.Delay(1000);
        }
    }
}
