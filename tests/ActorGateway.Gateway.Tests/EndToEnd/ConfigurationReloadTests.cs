using ActorGateway.Gateway.Tests.Support;

namespace ActorGateway.Gateway.Tests.EndToEnd;

/// <summary>SIGHUP reloads the tenants, their rate limits included, without a restart; a broken file changes nothing.</summary>
public sealed class ConfigurationReloadTests
{
    [Fact]
    public async Task A_tenant_rate_limit_is_switched_on_and_off_at_run_time_by_sighup()
    {
        await using var bed = await GatewayTestbed.StartAsync();
        Assert.Equal(0, (await Swaks.SendAsync(bed.SmtpPort, "alice@sender.example", "before@rcpt.example")).ExitCode);

        await bed.AppendConfigAsync("gateway.tenants.local.rate-limit { enabled = on, per-minute = 2 }");
        await bed.Gateway.ReloadAsync();
        await bed.Gateway.WaitForLogAsync(@"configuration reloaded: 2 tenant\(s\): local \(limit 2/min\), authed");
        var replies = new List<string>();
        for (var i = 0; i < 3; i++)
            replies.Add((await Swaks.SendAsync(bed.SmtpPort, "alice@sender.example", $"limited{i}@rcpt.example")).Replies().Last(r => !r.StartsWith("221")));
        Assert.Equal(2, replies.Count(r => r.StartsWith("250 2.0.0 Ok: queued")));
        Assert.Equal("451 4.7.1 Ratelimit reached", replies[2]);

        // A broken file is refused whole: the running configuration (limit on) stays.
        await bed.AppendConfigAsync("gateway.tenants.local.networks = [\"not-a-network\"]");
        await bed.Gateway.ReloadAsync();
        await bed.Gateway.WaitForLogAsync("configuration reload failed, the running configuration stays: gateway.tenants.local.networks: 'not-a-network' is not a network");
        Assert.Contains("451 4.7.1 Ratelimit reached", (await Swaks.SendAsync(bed.SmtpPort, "alice@sender.example", "still@rcpt.example")).Replies());

        await bed.AppendConfigAsync("gateway.tenants.local { networks = [\"127.0.0.1/32\"], rate-limit.enabled = off }");
        await bed.Gateway.ReloadAsync();
        await bed.Gateway.WaitForLogAsync(@"configuration reloaded: 2 tenant\(s\): local, authed");
        var after = await Swaks.SendAsync(bed.SmtpPort, "alice@sender.example", "after@rcpt.example");
        Assert.True(after.ExitCode == 0, after.ToString());
    }
}
